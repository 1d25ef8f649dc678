// CudaBackend: construction from the payload, the Backend entry points, and one step's upload, run
// (eager or CUDA graph) and download. The launches themselves are in forward.cpp.
#include "runtime/engine/cuda/cuda_backend.h"

#include <algorithm>
#include <cstring>

#include "contract/error.h"
#include "runtime/engine/select_diag.h"

// Defined by the generated kernels file linked into a CUDA-target executable.
extern "C" __attribute__((weak)) const tsc::cuda::KernelTable* tsc_cuda_kernels();

namespace tsc::cuda {
namespace {

const KernelTable* linked_kernels(const Payload& p) {
  if (!tsc_cuda_kernels) throw Error("this executable has no CUDA kernels linked in", "rebuild it with `tsc --target cuda`");
  const KernelTable* kt = tsc_cuda_kernels();
  check_kernel_table(*kt, p.spec(), p.options());
  return kt;
}

}  // namespace

Stream::Stream() { check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "creating a CUDA stream"); }
Stream::~Stream() {
  if (s) cudaStreamDestroy(s);
}

CudaBackend::CudaBackend(const Payload& p, int64_t num_pages)
    : p_(p), s_(p.spec()), o_(p.options()), kt_(linked_kernels(p)), prop_(open_device()),
      H_(s_.hidden_size), Q_(s_.num_attention_heads * s_.head_dim), KV_(s_.num_key_value_heads * s_.head_dim), I_(s_.intermediate_size),
      V_(s_.vocab_size), esize_(dtype_size(o_.weight_dtype)), blas_(stream_.s, o_.weight_dtype), w_(p, s_.num_hidden_layers),
      kv_(s_.num_hidden_layers, num_pages, static_cast<size_t>(s_.num_key_value_heads * o_.page_size * s_.head_dim) * esize_,
          static_cast<size_t>(s_.num_key_value_heads * 2 * s_.head_dim) * esize_, static_cast<size_t>(s_.num_key_value_heads * kt_->summary_words) * 4,
          static_cast<int32_t>(s_.num_key_value_heads)),
      graphs_(prof_.enabled()), max_pages_cap_((o_.max_seq_len + o_.page_size - 1) / o_.page_size),
      slots_(static_cast<int32_t>(std::max<int64_t>(o_.max_batch, 1))) {
  static_assert(kSelectReuseExtraPages == kSelectReuseExtra, "the kernels' kept-page scratch must hold what select_reuse_step adds");
  reuse_layer_ = slots_.rows() * s_.num_key_value_heads * o_.top_k_pages;
  if (reuse_layer_ > 0) reuse_kept_.reserve(static_cast<size_t>(s_.num_hidden_layers * reuse_layer_) * 4, "allocating the stored page selections");
  // Reserved here, not on first use: a CUDA graph capture (decode buckets over 8 rows) cannot allocate.
  if (w_.any_quantized())
    dequant_scratch_.reserve(static_cast<size_t>(w_.max_quantized_elems()) * esize_, "allocating the quantized weights' dequantization scratch");
  const size_t stats_bytes = sizeof(unsigned long long) * 3 * s_.num_hidden_layers;
  check(cudaMalloc(reinterpret_cast<void**>(&stats_dev_), stats_bytes), "allocating counters");
  check(cudaMemset(stats_dev_, 0, stats_bytes), "clearing counters");
  counters_.kept_per_layer.assign(static_cast<size_t>(s_.num_hidden_layers), 0);
  counters_.total_per_layer.assign(static_cast<size_t>(s_.num_hidden_layers), 0);
}

CudaBackend::~CudaBackend() {
  if (stats_dev_) cudaFree(stats_dev_);
}

int64_t CudaBackend::device_memory_used() const {
  size_t free_b = 0, total_b = 0;
  if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) return -1;
  return static_cast<int64_t>(total_b - free_b);
}

const SelectionCounters& CudaBackend::counters() const {
  std::vector<unsigned long long> h(static_cast<size_t>(3 * s_.num_hidden_layers));
  check(cudaMemcpyAsync(h.data(), stats_dev_, h.size() * sizeof(unsigned long long), cudaMemcpyDeviceToHost, stream_.s), "reading counters");
  check(cudaStreamSynchronize(stream_.s), "reading counters");
  counters_.pages_total = counters_.pages_scored = counters_.pages_kept = 0;
  for (int64_t l = 0; l < s_.num_hidden_layers; ++l) {
    counters_.total_per_layer[l] = static_cast<int64_t>(h[3 * l]);
    counters_.kept_per_layer[l] = static_cast<int64_t>(h[3 * l + 2]);
    counters_.pages_total += static_cast<int64_t>(h[3 * l]);
    counters_.pages_scored += static_cast<int64_t>(h[3 * l + 1]);
    counters_.pages_kept += static_cast<int64_t>(h[3 * l + 2]);
  }
  return counters_;
}

