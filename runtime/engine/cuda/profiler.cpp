// Profiler: CUDA events between a step's launches, summed per kernel family.
#include "runtime/engine/cuda/profiler.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "runtime/engine/cuda/device.h"

namespace tsc::cuda {

Profiler::Profiler() : enabled_(std::getenv("TSC_PROFILE") != nullptr) {}

Profiler::~Profiler() {
  if (table_.empty()) return;
  double total = 0;
  for (auto& [k, v] : table_) total += v.ms;
  std::fprintf(stderr, "tsc profile (eager steps, CUDA events between launches):\n");
  for (auto& [k, v] : table_)
    std::fprintf(stderr, "  %-20s %10.3f ms %8lld calls %8.1f us/call %5.1f%%\n", k.c_str(), v.ms, static_cast<long long>(v.calls),
                 1000.0 * v.ms / static_cast<double>(std::max<int64_t>(v.calls, 1)), 100.0 * v.ms / std::max(total, 1e-9));
}

void Profiler::begin(cudaStream_t stream, bool capturing) {
  if (!enabled_ || capturing) return;
  if (last_) cudaEventDestroy(last_);
  cuda::check(cudaEventCreate(&last_), "profiling");
  cuda::check(cudaEventRecord(last_, stream), "profiling");
}

void Profiler::check(cudaError_t e, const char* what, cudaStream_t stream, bool capturing) {
  cuda::check(e, what);
  if (!enabled_ || capturing) return;
  cudaEvent_t end;
  cuda::check(cudaEventCreate(&end), "profiling");
  cuda::check(cudaEventRecord(end, stream), "profiling");
  cuda::check(cudaEventSynchronize(end), "profiling");
  float ms = 0;
  if (last_) cudaEventElapsedTime(&ms, last_, end);
  auto& p = table_[what];
  p.ms += ms;
  ++p.calls;
  if (last_) cudaEventDestroy(last_);
  last_ = end;
}

}  // namespace tsc::cuda
