// /metrics: the scheduler's stats and histograms plus the HTTP request counters, in Prometheus' text
// exposition format (version 0.0.4).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "runtime/sched/metrics.h"

namespace tsc {

struct MetricsInput {
  SchedStats stats;
  const SchedHistograms* hist = nullptr;
  std::map<std::pair<std::string, int>, int64_t> requests;  // (route, status) -> count
  std::string model_name, target;
  int64_t page_size = 0, top_k_pages = 0, max_running = 0;
  bool profile = false;  // add per-step timings
};

std::string render_metrics(const MetricsInput& in);

}  // namespace tsc
