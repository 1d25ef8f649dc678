// Per-request sampling parameters (OpenAI/HF vocabulary) and their validation.
#pragma once
#include <cstdint>
#include <optional>

namespace tsc {

// Temperatures below this sample greedily (as vLLM does): dividing by them would overflow the
// logits to inf, and the distribution is a one-hot up to ties anyway.
inline constexpr float kGreedyTemperature = 1e-5f;
// The most alternatives a request may ask for (OpenAI's top_logprobs limit).
inline constexpr int32_t kMaxTopLogprobs = 20;

struct SamplingParams {
  float temperature = 1.0f;         // < kGreedyTemperature (e.g. 0) => greedy: argmax, ties -> lowest id
  int32_t top_k = 0;                // 0 => off; keeps every token tied with the k-th largest (HF)
  float top_p = 1.0f;               // 1 => off
  float min_p = 0.0f;               // 0 => off
  float repetition_penalty = 1.0f;  // HF: logit > 0 ? logit / p : logit * p, over tokens of prompt + generated
  float presence_penalty = 0.0f;    // OpenAI: logit -= presence * (count > 0), over generated tokens only
  float frequency_penalty = 0.0f;   // OpenAI: logit -= frequency * count, over generated tokens only
  std::optional<uint64_t> seed = std::nullopt;  // same seed + same logits => same tokens, on every machine
  // Log-probabilities, as the OpenAI API defines them: of the model's distribution (log_softmax of the
  // logits as given, before penalties, temperature and filters), whatever the sampling parameters.
  bool logprobs = false;            // fill SampleResult::logprob
  int32_t top_logprobs = 0;         // and the N most likely tokens (0..kMaxTopLogprobs); needs logprobs

  bool greedy() const { return temperature < kGreedyTemperature; }
  // Throws tsc::Error naming the bad field, e.g. "top_p must be in (0, 1], got 1.5".
  void validate() const;
};

}  // namespace tsc
