// TSC_PROFILE=1: eager CUDA steps time every launch with CUDA events (per kernel family), printed at exit.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>
#include <map>
#include <string>

namespace tsc::cuda {

class Profiler {
 public:
  Profiler();
  ~Profiler();  // prints the table to stderr
  bool enabled() const { return enabled_; }
  // Marks the start of a step's launches (nothing while a graph is being captured).
  void begin(cudaStream_t stream, bool capturing);
  // Checks a launch's status; profiling, charges the time since the previous mark to `what`.
  void check(cudaError_t e, const char* what, cudaStream_t stream, bool capturing);

 private:
  struct Entry {
    double ms = 0;
    int64_t calls = 0;
  };
  bool enabled_;
  std::map<std::string, Entry> table_;
  cudaEvent_t last_ = nullptr;
};

}  // namespace tsc::cuda
