// The token sampler of the serving runtime (CPU): penalties, temperature, top-k, top-p, min-p, seeded draw.
#pragma once
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "runtime/sample/sampling_params.h"
#include "runtime/sample/token_counts.h"

namespace tsc {

struct SampleResult {
  int32_t token;
  // log P(token) under the model's distribution (log_softmax of the logits as given, before
  // penalties, temperature and filters: what the OpenAI API reports); NaN unless params.logprobs.
  float logprob;
  // The params.top_logprobs most likely tokens of that same distribution with their log-probabilities,
  // most likely first, ties to the lower id. A logit of -inf gives -inf.
  std::vector<std::pair<int32_t, float>> top_logprobs;
};

// Turns one position's logits into a token, as HF transformers' generate() with do_sample would:
//   1. repetition_penalty over prompt + generated ids  (RepetitionPenaltyLogitsProcessor)
//   2. presence/frequency penalties over generated ids (OpenAI; HF has none, applied here before 3)
//   3. temperature                                     (TemperatureLogitsWarper)
//   4. top_k, ties with the k-th value kept            (TopKLogitsWarper)
//   5. top_p over what top_k kept                      (TopPLogitsWarper; ties at the cut: lower id kept)
//   6. min_p relative to the most likely token         (MinPLogitsWarper)
//   7. one draw: u = philox_uniform(seed, n) for the n-th generated token, then the first token, in
//      increasing id order, whose cumulative weight exceeds u * total weight.
// A greedy request (temperature < kGreedyTemperature) takes the argmax after 1-2, ties to the lowest id.
// Token ids >= the vocabulary size are ignored by the penalties (as HF does).
//
// One Sampler per request: it holds the seed, the draw counter and the token counts; Samplers of
// different requests may run on different threads at once. Scratch buffers are per thread and
// reused, so sampling allocates nothing once warm (top_logprobs aside). Cost per token, vocabulary
// V: greedy one pass; top_k a few passes without exp; otherwise one exp per token. Log-probabilities
// cost one more exp pass.
class Sampler {
 public:
  // Validates params (tsc::Error on a bad field). Without params.seed, the seed comes from
  // std::random_device; seed() tells it, so that a run can be reproduced.
  Sampler(const SamplingParams& params, std::span<const int32_t> prompt_tokens);

  // logits: [vocab], one position. Samples a token and records it as generated.
  SampleResult sample(std::span<const float> logits);
  // Records a token the caller chose (a forced prefix, a replayed token after preemption) as
  // generated: it counts for the penalties and takes its draw number, as if sampled.
  void accept(int32_t token);

  // The distribution sample() would draw from now: probs[i] = P(token i), zero where filtered;
  // one-hot for greedy. logits and probs: [vocab]. Changes no state; for tests and debugging.
  void probabilities(std::span<const float> logits, std::span<float> probs) const;

  const SamplingParams& params() const { return params_; }
  uint64_t seed() const { return seed_; }
  uint64_t num_generated() const { return step_; }

 private:
  bool penalized() const;
  // Logits after penalties and temperature; the input itself when those change nothing.
  const float* process(std::span<const float> logits) const;
  struct Weights;
  Weights filter(std::span<const float> logits) const;

  SamplingParams params_;
  uint64_t seed_;
  uint64_t step_ = 0;  // tokens generated so far = the counter of the next draw
  TokenCounts counts_;
};

}  // namespace tsc
