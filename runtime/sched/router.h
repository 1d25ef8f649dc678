// Router: one front door over N engines (one Scheduler + engine + KV pool each: one per GPU, or CPU replicas).
// Each request goes to one engine and stays there: first to the engine that last served the longest run of its
// leading full prompt pages (prefix-cache affinity, hashed page by page), unless that engine already holds
// clearly more requests than the least loaded one; else to the engine with the shortest queue (requests in
// flight), then the most free KV pages, ties taken in turn. Failed engines (EngineFailure) get nothing more.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "runtime/sched/scheduler.h"

namespace tsc {

struct RouterOptions {
  int64_t page_size = 16;          // the build's KV page (the prefix cache's unit)
  bool affinity = true;            // off with --no-prefix-cache: there is nothing to be affine to
  int64_t affinity_pages = 64;     // leading pages hashed per request
  int64_t balance_slack = -1;      // affinity yields when its engine holds more than this many requests beyond
                                   // the least loaded one; -1: a quarter of the batch (at least 2)
  size_t max_prefixes = 1 << 16;   // remembered page-prefix hashes (oldest forgotten first)
};

class Router {
 public:
  struct Member {
    std::string device;  // "0", "1", ...: the GPU index, or the CPU replica's index (the /metrics label)
    Scheduler* sched = nullptr;
  };
  Router(std::vector<Member> engines, RouterOptions opt);
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  struct Routed {
    std::shared_ptr<RequestStream> stream;
    size_t engine = 0;
  };
  // Picks an engine and submits there (Scheduler::submit's contract). An engine that turns out full or
  // failed is skipped for the next best; when none takes the request, the last error is rethrown (QueueFull,
  // or EngineDown when every engine has failed). Thread-safe.
  Routed submit(std::vector<GenerationRequest> reqs);

  size_t size() const { return members_.size(); }
  const std::string& device(size_t i) const { return members_[i].device; }
  Scheduler& engine(size_t i) const { return *members_[i].sched; }
  // Requests sent to engine i because of prefix affinity / by load.
  int64_t routed_affine(size_t i) const { return counts_[i].affine; }
  int64_t routed_load(size_t i) const { return counts_[i].load; }
  // The batch and queue limits of one engine (all engines share them).
  const SchedulerOptions& options() const { return members_[0].sched->options(); }

  void cancel_all();
  bool wait_idle(Scheduler::clock::time_point deadline);  // true when every engine is idle
  void stop();

 private:
  std::vector<uint64_t> prefix_hashes(const std::vector<int32_t>& prompt) const;
  void remember(const std::vector<uint64_t>& hashes, size_t engine);

  std::vector<Member> members_;
  RouterOptions opt_;
  struct Counts {
    std::atomic<int64_t> affine{0}, load{0};
  };
  std::unique_ptr<Counts[]> counts_;
  std::mutex mu_;  // picking and submitting are one step, so that the next pick sees this one's load
  std::unordered_map<uint64_t, size_t> owner_;  // hash of pages [0, k) -> engine that last took them
  std::deque<uint64_t> order_;                   // owner_'s keys, oldest first
  size_t turn_ = 0;                              // where ties start
};

}  // namespace tsc
