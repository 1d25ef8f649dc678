// CUDA backend: the decoder forward pass over the generated CUDA kernel table and cuBLAS, weights and
// paged KV cache in device memory; host work per step is one metadata upload and the kernel launches.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
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
    for (void* w : owned_) cudaFree(w);
    if (stats_dev_) cudaFree(stats_dev_);
    if (blas_) cublasDestroy(blas_);
    if (stream_) cudaStreamDestroy(stream_);
    if (host_meta_) cudaFreeHost(host_meta_);
    if (host_logits_) cudaFreeHost(host_logits_);
  }

  const char* name() const override { return "cuda"; }

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

  void forward(std::span<const StepSeq> seqs, std::vector<float>& logits) override {
    const int64_t ps = o_.page_size;
    // ---- host metadata, packed into one upload ----
    std::vector<int32_t> tok, pos, units, rows;
    std::vector<int32_t> d_row, d_lens, d_pt, p_start, p_len, p_kv, p_pt;
    std::vector<int64_t> dec_budget;  // per decode sequence
    int32_t max_pages = 1, max_q = 0, max_kept = 1;
    for (auto& q : seqs) max_pages = std::max<int32_t>(max_pages, static_cast<int32_t>((q.kv->num_tokens + q.n + ps - 1) / ps));
    int64_t row = 0;
    for (auto& q : seqs) {
      if (q.decode && q.n != 1) throw Error("decode step with " + std::to_string(q.n) + " tokens", "this is a bug in the runtime");
      if (q.budget > o_.top_k_pages)
        throw Error("page budget " + std::to_string(q.budget) + " exceeds the compiled top-k capacity " + std::to_string(o_.top_k_pages),
                    "ask for at most " + std::to_string(o_.top_k_pages) + " pages, or rebuild with a larger --top-k-pages");
      if (q.budget == 1) throw Error("page budget 1 cannot keep both the first and the last page", "use a budget of at least 2, or 0 for dense attention");
      const int64_t start = q.kv->num_tokens, total = start + q.n;
      for (int64_t i = 0; i < q.n; ++i) {
        if (q.tokens[i] < 0 || q.tokens[i] >= V_)
          throw Error("token id " + std::to_string(q.tokens[i]) + " is outside the vocabulary [0, " + std::to_string(V_) + ")", "pass ids produced by this model's tokenizer");
        tok.push_back(q.tokens[i]);
        pos.push_back(static_cast<int32_t>(start + i));
      }
      if (s_.position == PositionKind::kLearned && total > p_.entry("embed_positions").shape[0])
        throw Error("position " + std::to_string(total - 1) + " exceeds the model's learned positions", "use shorter sequences");
      // Append units: one per page receiving tokens.
      for (int64_t t = start; t < total;) {
        const int64_t page_idx = t / ps, slot = t % ps, cnt = std::min(total - t, ps - slot);
        units.insert(units.end(), {static_cast<int32_t>(row + (t - start)), static_cast<int32_t>(cnt), q.kv->pages[page_idx], static_cast<int32_t>(slot)});
        t += cnt;
      }
      auto put_pages = [&](std::vector<int32_t>& pt) {
        const size_t at = pt.size();
        pt.resize(at + static_cast<size_t>(max_pages), 0);
        for (size_t j = 0; j < q.kv->pages.size() && j < static_cast<size_t>(max_pages); ++j) pt[at + j] = q.kv->pages[j];
      };
      if (q.decode) {
        d_row.push_back(static_cast<int32_t>(row));
        d_lens.push_back(static_cast<int32_t>(total));
        put_pages(d_pt);
        const int64_t np = (total + ps - 1) / ps;
        max_kept = std::max<int32_t>(max_kept, static_cast<int32_t>(q.budget > 0 ? std::min(np, q.budget) : np));
        dec_budget.push_back(q.budget);
      } else {
        p_start.push_back(static_cast<int32_t>(row));
        p_len.push_back(static_cast<int32_t>(q.n));
        p_kv.push_back(static_cast<int32_t>(start));
        put_pages(p_pt);
        max_q = std::max<int32_t>(max_q, static_cast<int32_t>(q.n));
      }
      if (q.all_logits) for (int64_t i = 0; i < q.n; ++i) rows.push_back(static_cast<int32_t>(row + i));
      else rows.push_back(static_cast<int32_t>(row + q.n - 1));
      row += q.n;
    }
    const int64_t T = row, R = static_cast<int64_t>(rows.size());
    // Pack metadata: tok, pos, units, rows, d_row, d_lens, d_pt, p_start, p_len, p_kv, p_pt.
    std::vector<std::vector<int32_t>*> parts = {&tok, &pos, &units, &rows, &d_row, &d_lens, &d_pt, &p_start, &p_len, &p_kv, &p_pt};
    size_t total_ints = 0;
    std::vector<size_t> offs;
    for (auto* v : parts) {
      offs.push_back(total_ints);
      total_ints += (v->size() + 31) / 32 * 32;  // 128-byte aligned sub-arrays
    }
    ensure_host_meta(total_ints * 4);
    for (size_t i = 0; i < parts.size(); ++i) std::memcpy(static_cast<int32_t*>(host_meta_) + offs[i], parts[i]->data(), parts[i]->size() * 4);
    meta_.reserve(std::max<size_t>(total_ints * 4, 128), "allocating step metadata");
    check(cudaMemcpyAsync(meta_.p, host_meta_, total_ints * 4, cudaMemcpyHostToDevice, stream_), "uploading step metadata");
    auto dev = [&](size_t i) { return meta_.as<int32_t>() + offs[i]; };
    const int32_t *d_tok = dev(0), *d_pos = dev(1), *d_units = dev(2), *d_rows = dev(3), *dd_row = dev(4), *dd_lens = dev(5), *dd_pt = dev(6),
                  *dp_start = dev(7), *dp_len = dev(8), *dp_kv = dev(9), *dp_pt = dev(10);

    // ---- activations ----
    const int64_t QKV = Q_ + 2 * KV_, U = s_.mlp_gated ? 2 * I_ : I_;
    x_.reserve(T * H_ * 4, "activations");
    h_.reserve(T * H_ * esize_, "activations");
    qkv_.reserve(T * QKV * esize_, "activations");
    attn_.reserve(T * Q_ * esize_, "activations");
    o_buf_.reserve(T * H_ * esize_, "activations");
    up_.reserve(T * U * esize_, "activations");
    act_.reserve(T * I_ * esize_, "activations");
    mlp_.reserve(T * H_ * esize_, "activations");
    sel_.reserve(std::max<int64_t>(R, 1) * H_ * esize_, "activations");
    logits_dev_.reserve(std::max<int64_t>(R, 1) * V_ * 4, "logits");
    const int64_t nd = static_cast<int64_t>(d_row.size());
    const int32_t splits = decode_splits(nd, max_kept);
    part_o_.reserve(std::max<int64_t>(nd, 1) * s_.num_attention_heads * splits * s_.head_dim * 4, "decode scratch");
    part_ml_.reserve(std::max<int64_t>(nd, 1) * s_.num_attention_heads * splits * 2 * 4, "decode scratch");
    if (counters_cap_ < nd * s_.num_key_value_heads) {
      counters_buf_.reserve(std::max<int64_t>(nd, 1) * s_.num_key_value_heads * 4, "decode scratch");
      check(cudaMemsetAsync(counters_buf_.p, 0, counters_buf_.bytes, stream_), "clearing decode counters");
      counters_cap_ = static_cast<int64_t>(counters_buf_.bytes / 4);
    }
    const void* pos_table = s_.position == PositionKind::kLearned ? dev_weight("embed_positions") : nullptr;
    check(kt_->embed(d_tok, d_pos, static_cast<int32_t>(T), dev_weight("embed_tokens"), pos_table, static_cast<int32_t>(H_), x_.as<float>(), stream_), "embed");
    const float eps = static_cast<float>(s_.norm_eps);
    const int32_t rms = s_.norm == NormKind::kRMSNorm ? 1 : 0;
    const float* inv_freq = s_.position == PositionKind::kRope ? static_cast<const float*>(dev_weight("rope_inv_freq")) : nullptr;
    const void* delta = nullptr;
    for (int64_t l = 0; l < s_.num_hidden_layers; ++l) {
      const LayerDev& L = layers_[l];
      check(kt_->add_norm(x_.as<float>(), delta, L.attn_norm_w, L.attn_norm_b, eps, rms, static_cast<int32_t>(T), static_cast<int32_t>(H_), h_.p, stream_), "add_norm");
      linear(h_.p, T, H_, L.qkv_w, L.qkv_b, QKV, qkv_.p, 0);
      cuda::RopeQArgs rq{qkv_.p, static_cast<int32_t>(QKV), static_cast<int32_t>(T), static_cast<int32_t>(s_.num_attention_heads), d_pos, inv_freq};
      check(kt_->rope_q(rq, stream_), "rope_q");
      cuda::AppendArgs ap{qkv_.p, static_cast<int32_t>(QKV), static_cast<int32_t>(s_.num_attention_heads), static_cast<int32_t>(s_.num_key_value_heads),
                          d_pos, inv_freq, d_units, static_cast<int32_t>(units.size() / 4)};
      check(kt_->append_kv(ap, L.kv, stream_), "append_kv");
      if (nd > 0) {
        // Sequences are grouped by budget runs so that one launch has one budget (usually all equal).
        int64_t i = 0;
        while (i < nd) {
          int64_t j = i;
          while (j < nd && dec_budget[j] == dec_budget[i]) ++j;
          const int32_t budget = l < o_.dense_layers ? 0 : static_cast<int32_t>(dec_budget[i]);
          cuda::DecodeArgs da{qkv_.p, static_cast<int32_t>(QKV), dd_row + i, attn_.p, static_cast<int32_t>(Q_), static_cast<int32_t>(j - i),
                              static_cast<int32_t>(s_.num_attention_heads), dd_pt + i * max_pages, max_pages, dd_lens + i,
                              static_cast<float>(s_.attention_scale), budget, splits, part_o_.as<float>(), part_ml_.as<float>(),
                              counters_buf_.as<int32_t>(), stats_dev_ + 3 * l};
          check(kt_->decode_attention(da, L.kv, stream_), "decode_attention");
          i = j;
        }
      }
      if (!p_start.empty()) {
        cuda::PrefillArgs pa{qkv_.p, static_cast<int32_t>(QKV), attn_.p, static_cast<int32_t>(Q_), static_cast<int32_t>(p_start.size()),
                             static_cast<int32_t>(s_.num_attention_heads), dp_start, dp_len, dp_kv, dp_pt, max_pages, max_q,
                             static_cast<float>(s_.attention_scale)};
        check(kt_->prefill_attention(pa, L.kv, stream_), "prefill_attention");
      }
      linear(attn_.p, T, Q_, L.o_w, L.o_b, H_, o_buf_.p, 0);
      check(kt_->add_norm(x_.as<float>(), o_buf_.p, L.mlp_norm_w, L.mlp_norm_b, eps, rms, static_cast<int32_t>(T), static_cast<int32_t>(H_), h_.p, stream_), "add_norm");
      if (s_.mlp_gated) {
        linear(h_.p, T, H_, L.up_w, nullptr, U, up_.p, 0);
        check(kt_->silu_mul(up_.p, L.up_b, static_cast<int32_t>(T), static_cast<int32_t>(I_), act_.p, stream_), "silu_mul");
      } else {
        linear(h_.p, T, H_, L.up_w, nullptr, U, act_.p, 0);
        check(kt_->bias_act(act_.p, L.up_b, static_cast<int32_t>(T), static_cast<int32_t>(I_), s_.activation == Activation::kGeluTanh ? 1 : 2, stream_), "bias_act");
      }
      linear(act_.p, T, I_, L.down_w, L.down_b, H_, mlp_.p, 0);
      delta = mlp_.p;
    }
    const float* fw = p_.has("final_norm_w") ? static_cast<const float*>(dev_weight("final_norm_w")) : nullptr;
    const float* fb = p_.has("final_norm_b") ? static_cast<const float*>(dev_weight("final_norm_b")) : nullptr;
    check(kt_->add_norm(x_.as<float>(), delta, fw, fb, eps, rms, static_cast<int32_t>(T), static_cast<int32_t>(H_), h_.p, stream_), "final norm");
    check(kt_->gather_rows(h_.p, d_rows, static_cast<int32_t>(R), static_cast<int32_t>(H_), sel_.p, stream_), "gather_rows");
    const float* head_b = p_.has("lm_head_b") ? static_cast<const float*>(dev_weight("lm_head_b")) : nullptr;
    linear(sel_.p, R, H_, dev_weight("lm_head"), head_b, V_, logits_dev_.p, 1);
    ensure_host_logits(static_cast<size_t>(R * V_) * 4);
    check(cudaMemcpyAsync(host_logits_, logits_dev_.p, static_cast<size_t>(R * V_) * 4, cudaMemcpyDeviceToHost, stream_), "downloading logits");
    check(cudaStreamSynchronize(stream_), "running the step");
    logits.assign(static_cast<const float*>(host_logits_), static_cast<const float*>(host_logits_) + R * V_);
  }

 private:
  const Payload& p_;
  const DecoderSpec& s_;
  const BuildOptions& o_;
  int64_t num_pages_;
  const cuda::KernelTable* kt_ = nullptr;
  cudaDeviceProp prop_{};
  cudaStream_t stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  int64_t H_ = 0, Q_ = 0, KV_ = 0, I_ = 0, V_ = 0;
  size_t esize_ = 2;
  std::vector<void*> owned_;
  std::map<std::string, void*> weights_;
  std::vector<LayerDev> layers_;
  unsigned long long* stats_dev_ = nullptr;
  mutable SelectionCounters counters_;
  DevBuf meta_, x_, h_, qkv_, attn_, o_buf_, up_, act_, mlp_, sel_, logits_dev_, part_o_, part_ml_, counters_buf_;
  int64_t counters_cap_ = 0;
  void* host_meta_ = nullptr;
  size_t host_meta_bytes_ = 0;
  void* host_logits_ = nullptr;
  size_t host_logits_bytes_ = 0;

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

  void alloc_kv() {
    for (auto& L : layers_) {
      void *k = nullptr, *v = nullptr, *b = nullptr;
      check(cudaMalloc(&k, page_bytes() * num_pages_), "allocating the KV cache (lower --kv-memory)");
      check(cudaMalloc(&v, page_bytes() * num_pages_), "allocating the KV cache (lower --kv-memory)");
      check(cudaMalloc(&b, bound_bytes() * num_pages_), "allocating the KV cache (lower --kv-memory)");
      owned_.insert(owned_.end(), {k, v, b});
      L.kv = cuda::KvLayerDev{k, v, b, static_cast<int32_t>(s_.num_key_value_heads)};
    }
  }

  void ensure_host_meta(size_t bytes) {
    if (bytes <= host_meta_bytes_) return;
    if (host_meta_) {
      check(cudaStreamSynchronize(stream_), "resizing pinned buffers");
      cudaFreeHost(host_meta_);
    }
    check(cudaMallocHost(&host_meta_, bytes * 2), "allocating pinned host memory");
    host_meta_bytes_ = bytes * 2;
  }
  void ensure_host_logits(size_t bytes) {
    if (bytes <= host_logits_bytes_) return;
    if (host_logits_) cudaFreeHost(host_logits_);
    check(cudaMallocHost(&host_logits_, bytes), "allocating pinned host memory");
    host_logits_bytes_ = bytes;
  }

  // Blocks per (sequence, KV head): enough to fill the GPU twice over, at least 8 kept pages per block.
  int32_t decode_splits(int64_t nd, int32_t max_kept) const {
    if (nd == 0) return 1;
    const int64_t blocks = nd * s_.num_key_value_heads;
    int64_t s = (2 * prop_.multiProcessorCount + blocks - 1) / blocks;
    s = std::min<int64_t>(s, (max_kept + 7) / 8);
    return static_cast<int32_t>(std::clamp<int64_t>(s, 1, 32));
  }

  // y[M, N] = x[M, K] W[N, K]^T (+ bias): generated GEMV for small M, cuBLAS otherwise.
  void linear(const void* x, int64_t M, int64_t K, const void* W, const float* bias, int64_t N, void* y, int32_t out_f32) {
    if (M == 0) return;
    if (M <= 8 && K % 8 == 0) {
      check(kt_->gemv(x, static_cast<int32_t>(M), static_cast<int32_t>(K), W, bias, static_cast<int32_t>(N), y, out_f32, stream_), "gemv");
      return;
    }
    const float alpha = 1.f, beta = 0.f;
    const cudaDataType_t t = o_.weight_dtype == DType::kBF16 ? CUDA_R_16BF : CUDA_R_16F;
    // Row-major y[M,N] = x[M,K] W^T is column-major y^T[N,M] = W[N,K] (as col-major [K,N], transposed) x^T.
    check(cublasGemmEx(blas_, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(N), static_cast<int>(M), static_cast<int>(K), &alpha, W, t,
                       static_cast<int>(K), x, t, static_cast<int>(K), &beta, y, out_f32 ? CUDA_R_32F : t, static_cast<int>(N),
                       CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
          "cublasGemmEx");
    if (bias) {
      if (out_f32) throw Error("LM head bias with cuBLAS output is not supported", "this is a bug in tsc's CUDA backend");
      check(kt_->bias_act(y, bias, static_cast<int32_t>(M), static_cast<int32_t>(N), 0, stream_), "bias");
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

std::unique_ptr<Backend> make_cuda_backend(const Payload& payload, int64_t num_pages) {
  return std::make_unique<CudaBackend>(payload, num_pages);
}

}  // namespace tsc
