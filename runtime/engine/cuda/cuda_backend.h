// The CUDA backend: the decoder forward pass over the generated CUDA kernel table and cuBLASLt, weights
// and paged KV cache in device memory; host work per step is one metadata upload and the kernel launches
// (or one CUDA-graph replay). Its parts live beside it: device.h, weights.h, kv_memory.h, step_meta.h,
// graph_cache.h, blas.h, activations.h, profiler.h; the forward pass itself is forward.cpp.
#pragma once
#include <cuda_runtime_api.h>

#include <span>
#include <vector>

#include "runtime/engine/backend.h"
#include "runtime/engine/cuda/activations.h"
#include "runtime/engine/cuda/blas.h"
#include "runtime/engine/cuda/device.h"
#include "runtime/engine/cuda/graph_cache.h"
#include "runtime/engine/cuda/kv_memory.h"
#include "runtime/engine/cuda/profiler.h"
#include "runtime/engine/cuda/step_meta.h"
#include "runtime/engine/cuda/weights.h"
#include "templates/cuda/kernel_table.h"

namespace tsc::cuda {

// A non-blocking stream, destroyed with its owner.
struct Stream {
  cudaStream_t s = nullptr;
  Stream();
  ~Stream();
};

class CudaBackend : public Backend {
 public:
  CudaBackend(const Payload& p, int64_t num_pages);
  ~CudaBackend() override;

  const char* name() const override { return "cuda"; }
  int64_t device_memory_used() const override;
  const SelectionCounters& counters() const override;
  void copy_page(int32_t src, int32_t dst) override { kv_.copy_page(src, dst, stream_.s); }
  void ensure_pages(int64_t n) override { kv_.ensure_pages(n); }
  // Both entry points replay a captured CUDA graph for pure decode steps (one row each) of a batch that fits a
  // bucket; the logits variant (the server's and score's steps) copies back the real rows' logits only.
  void forward(std::span<const StepSeq> seqs, std::vector<float>& logits) override;
  void forward_greedy(std::span<const StepSeq> seqs, std::vector<int32_t>& ids) override;

 private:
  // Uploads metadata and runs the step, eagerly or through the graph cache; outputs land in host_out_.
  void run(const HostStep& st, bool greedy);
  // Copies each tracing decode sequence's selection into its StepSeq::diag->trace ([layers, hkv, top_k]).
  void download_trace(std::span<const StepSeq> seqs, const HostStep& st);
  // forward.cpp: every launch of one step; `meta` holds HostStep::packed on the device.
  void launch(const HostStep& st, const int32_t* meta, bool greedy);
  // y[M, N] = x[M, K] W[N, K]^T (+ bias): generated GEMV for small M, cuBLASLt otherwise (4- and 8-bit weights
  // dequantized into dequant_scratch_ first).
  void linear(const void* x, int64_t M, int64_t K, const ProjWeight& W, const float* bias, int64_t N, void* y, int32_t out_f32);
  void prof(cudaError_t e, const char* what) { prof_.check(e, what, stream_.s, graphs_.capturing()); }

  const Payload& p_;
  const DecoderSpec& s_;
  const BuildOptions& o_;
  const KernelTable* kt_;
  cudaDeviceProp prop_;
  const int64_t H_, Q_, KV_, I_, V_;  // hidden, query, key/value widths; intermediate; vocabulary
  const size_t esize_;                // weight (and KV) element size
  Stream stream_;
  Profiler prof_;
  Blas blas_;
  DeviceWeights w_;
  KvMemory kv_;                       // page 0 is the pool's scratch page: padding rows of graph buckets write there
  GraphCache graphs_;
  Activations act_;
  DevBuf meta_;                       // eager steps' metadata (graphs keep their own)
  DevBuf dequant_scratch_;            // one dequantized 4- or 8-bit projection [N, K] for cuBLASLt (reserved at start)
  PinnedBuf host_meta_, host_out_;
  unsigned long long* stats_dev_ = nullptr;  // [layers, 3]: pages total, scored, kept
  mutable SelectionCounters counters_;
  const int64_t max_pages_cap_;       // pages of max_seq_len: the page-table width of graph steps
  // Selection reuse (--select-every): stored kept sets [layers, slots, hkv, top_k] in device memory (allocated
  // once: graphs bake in its address), rows handed to sequences by slots_; reuse_layer_ = slots * hkv * top_k.
  SelectSlots slots_;
  DevBuf reuse_kept_;
  int64_t reuse_layer_ = 0, step_no_ = 0;
  // Each sequence's row and reuse this step (select_reuse.h), for pack_step.
  std::vector<SelectSlots::Plan> plan_reuse(std::span<const StepSeq> seqs);
  bool decode_step_ = false;          // the step being launched has no prefill rows (cuBLASLt tunes only those shapes)
};

}  // namespace tsc::cuda
