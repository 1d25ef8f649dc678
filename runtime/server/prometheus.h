// /metrics: the scheduler's stats and histograms plus the HTTP request counters, in Prometheus' text
// exposition format (version 0.0.4).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "runtime/sched/metrics.h"

namespace tsc {

// One engine's series; with several engines each carries the label device="..." (none with one engine, so
// that a single-engine server's output is what it always was).
struct EngineMetrics {
  std::string device;
  SchedStats stats;
  const SchedHistograms* hist = nullptr;
  bool up = true;                          // false once the engine has failed
  int64_t routed_affine = 0, routed_load = 0;  // requests the router sent here by prefix affinity / by load
};

struct MetricsInput {
  std::vector<EngineMetrics> engines;
  std::map<std::pair<std::string, int>, int64_t> requests;  // (route, status) -> count
  std::string model_name, target;
  int64_t page_size = 0, top_k_pages = 0, max_running = 0;
  bool profile = false;  // add per-step timings
};

std::string render_metrics(const MetricsInput& in);

}  // namespace tsc
