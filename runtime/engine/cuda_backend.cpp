// CUDA backend: the decoder forward pass over the generated CUDA kernel table and cuBLAS, weights and
// paged KV cache in device memory; host work per step is one metadata upload and the kernel launches.
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda.h>
#include <cuda_runtime_api.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <tuple>
#include <memory>
#include <string>
#include <vector>

#include "runtime/core/error.h"
#include "runtime/engine/backend.h"
#include "templates/cuda/kernel_table.h"

// Defined by the generated kernels file linked into a CUDA-target executable.
extern "C" __attribute__((weak)) const tsc::cuda::KernelTable* tsc_cuda_kernels();

namespace tsc {
namespace {

void check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return;
  if (e == cudaErrorInsufficientDriver && access("/proc/driver/nvidia/version", R_OK) != 0)
    throw Error(std::string(what) + ": no NVIDIA driver is loaded on this machine, so no GPU is usable",
                "run this executable on a machine with an NVIDIA GPU and driver (check nvidia-smi), or rebuild with tsc --target cpu");
  if (e == cudaErrorInsufficientDriver)
    throw Error(std::string(what) + ": the NVIDIA driver is older than this executable's CUDA runtime (" + cudaGetErrorString(e) + ")",
                "update the NVIDIA driver, or rebuild with tsc --target cpu");
  if (e == cudaErrorNoDevice)
    throw Error(std::string(what) + ": no CUDA GPU is visible (" + cudaGetErrorString(e) + ")",
                "run this executable on a machine with an NVIDIA GPU (check nvidia-smi), or rebuild with tsc --target cpu");
  throw Error(std::string(what) + " failed: " + cudaGetErrorString(e), "this is a bug in tsc's CUDA backend; please report it");
}
void check(cublasStatus_t e, const char* what) {
  if (e != CUBLAS_STATUS_SUCCESS) throw Error(std::string(what) + " failed: cuBLAS status " + std::to_string(static_cast<int>(e)), "check GPU memory and driver");
}

// Device buffer that grows on demand (contents not preserved).
struct DevBuf {
  void* p = nullptr;
  size_t bytes = 0;
  void reserve(size_t n, const char* what) {
    if (n <= bytes) return;
    if (p) cudaFree(p);
    p = nullptr;
    check(cudaMalloc(&p, n), what);
    bytes = n;
  }
  ~DevBuf() {
    if (p) cudaFree(p);
  }
  template <typename X> X* as() const { return static_cast<X*>(p); }
};

struct LayerDev {
  const float *attn_norm_w = nullptr, *attn_norm_b = nullptr, *qkv_b = nullptr, *o_b = nullptr;
  const float *mlp_norm_w = nullptr, *mlp_norm_b = nullptr, *up_b = nullptr, *down_b = nullptr;
  const void *qkv_w = nullptr, *o_w = nullptr, *up_w = nullptr, *down_w = nullptr;
  cuda::KvLayerDev kv{};
};

class CudaBackend : public Backend {
 public:
  CudaBackend(const Payload& p, int64_t num_pages) : p_(p), s_(p.spec()), o_(p.options()), num_pages_(num_pages) {
    if (!tsc_cuda_kernels) throw Error("this executable has no CUDA kernels linked in", "rebuild it with `tsc --target cuda`");
    kt_ = tsc_cuda_kernels();
    if (o_.page_score != "bound")
      throw Error("this executable's payload asks for page score '" + o_.page_score + "', which the CUDA kernels do not implement",
                  "rebuild it with tsc (which refuses --page-score sketch for --target cuda)");
    int n = 0;
    check(cudaGetDeviceCount(&n), "looking for a GPU");
    if (n == 0) check(cudaErrorNoDevice, "looking for a GPU");
    check(cudaSetDevice(0), "selecting GPU 0");
    check(cudaGetDeviceProperties(&prop_, 0), "reading the GPU's properties");
    if (prop_.major < 8)
      throw Error(std::string("GPU '") + prop_.name + "' has compute capability " + std::to_string(prop_.major) + "." + std::to_string(prop_.minor) +
                      "; tsc's CUDA kernels need 8.0 (Ampere) or newer", "run on an A100/H100-class GPU, or rebuild with tsc --target cpu");
    auto want = [&](bool ok, const char* what, int64_t need, int64_t have) {
      if (!ok)
        throw Error(std::string("the linked CUDA kernels are specialized for ") + what + " " + std::to_string(have) + " but the model needs " + std::to_string(need),
                    "rebuild the executable with tsc; kernels and payload come from different builds");
    };
    want(kt_->head_dim == s_.head_dim, "head_dim", s_.head_dim, kt_->head_dim);
    want(kt_->page_size == o_.page_size, "page_size", o_.page_size, kt_->page_size);
    want(kt_->group == s_.num_attention_heads / s_.num_key_value_heads, "GQA group", s_.num_attention_heads / s_.num_key_value_heads, kt_->group);
    want(kt_->weight_dtype == static_cast<int32_t>(o_.weight_dtype), "weight dtype", static_cast<int64_t>(o_.weight_dtype), kt_->weight_dtype);
    check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "creating a CUDA stream");
    check(cublasCreate(&blas_), "cublasCreate");
    check(cublasSetStream(blas_, stream_), "cublasSetStream");
    // A fixed workspace: cuBLAS must not allocate while a CUDA graph is being captured.
    check(cudaMalloc(&blas_ws_, kBlasWorkspace), "allocating the cuBLAS workspace");
    check(cublasSetWorkspace(blas_, blas_ws_, kBlasWorkspace), "cublasSetWorkspace");
    H_ = s_.hidden_size;
    Q_ = s_.num_attention_heads * s_.head_dim;
    KV_ = s_.num_key_value_heads * s_.head_dim;
    I_ = s_.intermediate_size;
    V_ = s_.vocab_size;
    esize_ = dtype_size(o_.weight_dtype);
    upload_weights();
    alloc_kv();
    check(cudaMalloc(reinterpret_cast<void**>(&stats_dev_), sizeof(unsigned long long) * 3 * s_.num_hidden_layers), "allocating counters");
    check(cudaMemset(stats_dev_, 0, sizeof(unsigned long long) * 3 * s_.num_hidden_layers), "clearing counters");
    counters_.kept_per_layer.assign(static_cast<size_t>(s_.num_hidden_layers), 0);
    counters_.total_per_layer.assign(static_cast<size_t>(s_.num_hidden_layers), 0);
  }

