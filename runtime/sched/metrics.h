// Scheduler instrumentation: latency histograms and the counters/gauges it publishes after every
// iteration (read by /metrics from HTTP threads, so everything here is thread-safe or a copy).
#pragma once
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/engine/backend.h"

namespace tsc {

// Prometheus-style histogram: fixed upper bounds, counts per bucket (the last bucket is +Inf).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> counts;  // [bounds.size() + 1], not cumulative
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  mutable std::mutex mu_;
  Snapshot s_;
};

// Bucket bounds in seconds for request latencies (1 ms .. 60 s) and for step timings (10 us .. 10 s).
std::vector<double> latency_buckets();
std::vector<double> step_buckets();

struct SchedHistograms {
  Histogram queue_time{latency_buckets()};      // arrival -> first admission, per request
  Histogram ttft{latency_buckets()};            // arrival -> first generated token, per request
  Histogram itl{latency_buckets()};             // between consecutive tokens of one sequence
  Histogram e2e{latency_buckets()};             // arrival -> last choice finished, per request
  // Per step (kept always, exported with --profile): the forward pass by the batch's kind, sampling
  // of the whole batch, and the scheduler's own planning.
  Histogram step_prefill{step_buckets()}, step_decode{step_buckets()}, step_mixed{step_buckets()};
  Histogram sampling{step_buckets()}, planning{step_buckets()};
  Histogram step_tokens{{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096}};
};

// A copy of the scheduler's state, published after every iteration.
struct SchedStats {
  int64_t running = 0, waiting = 0;            // sequences
  int64_t requests_in_flight = 0;              // accepted, not finished
  int64_t kv_pages_total = 0, kv_pages_free = 0;
  int64_t kv_pages_cached = 0, kv_pages_cached_idle = 0;  // held by the prefix cache; idle = only by it
  int64_t prefix_lookup_tokens = 0, prefix_hit_tokens = 0, prefix_evictions = 0;
  int64_t prompt_tokens = 0, generated_tokens = 0, prefill_tokens = 0;  // prefill: computed, not cached
  int64_t preemptions = 0, steps = 0, requests_finished = 0;
  std::map<std::string, int64_t> sequences_finished;  // by finish reason
  double tokens_per_second = 0;                // generated, over the last 10 s
  SelectionCounters selection;
  int64_t page_bytes = 0, bound_bytes = 0, num_layers = 0;
};

}  // namespace tsc
