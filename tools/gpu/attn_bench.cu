// Kernel-level benchmark and check of decode attention on the GPU: the fused selecting kernel and the dense
// paged kernel on the same random paged KV cache, timed with CUDA events, with bytes moved and achieved
// bandwidth; outputs checked against the CPU target's kernels (templates/cpu) on the same fp16 data.
//
// Build (tools/gpu/check.py does this): nvcc -std=c++17 -O3 -arch=sm_90 -I. tools/gpu/attn_bench.cu -o attn_bench
// (-DTSC_BENCH_SCORE=1: pages scored by the key sketch, coded on the host with the append kernel's rule)
// Usage: attn_bench [--batch 16] [--context 32768] [--budget-tokens 2048] [--iters 50] [--check-seqs 2]
// Shapes: 32 query heads on 4 KV heads, head dim 64, page 16 (compile-time, as a generated build would be).
#include <cuda_fp16.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "templates/cpu/attention.h"
#include "templates/cuda/kernels.cuh"
#include "templates/cuda/page_sketch_code.cuh"

#ifndef TSC_BENCH_SCORE
#define TSC_BENCH_SCORE 0  // the page score (PageScore): 0 the key bound, 1 the key sketch
#endif

namespace {

constexpr int D = 64, PS = 16, HQ = 32, HKV = 4, G = HQ / HKV, TOPK = 512, SC = TSC_BENCH_SCORE;

#define CK(x)                                                                                 \
  do {                                                                                        \
    cudaError_t e_ = (x);                                                                     \
    if (e_ != cudaSuccess) {                                                                  \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
      std::exit(2);                                                                           \
    }                                                                                         \
  } while (0)

// The same launcher a generated build uses (split cap, shared-memory setup, tensor-core or SIMT body).
struct Config {
  static constexpr const char* kKey = "bench";
  static constexpr int kHeadDim = D, kPageSize = PS, kTopK = TOPK, kGroup = G, kRotaryDim = 0, kRopeInterleaved = 0, kNorm = 1, kActivation = 2;
  static constexpr int kQ4Block = 0;  // no 4-bit weights (the template asks since MatMulNBits support)
  static constexpr int kPageScore = SC;
  using Weight = half;
  using Q4Scale = half;
};
using K_ = tsc::cuda::Kernels<Config>;
constexpr int kWords = K_::Score::kSummaryWords;

// The sketch of every page and KV head (kWords each), as the append kernel codes it (page_sketch_code.cuh).
void code_pages(const std::vector<half>& K, const std::vector<half>& Bnd, int64_t num_pages, std::vector<uint32_t>& S) {
  for (int64_t ph = 0; ph < num_pages * HKV; ++ph) {
    const half* k = K.data() + ph * PS * D;
    const half* b = Bnd.data() + ph * 2 * D;
    uint32_t* s = S.data() + ph * kWords;
    float w[D];
    for (int c = 0; c < D; ++c) w[c] = tsc::cuda::sketch_half_width(__half2float(b[c]), __half2float(b[D + c]));
    for (int c = 0; c < D; ++c)
      if (tsc::cuda::sketch_channel_coded<D>(w, c)) s[c / 32] |= 1u << (c % 32);
    for (int c = 0; c < D; ++c)
      if (s[c / 32] >> (c % 32) & 1u)
        tsc::cuda::sketch_code_channel<D, PS>(
            s, c, __half2float(b[c]), w[c], [&](int slot) { return __half2float(k[slot * D + c]); }, [&](int word, uint32_t bit) { s[word] |= bit; });
  }
}

template <bool SELECT>
float time_kernel(tsc::cuda::DecodeArgs a, tsc::cuda::KvLayerDev kv, int iters, size_t) {
  auto launch = [&] { CK(K_::decode_launch<SELECT>(a, kv, nullptr)); };
  for (int i = 0; i < 3; ++i) launch();
  CK(cudaGetLastError());
  CK(cudaDeviceSynchronize());
  std::vector<float> ms;
  cudaEvent_t e0, e1;
  CK(cudaEventCreate(&e0));
  CK(cudaEventCreate(&e1));
  for (int i = 0; i < iters; ++i) {
    CK(cudaEventRecord(e0));
    launch();
    CK(cudaEventRecord(e1));
    CK(cudaEventSynchronize(e1));
    float t = 0;
    CK(cudaEventElapsedTime(&t, e0, e1));
    ms.push_back(t);
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int B = 16, L = 32768, budget_tokens = 2048, iters = 50, check_seqs = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (k == "--batch") B = v;
    else if (k == "--context") L = v;
    else if (k == "--budget-tokens") budget_tokens = v;
    else if (k == "--iters") iters = v;
    else if (k == "--check-seqs") check_seqs = v;
  }
  const int pages_per_seq = (L + PS - 1) / PS, budget = budget_tokens / PS;
  if (budget > TOPK) { std::fprintf(stderr, "budget %d pages exceeds TOPK %d\n", budget, TOPK); return 2; }
  const int64_t num_pages = static_cast<int64_t>(B) * pages_per_seq;
  const size_t page_elems = static_cast<size_t>(HKV) * PS * D, bound_elems = static_cast<size_t>(HKV) * 2 * D;
  std::printf("decode attention: batch %d, context %d, page %d, heads %d/%d, head dim %d, budget %d tokens (%d pages)\n", B, L, PS, HQ, HKV, D,
              budget_tokens, budget);
  // Random fp16 data; keys with a per-page offset so that pages differ in relevance (as real keys do).
  std::mt19937_64 rng(42);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<half> K(num_pages * page_elems), V(num_pages * page_elems), Bnd(num_pages * bound_elems), Q(static_cast<size_t>(B) * HQ * D);
  for (int64_t p = 0; p < num_pages; ++p) {
    float shift[HKV][D];
    for (auto& row : shift)
      for (auto& x : row) x = 0.5f * nd(rng);
    for (int h = 0; h < HKV; ++h)
      for (int s = 0; s < PS; ++s)
        for (int c = 0; c < D; ++c) {
          const size_t at = (static_cast<size_t>(p) * HKV + h) * PS * D + s * D + c;
          K[at] = __float2half(nd(rng) + shift[h][c]);
          V[at] = __float2half(nd(rng));
        }
  }
  for (auto& q : Q) q = __float2half(nd(rng));
  // Page tables: each sequence owns a shuffled set of pages (the runtime's pool hands out arbitrary ids).
  std::vector<int32_t> ids(num_pages);
  for (int64_t i = 0; i < num_pages; ++i) ids[i] = static_cast<int32_t>(i);
  std::shuffle(ids.begin(), ids.end(), rng);
  std::vector<int32_t> pt(ids.begin(), ids.end()), lens(B, L), qrow(B);
  for (int b = 0; b < B; ++b) qrow[b] = b;
  // Bounds: channel min/max over each page's stored keys (exact in fp16).
  for (int64_t p = 0; p < num_pages; ++p)
    for (int h = 0; h < HKV; ++h)
      for (int c = 0; c < D; ++c) {
        float mn = INFINITY, mx = -INFINITY;
        for (int s = 0; s < PS; ++s) {
          const float x = __half2float(K[(static_cast<size_t>(p) * HKV + h) * PS * D + s * D + c]);
          mn = std::min(mn, x);
          mx = std::max(mx, x);
        }
        Bnd[(static_cast<size_t>(p) * HKV + h) * 2 * D + c] = __float2half(mn);
        Bnd[(static_cast<size_t>(p) * HKV + h) * 2 * D + D + c] = __float2half(mx);
      }
  std::vector<uint32_t> Sk(static_cast<size_t>(num_pages) * HKV * kWords, 0u);
  if (kWords > 0) code_pages(K, Bnd, num_pages, Sk);
  uint32_t* dS = nullptr;
  if (kWords > 0) {
    CK(cudaMalloc(&dS, Sk.size() * 4));
    CK(cudaMemcpy(dS, Sk.data(), Sk.size() * 4, cudaMemcpyHostToDevice));
  }
  half *dK, *dV, *dB, *dQ, *dO, *dO2;
  int32_t *dpt, *dlen, *drow, *dcnt, *darr;
  float *dpo, *dpml, *dsc;
  const int max_splits = 32;
  CK(cudaMalloc(&dK, K.size() * 2));
  CK(cudaMalloc(&dV, V.size() * 2));
  CK(cudaMalloc(&dB, Bnd.size() * 2));
  CK(cudaMalloc(&dQ, Q.size() * 2));
  CK(cudaMalloc(&dO, Q.size() * 2));
  CK(cudaMalloc(&dO2, Q.size() * 2));
  CK(cudaMalloc(&dpt, pt.size() * 4));
  CK(cudaMalloc(&dlen, B * 4));
  CK(cudaMalloc(&drow, B * 4));
  CK(cudaMalloc(&dcnt, B * HKV * 4));
  CK(cudaMalloc(&darr, B * HKV * 4));
  CK(cudaMalloc(&dsc, static_cast<size_t>(B) * HKV * pages_per_seq * K_::Score::kScratch * 4));
  CK(cudaMemset(darr, 0, B * HKV * 4));
  CK(cudaMalloc(&dpo, static_cast<size_t>(B) * HQ * max_splits * D * 4));
  CK(cudaMalloc(&dpml, static_cast<size_t>(B) * HQ * max_splits * 2 * 4));
  CK(cudaMemcpy(dK, K.data(), K.size() * 2, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(dV, V.data(), V.size() * 2, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(dB, Bnd.data(), Bnd.size() * 2, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(dQ, Q.data(), Q.size() * 2, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(dpt, pt.data(), pt.size() * 4, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(dlen, lens.data(), B * 4, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(drow, qrow.data(), B * 4, cudaMemcpyHostToDevice));
  CK(cudaMemset(dcnt, 0, B * HKV * 4));
  int sms = 0;
  CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  tsc::cuda::KvLayerDev kv{dK, dV, dB, HKV, dS};
  auto args = [&](half* out, int bud, int splits) {
    return tsc::cuda::DecodeArgs{dQ, HQ * D, drow, out, HQ * D, B, HQ, dpt, pages_per_seq, dlen, 1.f / 8.f, bud, splits, dpo, dpml, dcnt, nullptr, nullptr,
                                 dsc, darr, nullptr};
  };
  const size_t smem = 0;
  auto splits_for = [&](int kept) { return std::clamp((4 * sms + B * HKV - 1) / (B * HKV), 1, std::max(1, std::min(max_splits, (kept + 3) / 4))); };
  const int s_sparse = splits_for(budget), s_dense = splits_for(pages_per_seq);
  const float t_sparse = time_kernel<true>(args(dO, budget, s_sparse), kv, iters, smem);
  const float t_dense = time_kernel<false>(args(dO2, 0, s_dense), kv, iters, smem);
  // Bytes each must read at least once: dense = all K and V; sparse = all bounds (and codes) + the kept pages' K and V.
  const double kv_bytes = static_cast<double>(B) * HKV * pages_per_seq * PS * D * 2 * 2;
  const double bound_bytes = static_cast<double>(B) * HKV * pages_per_seq * (2 * D * 2 + kWords * 4);  // bounds (+ sketch)
  const double kept_bytes = static_cast<double>(B) * HKV * budget * PS * D * 2 * 2;
  const double sparse_floor = bound_bytes + kept_bytes;
  std::printf("sparse fused: %.1f us (%d splits), %.0f MB floor, %.2f TB/s\n", t_sparse * 1e3, s_sparse, sparse_floor / 1e6, sparse_floor / (t_sparse * 1e-3) / 1e12);
  std::printf("dense paged:  %.1f us (%d splits), %.0f MB floor, %.2f TB/s\n", t_dense * 1e3, s_dense, kv_bytes / 1e6, kv_bytes / (t_dense * 1e-3) / 1e12);
  std::printf("speedup sparse vs dense: %.2fx\n", t_dense / t_sparse);
  // Check against the CPU kernels on the same (fp16) data for a few sequences.
  std::vector<half> O(Q.size()), O2(Q.size());
  CK(cudaMemcpy(O.data(), dO, O.size() * 2, cudaMemcpyDeviceToHost));
  CK(cudaMemcpy(O2.data(), dO2, O2.size() * 2, cudaMemcpyDeviceToHost));
  double worst_sparse = 0, worst_dense = 0;
  for (int b = 0; b < std::min(B, check_seqs); ++b) {
    // The CPU kernels read float pages indexed by page id: copy this sequence's pages into a compact cache.
    std::vector<float> k(static_cast<size_t>(pages_per_seq) * page_elems), v(k.size()), bnd(static_cast<size_t>(pages_per_seq) * bound_elems);
    std::vector<uint32_t> sk(static_cast<size_t>(pages_per_seq) * HKV * kWords);
    std::vector<int32_t> own(pages_per_seq);
    for (int j = 0; j < pages_per_seq; ++j) {
      own[j] = j;
      const int64_t p = pt[static_cast<size_t>(b) * pages_per_seq + j];
      for (size_t e = 0; e < page_elems; ++e) {
        k[j * page_elems + e] = __half2float(K[p * page_elems + e]);
        v[j * page_elems + e] = __half2float(V[p * page_elems + e]);
      }
      for (size_t e = 0; e < bound_elems; ++e) bnd[j * bound_elems + e] = __half2float(Bnd[p * bound_elems + e]);
      std::copy_n(Sk.begin() + p * HKV * kWords, HKV * kWords, sk.begin() + static_cast<size_t>(j) * HKV * kWords);
    }
    std::vector<float> q(HQ * D), ref(HQ * D), ref_dense(HQ * D);
    for (int i = 0; i < HQ * D; ++i) q[i] = __half2float(Q[static_cast<size_t>(b) * HQ * D + i]);
    tsc::cpu::KvLayer ckv{k.data(), v.data(), bnd.data(), HKV, kWords > 0 ? sk.data() : nullptr};
    tsc::cpu::SeqPages sp{own.data(), L};
    tsc::cpu::attend_decode<D, PS, TOPK, G, SC>(ckv, sp, HQ, 1.f / 8.f, budget, {}, q.data(), ref.data(), nullptr);
    tsc::cpu::attend_decode<D, PS, TOPK, G, tsc::cpu::kPageScoreBound>(ckv, sp, HQ, 1.f / 8.f, 0, {}, q.data(), ref_dense.data(), nullptr);
    double num = 0, den = 0, num2 = 0, den2 = 0;
    for (int i = 0; i < HQ * D; ++i) {
      const double g = __half2float(O[static_cast<size_t>(b) * HQ * D + i]), g2 = __half2float(O2[static_cast<size_t>(b) * HQ * D + i]);
      num += (g - ref[i]) * (g - ref[i]);
      den += ref[i] * ref[i];
      num2 += (g2 - ref_dense[i]) * (g2 - ref_dense[i]);
      den2 += ref_dense[i] * ref_dense[i];
    }
    worst_sparse = std::max(worst_sparse, std::sqrt(num / den));
    worst_dense = std::max(worst_dense, std::sqrt(num2 / den2));
  }
  const bool ok = worst_sparse < 1e-2 && worst_dense < 1e-2;
  std::printf("check vs CPU kernels (%d seqs): sparse rel err %.2e, dense rel err %.2e -> %s\n", std::min(B, check_seqs), worst_sparse, worst_dense, ok ? "ok" : "FAIL");
  std::printf("{\"page_score\": %d, \"batch\": %d, \"context\": %d, \"budget_tokens\": %d, \"sparse_us\": %.2f, \"dense_us\": %.2f, \"sparse_floor_mb\": %.2f, "
              "\"dense_floor_mb\": %.2f, \"sparse_splits\": %d, \"dense_splits\": %d, \"sparse_err\": %.3e, \"dense_err\": %.3e}\n",
              SC, B, L, budget_tokens, t_sparse * 1e3, t_dense * 1e3, sparse_floor / 1e6, kv_bytes / 1e6, s_sparse, s_dense, worst_sparse, worst_dense);
  return ok ? 0 : 1;
}
