// The body of POST /v1/completions and /v1/chat/completions, checked field by field: a wrong type, a value
// out of range or an unknown field becomes an ApiError that names the field (OpenAI's "param").
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runtime/sample/sampling_params.h"
#include "runtime/server/api_error.h"

namespace tsc {

struct ApiRequest {
  bool chat = false;
  std::optional<std::string> model;
  // Completions: one entry per prompt, text (tokenized by the server) or token ids.
  struct Prompt {
    std::optional<std::string> text;
    std::vector<int32_t> ids;
  };
  std::vector<Prompt> prompts;
  // Chat: the conversation (text parts of a content array joined by newlines).
  struct Message {
    std::string role, content;
  };
  std::vector<Message> messages;
  bool add_generation_prompt = true;

  SamplingParams sampling;                // temperature .. seed; logprobs and top_logprobs too
  std::optional<int64_t> max_tokens;      // absent: 16 for completions, the rest of the context for chat
  int32_t n = 1;
  std::vector<std::string> stop;
  bool stream = false, include_usage = false, echo = false;
  bool ignore_eos = false, skip_special_tokens = true;
  std::optional<bool> return_token_ids;   // absent: only when the executable has no tokenizer
  int64_t budget = -1;                    // "tsc": {"top_k_pages": K} or {"dense": true}; -1 the build's
  int64_t select_every = -1;              // "tsc": {"select_every": N}; -1 the build's
};

struct ApiLimits {
  int32_t max_n = 64;          // choices per prompt (the scheduler's batch)
  int64_t top_k_pages = 64;    // the build's selection capacity
};

// Throws ApiError (400) naming the field at fault.
ApiRequest parse_api_request(const nlohmann::json& body, bool chat, const ApiLimits& limits);

}  // namespace tsc
