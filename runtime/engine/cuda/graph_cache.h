// CUDA-graph cache for pure decode steps: one captured graph per (batch bucket, page budget, greedy),
// re-captured when the buffers it baked in move (a new generation).
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <tuple>

#include "runtime/engine/backend.h"
#include "runtime/engine/cuda/device.h"

namespace tsc::cuda {

class GraphCache {
 public:
  // TSC_CUDA_GRAPHS=0 (or profiling, whose per-launch events need eager steps) turns replay off.
  explicit GraphCache(bool profiling);
  ~GraphCache();
  GraphCache(const GraphCache&) = delete;
  GraphCache& operator=(const GraphCache&) = delete;

  // The graph bucket of a step (the batch rounded up to a power of two, at most max_batch), or 0 to run it
  // eagerly: steps with prefill rows, mixed budgets or selection diagnostics (a trace: kept_out is not in the graphs).
  int64_t bucket(std::span<const StepSeq> seqs, int64_t max_batch) const;
  // Buffers a captured graph reads or writes moved: every graph is re-captured on its next use.
  void invalidate() { ++generation_; }
  bool capturing() const { return capturing_; }

  struct Key {
    int64_t bucket;
    int32_t budget;
    bool greedy;
    bool operator<(const Key& o) const { return std::tie(bucket, budget, greedy) < std::tie(o.bucket, o.budget, o.greedy); }
  };
  // Uploads the step's metadata (meta_bytes from host_meta) into the graph's own buffer, then runs
  // launch(device metadata): eagerly the first time a key is seen (one-time setup such as cuBLASLt
  // tuning happens outside capture), captured the second, replayed after. Synchronizes the stream.
  void run(const Key& key, const void* host_meta, size_t meta_bytes, size_t meta_capacity, cudaStream_t stream,
           const std::function<void(const int32_t*)>& launch);

 private:
  struct Entry {
    cudaGraphExec_t exec = nullptr;
    DevBuf meta;
    int seen = 0;
    uint64_t generation = ~uint64_t{0};
  };
  std::map<Key, Entry> graphs_;
  uint64_t generation_ = 0;
  bool enabled_ = true;
  bool capturing_ = false;
};

}  // namespace tsc::cuda