  ~CudaBackend() override {
    print_profile();
    for (void* w : owned_) cudaFree(w);
    if (stats_dev_) cudaFree(stats_dev_);
    if (blas_) cublasDestroy(blas_);
    if (blas_ws_) cudaFree(blas_ws_);
    if (stream_) cudaStreamDestroy(stream_);
    if (host_meta_) cudaFreeHost(host_meta_);
    if (host_out_) cudaFreeHost(host_out_);
    for (auto& [k, g] : graphs_)
      if (g.exec) cudaGraphExecDestroy(g.exec);
  }

  const char* name() const override { return "cuda"; }

  int64_t device_memory_used() const override {
    size_t free_b = 0, total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) return -1;
    return static_cast<int64_t>(total_b - free_b);
  }

  const SelectionCounters& counters() const override {
    std::vector<unsigned long long> h(static_cast<size_t>(3 * s_.num_hidden_layers));
    check(cudaMemcpyAsync(h.data(), stats_dev_, h.size() * sizeof(unsigned long long), cudaMemcpyDeviceToHost, stream_), "reading counters");
    check(cudaStreamSynchronize(stream_), "reading counters");
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

  void copy_page(int32_t src, int32_t dst) override {
    const size_t pb = page_bytes(), bb = bound_bytes();
    for (auto& L : layers_) {
      check(cudaMemcpyAsync(static_cast<char*>(L.kv.k) + dst * pb, static_cast<char*>(L.kv.k) + src * pb, pb, cudaMemcpyDeviceToDevice, stream_), "copying a KV page");
      check(cudaMemcpyAsync(static_cast<char*>(L.kv.v) + dst * pb, static_cast<char*>(L.kv.v) + src * pb, pb, cudaMemcpyDeviceToDevice, stream_), "copying a KV page");
      check(cudaMemcpyAsync(static_cast<char*>(L.kv.bounds) + dst * bb, static_cast<char*>(L.kv.bounds) + src * bb, bb, cudaMemcpyDeviceToDevice, stream_), "copying a KV page");
    }
  }

  // Both entry points replay a captured CUDA graph for pure decode steps (one row each) of a batch that fits a
  // bucket; the logits variant (the server's and score's steps) copies back the real rows' logits only.
  void forward(std::span<const StepSeq> seqs, std::vector<float>& logits) override {
    HostStep st = build(seqs, graph_bucket(seqs));
    run(st, /*greedy=*/false);
    const int64_t rows = st.bucket > 0 ? static_cast<int64_t>(seqs.size()) : st.R;
    logits.assign(static_cast<const float*>(host_out_), static_cast<const float*>(host_out_) + rows * V_);
    if (st.trace) download_trace(seqs, st);
  }

  void forward_greedy(std::span<const StepSeq> seqs, std::vector<int32_t>& ids) override {
    HostStep st = build(seqs, graph_bucket(seqs));
    run(st, /*greedy=*/true);
    ids.assign(static_cast<const int32_t*>(host_out_), static_cast<const int32_t*>(host_out_) + seqs.size());
    if (st.trace) download_trace(seqs, st);
  }

 private:
  // One step's metadata on the host, packed for a single upload.
  struct HostStep {
    std::vector<int32_t> packed;
    size_t off_tok = 0, off_pos = 0, off_units = 0, off_rows = 0, off_drow = 0, off_dlen = 0, off_dpt = 0, off_ps = 0, off_pl = 0,
           off_pkv = 0, off_ppt = 0;
    int64_t T = 0, R = 0, num_units = 0, nd = 0, np = 0;
    int32_t max_pages = 1, max_q = 0, splits = 1;
    std::vector<std::pair<int64_t, int64_t>> decode_runs;  // [begin, end) of decode sequences sharing a budget
    std::vector<int32_t> run_budget;
    int64_t bucket = 0;                                    // > 0: a graph-replayable decode step
    bool trace = false;                                    // some decode sequence records its selection
  };

  // The graph bucket of a step (the batch rounded up to a power of two, at most max_batch), or 0 to run it
  // eagerly: steps with prefill rows, mixed budgets or a selection trace (kept_out is not in the graphs).
  int64_t graph_bucket(std::span<const StepSeq> seqs) const {
    bool decode_only = !seqs.empty();
    for (auto& q : seqs) decode_only = decode_only && q.decode && !q.all_logits && q.budget == seqs[0].budget && !q.select_trace;
    const int64_t B = static_cast<int64_t>(seqs.size());
    if (!decode_only || !graphs_enabled_ || B > o_.max_batch) return 0;
    int64_t bucket = 1;
    while (bucket < B) bucket *= 2;
    return std::min<int64_t>(bucket, o_.max_batch);
  }

  // Selection trace rows of one decode sequence and layer: [hkv, top_k] in trace_buf_ ([layers, nd, hkv, top_k]).
  int64_t trace_row(const HostStep& st, int64_t l, int64_t d) const { return ((l * st.nd + d) * s_.num_key_value_heads) * o_.top_k_pages; }

  // Copies each tracing decode sequence's selection into its StepSeq::select_trace ([layers, hkv, top_k]).
  void download_trace(std::span<const StepSeq> seqs, const HostStep& st) {
    const int64_t L = s_.num_hidden_layers, row = s_.num_key_value_heads * o_.top_k_pages;
    std::vector<int32_t> h(static_cast<size_t>(trace_row(st, L, 0)));
    check(cudaMemcpy(h.data(), trace_buf_.p, h.size() * 4, cudaMemcpyDeviceToHost), "downloading the selection trace");
    int64_t d = 0;
    for (auto& q : seqs) {
      if (!q.decode) continue;
      if (q.select_trace)
        for (int64_t l = 0; l < L; ++l) std::copy_n(h.begin() + trace_row(st, l, d), row, q.select_trace + l * row);
      ++d;
    }
  }

  HostStep build(std::span<const StepSeq> seqs, int64_t bucket) {
    const int64_t ps = o_.page_size;
    HostStep st;
    st.bucket = bucket;
    std::vector<int32_t> tok, pos, units, rows, d_row, d_lens, d_pt, p_start, p_len, p_kv, p_pt;
    std::vector<int64_t> dec_budget;
    int32_t max_kept = 1;
    for (auto& q : seqs) st.max_pages = std::max<int32_t>(st.max_pages, static_cast<int32_t>((q.kv->num_tokens + q.n + ps - 1) / ps));
    if (bucket > 0) st.max_pages = static_cast<int32_t>(max_pages_cap_);  // fixed shapes for graph replay
    int64_t row = 0;
    for (auto& q : seqs) {
      if (q.decode && q.n != 1) throw Error("decode step with " + std::to_string(q.n) + " tokens", "this is a bug in the runtime");
      if (q.budget > o_.top_k_pages)
        throw Error("page budget " + std::to_string(q.budget) + " exceeds the compiled top-k capacity " + std::to_string(o_.top_k_pages),
                    "ask for at most " + std::to_string(o_.top_k_pages) + " pages, or rebuild with a larger --top-k-pages");
      if (q.budget == 1) throw Error("page budget 1 cannot keep both the first and the last page", "use a budget of at least 2, or 0 for dense attention");
      if (q.select_replay) throw Error("--select-replay imposes a selection on the CPU target only", "replay with a --target cpu build; record here with --select-trace");
      st.trace = st.trace || (q.decode && q.select_trace);
      if (q.select_flags != 0) throw Error("selection ablations (--select-reduce max, --no-sink, --select-score other than bound) run on the CPU target only", "rebuild with tsc --target cpu");
      const int64_t start = q.kv->num_tokens, total = start + q.n;
      if (total > o_.max_seq_len) throw Error("sequence of " + std::to_string(total) + " tokens exceeds max_seq_len", "use shorter inputs");
      for (int64_t i = 0; i < q.n; ++i) {
        if (q.tokens[i] < 0 || q.tokens[i] >= V_)
          throw Error("token id " + std::to_string(q.tokens[i]) + " is outside the vocabulary [0, " + std::to_string(V_) + ")", "pass ids produced by this model's tokenizer");
        tok.push_back(q.tokens[i]);
        pos.push_back(static_cast<int32_t>(start + i));
      }
      if (s_.position == PositionKind::kLearned && total > p_.entry("embed_positions").shape[0])
        throw Error("position " + std::to_string(total - 1) + " exceeds the model's learned positions", "use shorter sequences");
      for (int64_t t = start; t < total;) {  // one append unit per page receiving tokens
        const int64_t page_idx = t / ps, slot = t % ps, cnt = std::min(total - t, ps - slot);
        units.insert(units.end(), {static_cast<int32_t>(row + (t - start)), static_cast<int32_t>(cnt), q.kv->pages[page_idx], static_cast<int32_t>(slot)});
        t += cnt;
      }
      auto put_pages = [&](std::vector<int32_t>& pt) {
        const size_t at = pt.size();
        pt.resize(at + static_cast<size_t>(st.max_pages), scratch_page_);
        for (size_t j = 0; j < q.kv->pages.size() && j < static_cast<size_t>(st.max_pages); ++j) pt[at + j] = q.kv->pages[j];
      };
      if (q.decode) {
        d_row.push_back(static_cast<int32_t>(row));
        d_lens.push_back(static_cast<int32_t>(total));
        put_pages(d_pt);
        const int64_t npg = (total + ps - 1) / ps;
        max_kept = std::max<int32_t>(max_kept, static_cast<int32_t>(q.budget > 0 ? std::min(npg, q.budget) : npg));
        dec_budget.push_back(q.budget);
      } else {
        p_start.push_back(static_cast<int32_t>(row));
        p_len.push_back(static_cast<int32_t>(q.n));
        p_kv.push_back(static_cast<int32_t>(start));
        put_pages(p_pt);
        st.max_q = std::max<int32_t>(st.max_q, static_cast<int32_t>(q.n));
      }
      if (q.all_logits) for (int64_t i = 0; i < q.n; ++i) rows.push_back(static_cast<int32_t>(row + i));
      else rows.push_back(static_cast<int32_t>(row + q.n - 1));
      row += q.n;
    }
    // Graph buckets: pad with dummy decode rows (token 0 at position 0 of a scratch page) up to the bucket.
    if (bucket > 0) {
      for (int64_t b = static_cast<int64_t>(seqs.size()); b < bucket; ++b) {
        tok.push_back(0);
        pos.push_back(0);
        units.insert(units.end(), {static_cast<int32_t>(row), 1, scratch_page_, 0});
        d_row.push_back(static_cast<int32_t>(row));
        d_lens.push_back(1);
        d_pt.resize(d_pt.size() + static_cast<size_t>(st.max_pages), scratch_page_);
        dec_budget.push_back(dec_budget.empty() ? 0 : dec_budget.back());
        rows.push_back(static_cast<int32_t>(row));
        ++row;
      }
      // Splits for the longest context the bucket may see, so one graph serves every step.
      const int64_t cap = max_pages_cap_;
      max_kept = static_cast<int32_t>(dec_budget[0] > 0 ? std::min<int64_t>(cap, dec_budget[0]) : cap);
    }
    st.T = row;
    st.R = static_cast<int64_t>(rows.size());
    st.num_units = static_cast<int64_t>(units.size() / 4);
    st.nd = static_cast<int64_t>(d_row.size());
    st.np = static_cast<int64_t>(p_start.size());
    st.splits = decode_splits(st.nd, max_kept);
    for (int64_t i = 0; i < st.nd;) {
      int64_t j = i;
      while (j < st.nd && dec_budget[j] == dec_budget[i]) ++j;
      st.decode_runs.emplace_back(i, j);
      st.run_budget.push_back(static_cast<int32_t>(dec_budget[i]));
      i = j;
    }
    size_t at = 0;
    auto place = [&](const std::vector<int32_t>& v, size_t& off) {
      off = at;
      st.packed.resize(at + (v.size() + 31) / 32 * 32, 0);  // 128-byte aligned sub-arrays
      std::copy(v.begin(), v.end(), st.packed.begin() + static_cast<std::ptrdiff_t>(at));
      at = st.packed.size();
    };
    place(tok, st.off_tok);
    place(pos, st.off_pos);
    place(units, st.off_units);
    place(rows, st.off_rows);
    place(d_row, st.off_drow);
    place(d_lens, st.off_dlen);
    place(d_pt, st.off_dpt);
    place(p_start, st.off_ps);
    place(p_len, st.off_pl);
    place(p_kv, st.off_pkv);
    place(p_pt, st.off_ppt);
    return st;
  }

  // Uploads metadata and runs the step, eagerly or by replaying a captured graph; outputs land in host_out_.
  void run(const HostStep& st, bool greedy) {
    reserve_activations(st);
    const size_t meta_bytes = std::max<size_t>(st.packed.size() * 4, 128);
    const size_t out_bytes = greedy ? static_cast<size_t>(st.R) * 4 : static_cast<size_t>(st.R * V_) * 4;
    ensure_pinned(meta_bytes, out_bytes);
    std::memcpy(host_meta_, st.packed.data(), st.packed.size() * 4);
    if (st.bucket == 0) {
      meta_.reserve(meta_bytes, "allocating step metadata");
      check(cudaMemcpyAsync(meta_.p, host_meta_, st.packed.size() * 4, cudaMemcpyHostToDevice, stream_), "uploading step metadata");
      launch(st, meta_.as<int32_t>(), greedy);
      check(cudaStreamSynchronize(stream_), "running the step");
      return;
    }
    const GraphKey key{st.bucket, st.run_budget.empty() ? 0 : st.run_budget[0], greedy};
    GraphEntry& g = graphs_[key];
    if (g.generation != buffer_generation_) {  // first use or buffers moved: re-capture
      if (g.exec) cudaGraphExecDestroy(g.exec);
      g.exec = nullptr;
      g.seen = 0;
      g.generation = buffer_generation_;
      g.meta.reserve(meta_bytes, "allocating graph metadata");
    }
    check(cudaMemcpyAsync(g.meta.p, host_meta_, st.packed.size() * 4, cudaMemcpyHostToDevice, stream_), "uploading step metadata");
    if (!g.exec && g.seen++ == 0) {  // the first step of a shape runs eagerly (one-time setup happens outside capture)
      launch(st, g.meta.as<int32_t>(), greedy);
      check(cudaStreamSynchronize(stream_), "running the step");
      return;
    }
    if (!g.exec) {
      cudaGraph_t graph = nullptr;
      check(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal), "capturing a CUDA graph");
      capturing_ = true;
      launch(st, g.meta.as<int32_t>(), greedy);
      capturing_ = false;
      check(cudaStreamEndCapture(stream_, &graph), "capturing a CUDA graph");
      check(cudaGraphInstantiate(&g.exec, graph, 0), "instantiating a CUDA graph");
      cudaGraphDestroy(graph);
    }
    check(cudaGraphLaunch(g.exec, stream_), "replaying a CUDA graph");
    check(cudaStreamSynchronize(stream_), "running the step");
  }

  // Every launch of one step; `meta` holds HostStep::packed on the device.
  void launch(const HostStep& st, const int32_t* meta, bool greedy) {
    const int32_t *d_tok = meta + st.off_tok, *d_pos = meta + st.off_pos, *d_units = meta + st.off_units, *d_rows = meta + st.off_rows,
                  *dd_row = meta + st.off_drow, *dd_lens = meta + st.off_dlen, *dd_pt = meta + st.off_dpt, *dp_start = meta + st.off_ps,
                  *dp_len = meta + st.off_pl, *dp_kv = meta + st.off_pkv, *dp_pt = meta + st.off_ppt;
    const int64_t T = st.T, R = st.R;
    const int64_t QKV = Q_ + 2 * KV_, U = s_.mlp_gated ? 2 * I_ : I_;
    const void* pos_table = s_.position == PositionKind::kLearned ? dev_weight("embed_positions") : nullptr;
    if (profiling_ && !capturing_) {
      if (prof_begin_) cudaEventDestroy(prof_begin_);
      check(cudaEventCreate(&prof_begin_), "profiling");
      check(cudaEventRecord(prof_begin_, stream_), "profiling");
    }
    prof_check(kt_->embed(d_tok, d_pos, static_cast<int32_t>(T), dev_weight("embed_tokens"), pos_table, static_cast<int32_t>(H_), x_.as<float>(), stream_), "embed");
    const float eps = static_cast<float>(s_.norm_eps);
    const int32_t rms = s_.norm == NormKind::kRMSNorm ? 1 : 0;
    const float* inv_freq = s_.position == PositionKind::kRope ? static_cast<const float*>(dev_weight("rope_inv_freq")) : nullptr;
    const void* delta = nullptr;
    // Decode-sized steps (no prefill, T <= 8) run six fused kernels per layer; the residual stream x is
    // updated by the projections' epilogues. Larger steps use cuBLAS and separate norm kernels.
    const bool fused = st.np == 0 && T <= 8 && H_ % 8 == 0 && Q_ % 8 == 0 && I_ % 8 == 0;
    decode_step_ = st.np == 0;
    auto decode_runs = [&](int64_t l, const float* rope) {
      for (size_t r = 0; r < st.decode_runs.size(); ++r) {
        const auto [i, j] = st.decode_runs[r];
        const int32_t budget = l < o_.dense_layers ? 0 : st.run_budget[r];
        cuda::DecodeArgs da{qkv_.p, static_cast<int32_t>(QKV), dd_row + i, attn_.p, static_cast<int32_t>(Q_), static_cast<int32_t>(j - i),
                            static_cast<int32_t>(s_.num_attention_heads), dd_pt + i * st.max_pages, st.max_pages, dd_lens + i,
                            static_cast<float>(s_.attention_scale), budget, st.splits, part_o_.as<float>(), part_ml_.as<float>(),
                            counters_buf_.as<int32_t>() + i * s_.num_key_value_heads, stats_dev_ + 3 * l, rope,
                            scores_buf_.as<float>() + i * s_.num_key_value_heads * st.max_pages, arrive_buf_.as<int32_t>() + i * s_.num_key_value_heads,
                            st.trace ? trace_buf_.as<int32_t>() + trace_row(st, l, i) : nullptr};
        prof_check(kt_->decode_attention(da, layers_[l].kv, stream_), "decode_attention");
      }
    };
    for (int64_t l = 0; l < s_.num_hidden_layers; ++l) {
      const LayerDev& L = layers_[l];
      cuda::AppendArgs ap{qkv_.p, static_cast<int32_t>(QKV), static_cast<int32_t>(s_.num_attention_heads), static_cast<int32_t>(s_.num_key_value_heads),
                          d_pos, inv_freq, d_units, static_cast<int32_t>(st.num_units)};
      if (fused) {
        const int32_t t = static_cast<int32_t>(T);
        cuda::GemvArgs qa{x_.p, t, static_cast<int32_t>(H_), L.qkv_w, L.qkv_b, static_cast<int32_t>(QKV), qkv_.p, L.attn_norm_w, L.attn_norm_b, nullptr, eps};
        prof_check(kt_->gemv_fused(cuda::kRoleQkv, qa, stream_), "qkv projection");
        prof_check(kt_->append_kv(ap, L.kv, stream_), "append_kv");
        decode_runs(l, inv_freq);
        cuda::GemvArgs oa{attn_.p, t, static_cast<int32_t>(Q_), L.o_w, L.o_b, static_cast<int32_t>(H_), x_.p, nullptr, nullptr, nullptr, eps};
        prof_check(kt_->gemv_fused(cuda::kRoleOut, oa, stream_), "out projection");
        cuda::GemvArgs ua{x_.p, t, static_cast<int32_t>(H_), L.up_w, L.up_b, static_cast<int32_t>(U), up_.p, L.mlp_norm_w, L.mlp_norm_b, nullptr, eps};
        prof_check(kt_->gemv_fused(cuda::kRoleUp, ua, stream_), "up projection");
        cuda::GemvArgs dn{up_.p, t, static_cast<int32_t>(I_), L.down_w, L.down_b, static_cast<int32_t>(H_), x_.p, nullptr, nullptr, nullptr, eps};
        prof_check(kt_->gemv_fused(cuda::kRoleDown, dn, stream_), "down projection");
        continue;
      }
      prof_check(kt_->add_norm(x_.as<float>(), delta, L.attn_norm_w, L.attn_norm_b, eps, rms, static_cast<int32_t>(T), static_cast<int32_t>(H_), h_.p, stream_), "add_norm");
      linear(h_.p, T, H_, L.qkv_w, L.qkv_b, QKV, qkv_.p, 0);
      cuda::RopeQArgs rq{qkv_.p, static_cast<int32_t>(QKV), static_cast<int32_t>(T), static_cast<int32_t>(s_.num_attention_heads), d_pos, inv_freq};
      prof_check(kt_->rope_q(rq, stream_), "rope_q");
      prof_check(kt_->append_kv(ap, L.kv, stream_), "append_kv");
      decode_runs(l, nullptr);
      if (st.np > 0) {
        cuda::PrefillArgs pa{qkv_.p, static_cast<int32_t>(QKV), attn_.p, static_cast<int32_t>(Q_), static_cast<int32_t>(st.np),
                             static_cast<int32_t>(s_.num_attention_heads), dp_start, dp_len, dp_kv, dp_pt, st.max_pages, st.max_q,
                             static_cast<float>(s_.attention_scale)};
        prof_check(kt_->prefill_attention(pa, L.kv, stream_), "prefill_attention");
      }
      linear(attn_.p, T, Q_, L.o_w, L.o_b, H_, o_buf_.p, 0);
      prof_check(kt_->add_norm(x_.as<float>(), o_buf_.p, L.mlp_norm_w, L.mlp_norm_b, eps, rms, static_cast<int32_t>(T), static_cast<int32_t>(H_), h_.p, stream_), "add_norm");
      if (s_.mlp_gated) {
        linear(h_.p, T, H_, L.up_w, nullptr, U, up_.p, 0);
        prof_check(kt_->silu_mul(up_.p, L.up_b, static_cast<int32_t>(T), static_cast<int32_t>(I_), act_.p, stream_), "silu_mul");
      } else {
        linear(h_.p, T, H_, L.up_w, nullptr, U, act_.p, 0);
        prof_check(kt_->bias_act(act_.p, L.up_b, static_cast<int32_t>(T), static_cast<int32_t>(I_), s_.activation == Activation::kGeluTanh ? 1 : 2, stream_), "bias_act");
      }
      linear(act_.p, T, I_, L.down_w, L.down_b, H_, mlp_.p, 0);
      delta = mlp_.p;
    }
    const float* fw = p_.has("final_norm_w") ? static_cast<const float*>(dev_weight("final_norm_w")) : nullptr;
    const float* fb = p_.has("final_norm_b") ? static_cast<const float*>(dev_weight("final_norm_b")) : nullptr;
    const float* head_b = p_.has("lm_head_b") ? static_cast<const float*>(dev_weight("lm_head_b")) : nullptr;
    if (fused) {
      // Every row of a pure decode step needs logits: the head reads the residual stream directly.
      cuda::GemvArgs ha{x_.p, static_cast<int32_t>(T), static_cast<int32_t>(H_), dev_weight("lm_head"), head_b, static_cast<int32_t>(V_), logits_dev_.p, fw, fb, nullptr, eps};
      prof_check(kt_->gemv_fused(cuda::kRoleHead, ha, stream_), "lm head");
    } else {
      prof_check(kt_->add_norm(x_.as<float>(), delta, fw, fb, eps, rms, static_cast<int32_t>(T), static_cast<int32_t>(H_), h_.p, stream_), "final norm");
      prof_check(kt_->gather_rows(h_.p, d_rows, static_cast<int32_t>(R), static_cast<int32_t>(H_), sel_.p, stream_), "gather_rows");
      linear(sel_.p, R, H_, dev_weight("lm_head"), head_b, V_, logits_dev_.p, 1);
    }
    if (greedy) {
      prof_check(kt_->argmax(logits_dev_.as<float>(), static_cast<int32_t>(R), static_cast<int32_t>(V_), ids_dev_.as<int32_t>(), stream_), "argmax");
      check(cudaMemcpyAsync(host_out_, ids_dev_.p, static_cast<size_t>(R) * 4, cudaMemcpyDeviceToHost, stream_), "downloading token ids");
    } else {
      check(cudaMemcpyAsync(host_out_, logits_dev_.p, static_cast<size_t>(R * V_) * 4, cudaMemcpyDeviceToHost, stream_), "downloading logits");
    }
  }

  // Activation buffers sized for the step; growing one moves it, which invalidates captured graphs.
  void reserve_activations(const HostStep& st) {
    const int64_t T = std::max<int64_t>(st.T, 1), R = std::max<int64_t>(st.R, 1), nd = std::max<int64_t>(st.nd, 1);
    const int64_t QKV = Q_ + 2 * KV_, U = s_.mlp_gated ? 2 * I_ : I_;
    size_t before = moved_;
    grow(x_, T * H_ * 4);
    grow(h_, T * H_ * esize_);
    grow(qkv_, T * QKV * esize_);
    grow(attn_, T * Q_ * esize_);
    grow(o_buf_, T * H_ * esize_);
    grow(up_, T * U * esize_);
    grow(act_, T * I_ * esize_);
    grow(mlp_, T * H_ * esize_);
    grow(sel_, R * H_ * esize_);
    grow(logits_dev_, R * V_ * 4);
    grow(ids_dev_, R * 4);
    grow(part_o_, nd * s_.num_attention_heads * st.splits * s_.head_dim * 4);
    grow(part_ml_, nd * s_.num_attention_heads * st.splits * 2 * 4);
    if (grow(counters_buf_, nd * s_.num_key_value_heads * 4))
      check(cudaMemsetAsync(counters_buf_.p, 0, counters_buf_.bytes, stream_), "clearing decode counters");
    if (grow(arrive_buf_, nd * s_.num_key_value_heads * 4))
      check(cudaMemsetAsync(arrive_buf_.p, 0, arrive_buf_.bytes, stream_), "clearing decode barriers");
    grow(scores_buf_, nd * s_.num_key_value_heads * st.max_pages * 4);
    if (moved_ != before) ++buffer_generation_;
    if (st.trace) {  // eager steps only (no graph holds it); -1 marks the rows of dense attention
      const size_t bytes = static_cast<size_t>(trace_row(st, s_.num_hidden_layers, 0)) * 4;  // [layers, nd, hkv, top_k]
      trace_buf_.reserve(bytes, "allocating the selection trace");
      check(cudaMemsetAsync(trace_buf_.p, 0xff, bytes, stream_), "clearing the selection trace");
    }
  }
  bool grow(DevBuf& b, int64_t bytes) {
    if (static_cast<size_t>(bytes) <= b.bytes) return false;
    // Grow generously so that graphs are rarely re-captured.
    b.reserve(static_cast<size_t>(bytes) * 2, "allocating activations");
    ++moved_;
    return true;
  }

  void ensure_pinned(size_t meta, size_t out) {
    if (meta > host_meta_bytes_) {
      if (host_meta_) cudaFreeHost(host_meta_);
      check(cudaMallocHost(&host_meta_, meta * 2), "allocating pinned host memory");
      host_meta_bytes_ = meta * 2;
    }
    if (out > host_out_bytes_) {
      if (host_out_) cudaFreeHost(host_out_);
      check(cudaMallocHost(&host_out_, out * 2), "allocating pinned host memory");
      host_out_bytes_ = out * 2;
      ++buffer_generation_;  // captured graphs copy their outputs here: re-capture them
    }
  }

  struct GraphKey {
    int64_t bucket;
    int32_t budget;
    bool greedy;
    bool operator<(const GraphKey& o) const { return std::tie(bucket, budget, greedy) < std::tie(o.bucket, o.budget, o.greedy); }
  };
  struct GraphEntry {
    cudaGraphExec_t exec = nullptr;
    DevBuf meta;
    int seen = 0;
    uint64_t generation = ~uint64_t{0};
  };
  std::map<GraphKey, GraphEntry> graphs_;
  uint64_t buffer_generation_ = 0;
  size_t moved_ = 0;
  bool graphs_enabled_ = true;
  int64_t max_pages_cap_ = 1;
  int32_t scratch_page_ = 0;
  DevBuf ids_dev_;
  void* host_out_ = nullptr;
  size_t host_out_bytes_ = 0;


  const Payload& p_;
  const DecoderSpec& s_;
  const BuildOptions& o_;
  int64_t num_pages_;
  const cuda::KernelTable* kt_ = nullptr;
  cudaDeviceProp prop_{};
  cudaStream_t stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  static constexpr size_t kBlasWorkspace = size_t{32} << 20;
  void* blas_ws_ = nullptr;
  int64_t H_ = 0, Q_ = 0, KV_ = 0, I_ = 0, V_ = 0;
  size_t esize_ = 2;
  std::vector<void*> owned_;
  std::map<std::string, void*> weights_;
  std::vector<LayerDev> layers_;
  unsigned long long* stats_dev_ = nullptr;
  mutable SelectionCounters counters_;
  DevBuf meta_, x_, h_, qkv_, attn_, o_buf_, up_, act_, mlp_, sel_, logits_dev_, part_o_, part_ml_, counters_buf_, arrive_buf_, scores_buf_, trace_buf_;
  void* host_meta_ = nullptr;
  size_t host_meta_bytes_ = 0;

  size_t page_bytes() const { return static_cast<size_t>(s_.num_key_value_heads * o_.page_size * s_.head_dim) * esize_; }
  size_t bound_bytes() const { return static_cast<size_t>(s_.num_key_value_heads * 2 * s_.head_dim) * esize_; }

  void* upload(const std::string& name) {
    const auto& e = p_.entry(name);
    void* d = nullptr;
    check(cudaMalloc(&d, std::max<size_t>(e.nbytes, 16)), "allocating GPU memory for weights");
    check(cudaMemcpy(d, p_.data(name), e.nbytes, cudaMemcpyHostToDevice), "uploading weights");
    owned_.push_back(d);
    return d;
  }
  // Weights are uploaded once; an alias (tied LM head) maps to the same device copy.
  const void* dev_weight(const std::string& name) {
    auto it = weights_.find(name);
    if (it != weights_.end()) return it->second;
    const auto& e = p_.entry(name);
    for (auto& [n, ptr] : weights_)
      if (p_.entry(n).offset == e.offset && p_.entry(n).nbytes == e.nbytes) return weights_[name] = ptr;
    return weights_[name] = upload(name);
  }
  const float* dev_f32(const std::string& name) { return p_.has(name) ? static_cast<const float*>(dev_weight(name)) : nullptr; }

  void upload_weights() {
    dev_weight("embed_tokens");
    dev_weight("lm_head");
    for (int64_t l = 0; l < s_.num_hidden_layers; ++l) {
      const std::string pre = "layers." + std::to_string(l) + ".";
      LayerDev L;
      L.attn_norm_w = dev_f32(pre + "attn_norm_w");
      L.attn_norm_b = dev_f32(pre + "attn_norm_b");
      L.qkv_w = dev_weight(pre + "qkv_w");
      L.qkv_b = dev_f32(pre + "qkv_b");
      L.o_w = dev_weight(pre + "o_w");
      L.o_b = dev_f32(pre + "o_b");
      L.mlp_norm_w = dev_f32(pre + "mlp_norm_w");
      L.mlp_norm_b = dev_f32(pre + "mlp_norm_b");
      L.up_w = dev_weight(pre + "up_w");
      L.up_b = dev_f32(pre + "up_b");
      L.down_w = dev_weight(pre + "down_w");
      L.down_b = dev_f32(pre + "down_b");
      layers_.push_back(L);
    }
  }

  // Page 0 is the pool's scratch page: padding rows of graph buckets write there.
  void alloc_kv() {
    scratch_page_ = 0;
    max_pages_cap_ = (o_.max_seq_len + o_.page_size - 1) / o_.page_size;
    if (const char* g = std::getenv("TSC_CUDA_GRAPHS")) graphs_enabled_ = std::string(g) != "0";
    if (profiling_) graphs_enabled_ = false;  // per-launch events need eager steps
    // Address space for every page up front; physical memory mapped as pages are first used
    // (ensure_pages), so a large --kv-memory costs nothing until the cache fills.
    vmm_ = Vmm::load();
    for (auto& L : layers_) {
      void* k = kv_array(page_bytes());
      void* v = kv_array(page_bytes());
      void* b = kv_array(bound_bytes());
      L.kv = cuda::KvLayerDev{k, v, b, static_cast<int32_t>(s_.num_key_value_heads)};
    }
    ensure_pages(1);
  }

 public:
  void ensure_pages(int64_t n) override {
    if (n <= mapped_pages_) return;
    for (auto& a : arrays_) a.grow(n, vmm_);
    mapped_pages_ = n;
  }

 private:
  // CUDA virtual memory management through driver entry points (no link-time libcuda dependency).
  struct Vmm {
    using Reserve = CUresult (*)(CUdeviceptr*, size_t, size_t, CUdeviceptr, unsigned long long);
    using Create = CUresult (*)(CUmemGenericAllocationHandle*, size_t, const CUmemAllocationProp*, unsigned long long);
    using Map = CUresult (*)(CUdeviceptr, size_t, size_t, CUmemGenericAllocationHandle, unsigned long long);
    using Access = CUresult (*)(CUdeviceptr, size_t, const CUmemAccessDesc*, size_t);
    using Gran = CUresult (*)(size_t*, const CUmemAllocationProp*, CUmemAllocationGranularity_flags);
    Reserve reserve = nullptr;
    Create create = nullptr;
    Map map = nullptr;
    Access access = nullptr;
    size_t granularity = 0;
    CUmemAllocationProp prop{};
    static Vmm load() {
      Vmm v;
      auto get = [](const char* name, void** fn) {
        cudaDriverEntryPointQueryResult q;
        return cudaGetDriverEntryPoint(name, fn, cudaEnableDefault, &q) == cudaSuccess && q == cudaDriverEntryPointSuccess && *fn;
      };
      Gran gran = nullptr;
      if (!get("cuMemAddressReserve", reinterpret_cast<void**>(&v.reserve)) || !get("cuMemCreate", reinterpret_cast<void**>(&v.create)) ||
          !get("cuMemMap", reinterpret_cast<void**>(&v.map)) || !get("cuMemSetAccess", reinterpret_cast<void**>(&v.access)) ||
          !get("cuMemGetAllocationGranularity", reinterpret_cast<void**>(&gran)))
        return Vmm{};
      v.prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
      v.prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
      v.prop.location.id = 0;
      if (gran(&v.granularity, &v.prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM) != CUDA_SUCCESS) return Vmm{};
      return v;
    }
    bool ok() const { return reserve != nullptr; }
  };
  struct KvArray {
    CUdeviceptr base = 0;
    size_t elem_bytes = 0, reserved = 0, mapped = 0;
    void grow(int64_t pages, const Vmm& vmm) {
      const size_t want = static_cast<size_t>(pages) * elem_bytes;
      if (want <= mapped) return;
      const size_t g = vmm.granularity;
      const size_t to = std::min(reserved, (want + g - 1) / g * g);
      CUmemGenericAllocationHandle h;
      if (vmm.create(&h, to - mapped, &vmm.prop, 0) != CUDA_SUCCESS)
        throw Error("out of GPU memory growing the KV cache to " + std::to_string(pages) + " pages", "serve fewer or shorter sequences, or lower --kv-memory");
      if (vmm.map(base + mapped, to - mapped, 0, h, 0) != CUDA_SUCCESS) throw Error("mapping KV-cache memory failed", "this is a bug in tsc's CUDA backend");
      CUmemAccessDesc acc{};
      acc.location = vmm.prop.location;
      acc.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
      if (vmm.access(base + mapped, to - mapped, &acc, 1) != CUDA_SUCCESS) throw Error("enabling KV-cache memory failed", "this is a bug in tsc's CUDA backend");
      mapped = to;
    }
  };
  Vmm vmm_;
  std::vector<KvArray> arrays_;
  int64_t mapped_pages_ = 0;

  // One KV array of num_pages_ pages: reserved address space where the driver supports it, else cudaMalloc.
  void* kv_array(size_t elem_bytes) {
    if (!vmm_.ok()) {
      void* p = nullptr;
      check(cudaMalloc(&p, elem_bytes * num_pages_), "allocating the KV cache (lower --kv-memory)");
      owned_.push_back(p);
      return p;
    }
    KvArray a;
    a.elem_bytes = elem_bytes;
    a.reserved = (elem_bytes * num_pages_ + vmm_.granularity - 1) / vmm_.granularity * vmm_.granularity;
    if (vmm_.reserve(&a.base, a.reserved, 0, 0, 0) != CUDA_SUCCESS)
      throw Error("reserving address space for the KV cache failed", "lower --kv-memory");
    arrays_.push_back(a);
    return reinterpret_cast<void*>(a.base);
  }


  // Blocks per (sequence, KV head): enough to fill the GPU twice over, at least 8 kept pages per block.
  int32_t decode_splits(int64_t nd, int32_t max_kept) const {
    if (nd == 0) return 1;
    const int64_t blocks = nd * s_.num_key_value_heads;
    int64_t s = (2 * prop_.multiProcessorCount + blocks - 1) / blocks;
    s = std::min<int64_t>(s, (max_kept + 7) / 8);
    return static_cast<int32_t>(std::clamp<int64_t>(s, 1, 32));
  }

  // TSC_PROFILE=1: eager steps time every launch with CUDA events (per kernel family), printed at exit.
  bool profiling_ = std::getenv("TSC_PROFILE") != nullptr;
  bool capturing_ = false;
  struct ProfEntry { double ms = 0; int64_t calls = 0; };
  std::map<std::string, ProfEntry> prof_;
  cudaEvent_t prof_begin_ = nullptr;
  void prof_check(cudaError_t e, const char* what) {
    check(e, what);
    if (!profiling_ || capturing_) return;
    cudaEvent_t end;
    check(cudaEventCreate(&end), "profiling");
    check(cudaEventRecord(end, stream_), "profiling");
    check(cudaEventSynchronize(end), "profiling");
    float ms = 0;
    if (prof_begin_) cudaEventElapsedTime(&ms, prof_begin_, end);
    auto& p = prof_[what];
    p.ms += ms;
    ++p.calls;
    if (prof_begin_) cudaEventDestroy(prof_begin_);
    prof_begin_ = end;
  }
  void print_profile() const {
    if (prof_.empty()) return;
    double total = 0;
    for (auto& [k, v] : prof_) total += v.ms;
    std::fprintf(stderr, "tsc profile (eager steps, CUDA events between launches):\n");
    for (auto& [k, v] : prof_)
      std::fprintf(stderr, "  %-20s %10.3f ms %8lld calls %8.1f us/call %5.1f%%\n", k.c_str(), v.ms, static_cast<long long>(v.calls),
                   1000.0 * v.ms / static_cast<double>(std::max<int64_t>(v.calls, 1)), 100.0 * v.ms / std::max(total, 1e-9));
  }

  // cuBLASLt, with the algorithm for each (M, N, K) chosen by timing the library's candidates once (the
  // default heuristic picked split-K plans that ran several times slower than a single pass at decode batches).
  struct LtPlan {
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
    cublasLtMatmulAlgo_t algo{};
    bool has_algo = false;
  };
  cublasLtHandle_t lt_ = nullptr;
  bool decode_step_ = false;  // the step being launched has no prefill rows (lt_matmul tunes only those shapes)
  // Keyed by (M, N, K, f32 output, decode step): a decode batch of M rows gets its own timed plan even after a
  // prefill of M tokens made an untimed one.
  std::map<std::tuple<int64_t, int64_t, int64_t, int32_t, bool>, LtPlan> lt_plans_;

  void lt_matmul(const void* x, int64_t M, int64_t K, const void* W, int64_t N, void* y, int32_t out_f32) {
    if (!lt_) check(cublasLtCreate(&lt_), "cublasLtCreate");
    const cudaDataType_t t = o_.weight_dtype == DType::kBF16 ? CUDA_R_16BF : CUDA_R_16F;
    const cudaDataType_t ct = out_f32 ? CUDA_R_32F : t;
    const float alpha = 1.f, beta = 0.f;
    auto key = std::make_tuple(M, N, K, out_f32, decode_step_);
    auto it = lt_plans_.find(key);
    if (it == lt_plans_.end()) {
      // Row-major y[M,N] = x[M,K] W^T is column-major y^T[N,M] = op_T(W as col-major [K,N]) x^T ([K,M]).
      LtPlan p;
      check(cublasLtMatmulDescCreate(&p.op, CUBLAS_COMPUTE_32F, CUDA_R_32F), "cublasLtMatmulDescCreate");
      const cublasOperation_t tr = CUBLAS_OP_T;
      check(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSA, &tr, sizeof tr), "cublasLt transa");
      check(cublasLtMatrixLayoutCreate(&p.a, t, static_cast<uint64_t>(K), static_cast<uint64_t>(N), K), "cublasLt layout");
      check(cublasLtMatrixLayoutCreate(&p.b, t, static_cast<uint64_t>(K), static_cast<uint64_t>(M), K), "cublasLt layout");
      check(cublasLtMatrixLayoutCreate(&p.c, ct, static_cast<uint64_t>(N), static_cast<uint64_t>(M), N), "cublasLt layout");
      cublasLtMatmulPreference_t pref;
      check(cublasLtMatmulPreferenceCreate(&pref), "cublasLt preference");
      const size_t ws = kBlasWorkspace;
      check(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws), "cublasLt preference");
      cublasLtMatmulHeuristicResult_t res[8];
      int n = 0;
      cublasLtMatmulAlgoGetHeuristic(lt_, p.op, p.a, p.b, p.c, p.c, pref, 8, res, &n);
      cublasLtMatmulPreferenceDestroy(pref);
      float best = 1e30f;
      // Decode steps' shapes repeat every step: time them. Prefill shapes (any prompt length) take the
      // heuristic's first choice: timing 8 candidates on a prompt's first step cost ~60 ms of its TTFT.
      const bool tune = M <= 512 && decode_step_ && !capturing_;
      for (int i = 0; i < n; ++i) {
        if (res[i].state != CUBLAS_STATUS_SUCCESS) continue;
        if (!tune) { p.algo = res[i].algo; p.has_algo = true; break; }
        cudaEvent_t e0, e1;
        cudaEventCreate(&e0);
        cudaEventCreate(&e1);
        bool ok = cublasLtMatmul(lt_, p.op, &alpha, W, p.a, x, p.b, &beta, y, p.c, y, p.c, &res[i].algo, blas_ws_, ws, stream_) == CUBLAS_STATUS_SUCCESS;
        cudaEventRecord(e0, stream_);
        for (int r = 0; ok && r < 3; ++r)
          ok = cublasLtMatmul(lt_, p.op, &alpha, W, p.a, x, p.b, &beta, y, p.c, y, p.c, &res[i].algo, blas_ws_, ws, stream_) == CUBLAS_STATUS_SUCCESS;
        cudaEventRecord(e1, stream_);
        cudaEventSynchronize(e1);
        float ms = 0;
        cudaEventElapsedTime(&ms, e0, e1);
        cudaEventDestroy(e0);
        cudaEventDestroy(e1);
        if (ok && ms < best) { best = ms; p.algo = res[i].algo; p.has_algo = true; }
      }
      it = lt_plans_.emplace(key, p).first;
    }
    const LtPlan& p = it->second;
    check(cublasLtMatmul(lt_, p.op, &alpha, W, p.a, x, p.b, &beta, y, p.c, y, p.c, p.has_algo ? &p.algo : nullptr, blas_ws_, kBlasWorkspace, stream_),
          "cublasLtMatmul");
  }

  // y[M, N] = x[M, K] W[N, K]^T (+ bias): generated GEMV for small M, cuBLAS otherwise.
  void linear(const void* x, int64_t M, int64_t K, const void* W, const float* bias, int64_t N, void* y, int32_t out_f32) {
    if (M == 0) return;
    if (M <= 8 && K % 8 == 0) {
      prof_check(kt_->gemv(x, static_cast<int32_t>(M), static_cast<int32_t>(K), W, bias, static_cast<int32_t>(N), y, out_f32, stream_), "gemv");
      return;
    }
    lt_matmul(x, M, K, W, N, y, out_f32);
    prof_check(cudaSuccess, "cublas gemm");
    if (bias) {
      if (out_f32) throw Error("LM head bias with cuBLAS output is not supported", "this is a bug in tsc's CUDA backend");
      prof_check(kt_->bias_act(y, bias, static_cast<int32_t>(M), static_cast<int32_t>(N), 0, stream_), "bias");
    }
  }
};

}  // namespace

