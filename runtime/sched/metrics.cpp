// Histogram buckets and thread-safe observation.
#include "runtime/sched/metrics.h"

#include <algorithm>

namespace tsc {

Histogram::Histogram(std::vector<double> bounds) {
  s_.bounds = std::move(bounds);
  s_.counts.assign(s_.bounds.size() + 1, 0);
}

void Histogram::observe(double v) {
  const size_t b = static_cast<size_t>(std::lower_bound(s_.bounds.begin(), s_.bounds.end(), v) - s_.bounds.begin());
  std::lock_guard<std::mutex> lock(mu_);
  ++s_.counts[b];
  s_.sum += v;
  ++s_.count;
}

Histogram::Snapshot Histogram::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return s_;
}

std::vector<double> latency_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20, 30, 60};
}

std::vector<double> step_buckets() {
  return {1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

}  // namespace tsc