std::vector<SelectSlots::Plan> CudaBackend::plan_reuse(std::span<const StepSeq> seqs) {
  ++step_no_;
  std::vector<SelectSlots::Plan> plans(seqs.size());
  for (size_t i = 0; i < seqs.size(); ++i) {
    const StepSeq& q = seqs[i];
    check_select_every(q.select_every, "select_every");
    if (!q.decode) q.kv->select.clear();  // prompt tokens: the next decode step scores
    else if (reuse_layer_ > 0)
      plans[i] = slots_.plan(q.kv->select, q.select_every, q.budget, (q.kv->num_tokens + 1 + o_.page_size - 1) / o_.page_size, step_no_);
  }
  return plans;
}

void CudaBackend::forward(std::span<const StepSeq> seqs, std::vector<float>& logits) {
  const std::vector<SelectSlots::Plan> reuse = plan_reuse(seqs);
  HostStep st = pack_step(seqs, graphs_.bucket(seqs, o_.max_batch), StepLimits{&p_, max_pages_cap_, 0, prop_.multiProcessorCount, &reuse});
  run(st, /*greedy=*/false);
  const int64_t rows = st.bucket > 0 ? static_cast<int64_t>(seqs.size()) : st.R;
  const float* out = static_cast<const float*>(host_out_.p);
  logits.assign(out, out + rows * V_);
  if (st.trace) download_trace(seqs, st);
}

void CudaBackend::forward_greedy(std::span<const StepSeq> seqs, std::vector<int32_t>& ids) {
  const std::vector<SelectSlots::Plan> reuse = plan_reuse(seqs);
  HostStep st = pack_step(seqs, graphs_.bucket(seqs, o_.max_batch), StepLimits{&p_, max_pages_cap_, 0, prop_.multiProcessorCount, &reuse});
  run(st, /*greedy=*/true);
  const int32_t* out = static_cast<const int32_t*>(host_out_.p);
  ids.assign(out, out + seqs.size());
  if (st.trace) download_trace(seqs, st);
}

void CudaBackend::download_trace(std::span<const StepSeq> seqs, const HostStep& st) {
  const int64_t L = s_.num_hidden_layers, row = s_.num_key_value_heads * o_.top_k_pages;
  std::vector<int32_t> h(static_cast<size_t>(trace_row(st, s_, o_, L, 0)));
  check(cudaMemcpy(h.data(), act_.trace.p, h.size() * 4, cudaMemcpyDeviceToHost), "downloading the selection trace");
  int64_t d = 0;
  for (auto& q : seqs) {
    if (!q.decode) continue;
    if (q.diag && q.diag->trace)
      for (int64_t l = 0; l < L; ++l) std::copy_n(h.begin() + trace_row(st, s_, o_, l, d), row, q.diag->trace + l * row);
    ++d;
  }
}

void CudaBackend::run(const HostStep& st, bool greedy) {
  if (act_.reserve(st, s_, o_, esize_, kt_->score_scratch, stream_.s)) graphs_.invalidate();
  const size_t meta_bytes = std::max<size_t>(st.packed.size() * 4, 128);
  const size_t out_bytes = greedy ? static_cast<size_t>(st.R) * 4 : static_cast<size_t>(st.R * V_) * 4;
  host_meta_.reserve(meta_bytes);
  if (host_out_.reserve(out_bytes)) graphs_.invalidate();  // captured graphs copy their outputs here: re-capture them
  std::memcpy(host_meta_.p, st.packed.data(), st.packed.size() * 4);
  if (st.bucket == 0) {
    meta_.reserve(meta_bytes, "allocating step metadata");
    check(cudaMemcpyAsync(meta_.p, host_meta_.p, st.packed.size() * 4, cudaMemcpyHostToDevice, stream_.s), "uploading step metadata");
    launch(st, meta_.as<int32_t>(), greedy);
    check(cudaStreamSynchronize(stream_.s), "running the step");
    return;
  }
  const GraphCache::Key key{st.bucket, st.run_budget.empty() ? 0 : st.run_budget[0], greedy};
  graphs_.run(key, host_meta_.p, st.packed.size() * 4, meta_bytes, stream_.s, [&](const int32_t* meta) { launch(st, meta, greedy); });
}

}  // namespace tsc::cuda

namespace tsc {

std::unique_ptr<Backend> make_cuda_backend(const Payload& payload, int64_t num_pages) {
  return std::make_unique<cuda::CudaBackend>(payload, num_pages);
}

}  // namespace tsc