int64_t default_cuda_kv_memory(const Payload& payload) {
  size_t free_b = 0, total_b = 0;
  check(cudaSetDevice(0), "selecting GPU 0");
  check(cudaMemGetInfo(&free_b, &total_b), "reading GPU memory");
  // Weights (the payload's tensors) still to be uploaded, 1 GiB for activations and cuBLAS, 90% of the rest.
  const int64_t left = static_cast<int64_t>(free_b) - static_cast<int64_t>(payload.total_bytes()) - (int64_t{1} << 30);
  return std::max<int64_t>(left, int64_t{256} << 20) / 10 * 9;
}

bool cuda_device_usable(std::string* why) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e == cudaErrorInsufficientDriver && access("/proc/driver/nvidia/version", R_OK) != 0) *why = "no NVIDIA driver is loaded";
  else if (e == cudaErrorInsufficientDriver) *why = "the NVIDIA driver is older than this executable's CUDA runtime";
  else if (e != cudaSuccess || n == 0) *why = std::string("no CUDA GPU is visible (") + cudaGetErrorString(e == cudaSuccess ? cudaErrorNoDevice : e) + ")";
  else {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) *why = "GPU 0's properties cannot be read";
    else if (prop.major < 8) *why = std::string("GPU '") + prop.name + "' is older than compute capability 8.0";
    else {
      *why = std::string("GPU 0: ") + prop.name;
      return true;
    }
  }
  cudaGetLastError();  // a failed probe must not leave a sticky error for later calls
  return false;
}

std::unique_ptr<Backend> make_cuda_backend(const Payload& payload, int64_t num_pages) {
  return std::make_unique<CudaBackend>(payload, num_pages);
}

}  // namespace tsc
