// RequestStream: a mutex-protected event queue with a condition variable, plus cancellation flags.
#include "runtime/sched/request.h"

namespace tsc {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kAbort: return "abort";
    case FinishReason::kError: return "error";
  }
  return "error";
}

RequestStream::RequestStream(int32_t n) : n_(n), cancel_(new std::atomic<bool>[static_cast<size_t>(n)]) {
  for (int32_t i = 0; i < n; ++i) cancel_[static_cast<size_t>(i)].store(false);
}

bool RequestStream::wait(std::vector<Event>& out, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (q_.empty()) cv_.wait_for(lock, timeout, [&] { return !q_.empty(); });
  if (q_.empty()) return false;
  for (auto& e : q_) out.push_back(std::move(e));
  q_.clear();
  return true;
}

void RequestStream::cancel() { cancel_all_.store(true); }

void RequestStream::cancel_choice(int32_t choice) {
  if (choice >= 0 && choice < n_) cancel_[static_cast<size_t>(choice)].store(true);
}

void RequestStream::push(std::vector<Event>& events) {
  if (events.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& e : events) q_.push_back(std::move(e));
  }
  events.clear();
  cv_.notify_one();
}

}  // namespace tsc
