// A generation request as the scheduler sees it (token ids in, token ids out) and the thread-safe
// stream through which its results flow from the scheduler thread to the HTTP handler thread.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "runtime/sample/sampling_params.h"

namespace tsc {

struct GenerationRequest {
  std::vector<int32_t> prompt;
  // Choice i draws with seed + i when a seed is given, so that n > 1 samples differ yet reproduce.
  SamplingParams sampling;
  int32_t n = 1;                  // choices: separate sequences that share the prompt's KV pages
  int64_t max_tokens = 16;        // 0 only with prompt_logprobs (score the prompt, generate nothing)
  int64_t budget = -1;            // decode pages kept per KV head and layer: -1 the build's, 0 dense
  int64_t select_every = -1;      // decode steps between page scorings: -1 the build's
  std::vector<int32_t> stop_ids;  // a sampled id from this list ends the choice (finish "stop")
  bool prompt_logprobs = false;   // report log P(prompt[j] | prompt[<j]) (echo with logprobs)
};

enum class FinishReason { kStop, kLength, kAbort, kError };
const char* finish_reason_name(FinishReason r);  // "stop", "length", "abort", "error"

struct TokenLogprob {
  int32_t token = -1;
  float logprob = 0.f;                               // NaN when not asked for
  std::vector<std::pair<int32_t, float>> top;        // most likely first, ties to the lower id
};

struct Event {
  enum class Kind { kToken, kFinish, kPromptLogprobs };
  Kind kind = Kind::kToken;
  int32_t choice = 0;
  TokenLogprob token;                  // kToken
  bool stop_token = false;             // kToken: one of stop_ids (counts as generated, shows no text)
  FinishReason finish = FinishReason::kStop;  // kFinish
  std::string error;                   // kFinish with kError: what went wrong
  std::vector<TokenLogprob> prompt;    // kPromptLogprobs: positions 1..len-1 of the prompt
};

// One request's results. The scheduler pushes; one handler thread pops and may cancel.
class RequestStream {
 public:
  using clock = std::chrono::steady_clock;
  explicit RequestStream(int32_t n);

  // Handler side. Moves pending events into out; waits up to timeout when there are none. Returns
  // false when nothing came.
  bool wait(std::vector<Event>& out, std::chrono::milliseconds timeout);
  // Ends every choice (client gone, shutdown): the scheduler frees its pages at its next iteration.
  void cancel();
  // Ends one choice (a stop string matched in its text).
  void cancel_choice(int32_t choice);
  int32_t n() const { return n_; }
  // Set once by the scheduler thread; read by the handler after the request finishes.
  clock::time_point arrival() const { return arrival_; }
  double queue_seconds() const { return queue_s_.load(); }

  // Scheduler side.
  void push(std::vector<Event>& events);  // moves and clears events
  bool cancelled(int32_t choice) const {
    return cancel_all_.load(std::memory_order_relaxed) || cancel_[static_cast<size_t>(choice)].load(std::memory_order_relaxed);
  }
  bool all_cancelled() const { return cancel_all_.load(std::memory_order_relaxed); }
  void set_queue_seconds(double s) { queue_s_.store(s); }

 private:
  const int32_t n_;
  const clock::time_point arrival_ = clock::now();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> q_;
  std::atomic<bool> cancel_all_{false};
  std::unique_ptr<std::atomic<bool>[]> cancel_;
  std::atomic<double> queue_s_{0.0};
};

}  // namespace tsc
