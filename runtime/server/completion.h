// One completions or chat completions call: tokenizes and submits it to the scheduler, then turns the
// scheduler's token events into OpenAI's response (one JSON body, or SSE chunks ending in [DONE]):
// detokenization, stop strings, echo, logprobs, usage.
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/sched/router.h"
#include "runtime/server/api_error.h"
#include "runtime/server/openai_request.h"
#include "runtime/tokenizer/tokenizer.h"

namespace tsc {

class ChatTemplate;

// What every call shares (read-only after start-up).
struct ServeContext {
  Router* router = nullptr;             // the engines (one, or one per GPU / CPU replica)
  const Tokenizer* tok = nullptr;       // null: the executable has no tokenizer (token ids only)
  const ChatTemplate* chat = nullptr;   // null: no chat template; chat_error says why
  std::string chat_error;
  std::string model_name;
  int64_t max_seq_len = 0, vocab = 0, top_k_pages = 0;
  int32_t max_n = 64;
  std::vector<int32_t> eos_ids;
  std::string bos_token, eos_token;
};

// What the request log says about a call.
struct CallRecord {
  std::string id;
  int64_t prompt_tokens = 0, completion_tokens = 0;
  int32_t choices = 0;
  bool stream = false;
  std::vector<std::string> finish;
  double ttft_s = -1, queue_s = -1;
  std::string error;
};

class Completion {
 public:
  // Checks the model name, tokenizes (chat: renders the template first), checks the context and queues
  // the prompts. Throws ApiError: 400 bad input, 404 unknown model, 503 queue full.
  Completion(const ServeContext& ctx, ApiRequest req);
  ~Completion();  // cancels what is still running (the client went away)
  Completion(const Completion&) = delete;
  Completion& operator=(const Completion&) = delete;

  bool stream() const { return req_.stream; }
  // Runs to the end. write(bytes) sends body bytes (SSE events when streaming, else the JSON body at the
  // end); alive() tells whether the client is still connected. False when the client went away (then
  // the request is cancelled and its pages freed).
  bool run(const std::function<bool(const std::string&)>& write, const std::function<bool()>& alive);
  const CallRecord& record() const { return rec_; }
  size_t engine() const { return engine_; }  // the router's index of the engine serving this call

 private:
  struct Choice;
  struct PromptInfo;
  void tokenize();
  void on_event(Event& e);
  void end_choice(Choice& c, const std::string& reason);
  nlohmann::json chunk(Choice& c, size_t index);  // stream: this choice's news since its last chunk
  nlohmann::json body() const;                   // non-stream response
  nlohmann::json completion_logprobs(const Choice& c, size_t from) const;
  nlohmann::json chat_logprobs(const Choice& c, size_t from) const;
  nlohmann::json usage() const;
  std::string token_text(int32_t id) const;
  ApiError generation_error() const;  // what a choice's engine error becomes (500)

  const ServeContext& ctx_;
  ApiRequest req_;
  std::vector<PromptInfo> prompts_;
  std::vector<Choice> choices_;
  std::shared_ptr<RequestStream> stream_;
  size_t engine_ = 0;
  std::string id_;
  int64_t created_ = 0;
  bool return_ids_ = false;
  int32_t open_ = 0;  // choices not finished
  std::string error_;  // an engine error ended a choice
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  CallRecord rec_;
};

// A fresh id: prefix + 24 hex digits ("cmpl-...", "chatcmpl-...").
std::string random_id(const char* prefix);

}  // namespace tsc
