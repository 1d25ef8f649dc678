// The key bound page score on the CUDA target (tsc --page-score bound; DESIGN.md "Page scores"): a page is scored
// by the box bound of Σ_g q_g·k from its channel min/max, which every page keeps anyway; no summary, no hook.
#pragma once
#include "templates/cuda/page_score.cuh"

namespace tsc::cuda {

template <typename T, int D, int PS, int GROUP>
struct PageScoreBound {
  static constexpr int kSummaryWords = 0;
  static constexpr int kScratch = 1;
  using AppendShared = NoScoreShared;
  using SelectShared = NoScoreShared;

  __device__ __forceinline__ static void append(const T*, float, float, int, uint32_t*, AppendShared&) {}

  // Score of a page: Σ_g Σ_c max(q_gc·min_c, q_gc·max_c), an upper bound of Σ_g q_g·k for its keys. Per channel
  // the group's terms sum to max_c·P_c + min_c·N_c with P_c = Σ_g max(q_gc, 0) and N_c = Σ_g min(q_gc, 0), so a
  // page costs two FMAs per channel whatever the group (was 2·GROUP products and maxes: ncu put 15% of the
  // selecting kernel's stalls there). LPK lanes share a page, 8 channels each, and sum with shuffles. With one
  // block per pair (S == 1) the scores go straight to scores_s, else to the global scratch row.
  __device__ __forceinline__ static void score(const DecodeArgs&, const KvLayerDev& kv, const float (*q)[D], const int32_t* pt, int h, int lo,
                                               int hi, int S, float* scores_g, float* scores_s, SelectShared&) {
    constexpr int LPK = D / 8, KPW = 32 / LPK;
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, sg = lane / LPK, sl = lane % LPK;
    const T* bounds = static_cast<const T*>(kv.bounds);
    const int hkv = kv.num_kv_heads;
    float qp[8], qn[8];  // this lane's channels sl*8 .. sl*8+7: P_c and N_c
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      qp[i] = 0.f;
      qn[i] = 0.f;
#pragma unroll
      for (int g = 0; g < GROUP; ++g) {
        const float v = q[g][sl * 8 + i];
        qp[i] += fmaxf(v, 0.f);
        qn[i] += fminf(v, 0.f);
      }
    }
    // Six page groups per warp iteration: 12 independent 16-byte bound loads in flight per lane, kept as raw
    // vectors until used (the loop is latency-bound: a warp scores KPW pages per round trip).
    constexpr int U = 6;
    for (int base = lo + warp * KPW * U; base < hi; base += kDecodeWarps * KPW * U) {
      uint4 mn[U], mx[U];
#pragma unroll
      for (int u = 0; u < U; ++u) {
        const int ci = base + u * KPW + sg;
        if (ci < hi) {
          const T* bp = bounds + (static_cast<int64_t>(pt[1 + ci]) * hkv + h) * 2 * D + sl * 8;
          mn[u] = *reinterpret_cast<const uint4*>(bp);
          mx[u] = *reinterpret_cast<const uint4*>(bp + D);
        }
      }
#pragma unroll
      for (int u = 0; u < U; ++u) {
        const int ci = base + u * KPW + sg;
        float s = 0.f;
        if (ci < hi) {
          const T* e_mn = reinterpret_cast<const T*>(&mn[u]);
          const T* e_mx = reinterpret_cast<const T*>(&mx[u]);
#pragma unroll
          for (int i = 0; i < 8; ++i) s += Elem<T>::to_float(e_mx[i]) * qp[i] + Elem<T>::to_float(e_mn[i]) * qn[i];
        }
#pragma unroll
        for (int o = LPK / 2; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
        if (ci < hi && sl == 0) {
          if (S == 1) scores_s[ci] = s;
          else scores_g[ci] = s;
        }
      }
    }
  }

  __device__ __forceinline__ static void finish(const DecodeArgs&, int C, int S, const float* scores_g, float* scores_s, SelectShared&) {
    if (S > 1)
      for (int i = threadIdx.x; i < C; i += kDecodeThreads) scores_s[i] = load_cg(scores_g + i);
  }
};

template <>
struct PageScoreImpl<kPageScoreBound> {
  template <typename T, int D, int PS, int GROUP>
  using type = PageScoreBound<T, D, PS, GROUP>;
};

}  // namespace tsc::cuda
