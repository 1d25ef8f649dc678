// Query-aware page selection inside the fused decode-attention kernels (shared by the tensor-core and the
// SIMT variant): the blocks of one (sequence, KV head) score disjoint slices of the candidate pages from
// their key bounds, meet at a barrier, then each selects the same top pages by radix select over the
// scores with the CPU target's tie rule (lower page index first).
#pragma once
#include "templates/cuda/common.cuh"
#include "templates/cuda/kernel_table.h"

namespace tsc::cuda {

constexpr int kDecodeThreads = 128;
constexpr int kDecodeWarps = kDecodeThreads / 32;

// Shared-memory scratch of the selection; lives in the kernel's static shared memory.
template <int TOP_K>
struct SelectShared {
  unsigned hist[256];
  int kept[TOP_K > 0 ? TOP_K : 1];
  int sel_bin, sel_need, run_eq, run_kept, warp_eq[kDecodeWarps], warp_keep[kDecodeWarps];
};

// Score of a page: Σ_g Σ_c max(q_gc·min_c, q_gc·max_c), an upper bound of Σ_g q_g·k for its keys; LPK lanes
// share a page, 8 channels each, and sum with shuffles.

// Selects the kept pages of one (sequence, KV head) into sh.kept (ascending; first and last included).
// Every block of the pair runs it: it scores candidates [lo, hi) of 1 .. n_pages - 2 into the global scratch
// row `scores_g`, waits for the pair's other `S` blocks at `arrive`, then reads every score back.
// scores_s: shared float [n_pages - 2]. Returns the number kept (= budget).
template <typename T, int D, int PS, int TOP_K, int GROUP>
__device__ int select_pages_coop(const DecodeArgs& a, const KvLayerDev& kv, const float (*q)[D], const int32_t* pt, int n_pages,
                                 int h, int split, int S, float* scores_g, int32_t* arrive, float* scores_s, SelectShared<TOP_K>& sh) {
  constexpr int LPK = D / 8, KPW = 32 / LPK;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, sg = lane / LPK, sl = lane % LPK;
  const int C = n_pages - 2;
  const int lo = static_cast<int>(static_cast<int64_t>(C) * split / S), hi = static_cast<int>(static_cast<int64_t>(C) * (split + 1) / S);
  const T* bounds = static_cast<const T*>(kv.bounds);
  const int hkv = kv.num_kv_heads;
  // Four page groups per warp iteration: 8 independent 16-byte bound loads in flight per lane (the loop is
  // latency-bound otherwise: a warp scores KPW pages per round trip).
  constexpr int U = 4;
  for (int base = lo + warp * KPW * U; base < hi; base += kDecodeWarps * KPW * U) {
    float mn[U][8], mx[U][8];
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int ci = base + u * KPW + sg;
      if (ci < hi) {
        const T* bp = bounds + (static_cast<int64_t>(pt[1 + ci]) * hkv + h) * 2 * D + sl * 8;
        load8(bp, mn[u]);
        load8(bp + D, mx[u]);
      }
    }
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int ci = base + u * KPW + sg;
      float s = 0.f;
      if (ci < hi) {
#pragma unroll
        for (int g = 0; g < GROUP; ++g)
#pragma unroll
          for (int i = 0; i < 8; ++i) {
            const float qc = q[g][sl * 8 + i];
            s += fmaxf(qc * mn[u][i], qc * mx[u][i]);
          }
      }
#pragma unroll
      for (int o = LPK / 2; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
      if (ci < hi && sl == 0) {
        if (S == 1) scores_s[ci] = s;
        else scores_g[ci] = s;
      }
    }
  }
  if (S > 1) {
    // Barrier of the pair's S blocks (all resident: the host caps the grid at the occupancy limit).
    __threadfence();
    __syncthreads();
    if (tid == 0) {
      atomicAdd(arrive, 1);
      while (atomicAdd(arrive, 0) < S) __nanosleep(64);
    }
    __syncthreads();
    for (int i = tid; i < C; i += kDecodeThreads) scores_s[i] = __ldcg(scores_g + i);
  }
  __syncthreads();
  // Radix-select the (budget - 2)-th largest score: 4 passes of 8 bits over order-preserving keys.
  const int want = a.budget - 2;
  uint32_t prefix = 0, mask = 0;
  int need = want;
  for (int shift = 24; shift >= 0; shift -= 8) {
    for (int i = tid; i < 256; i += kDecodeThreads) sh.hist[i] = 0;
    __syncthreads();
    for (int i = tid; i < C; i += kDecodeThreads) {
      const uint32_t key = ordered_bits(scores_s[i]);
      if ((key & mask) == prefix) atomicAdd(&sh.hist[(key >> shift) & 255u], 1u);
    }
    __syncthreads();
    // The highest bin whose count from the top reaches `need`: lane l of warp 0 owns bins [8l, 8l + 8);
    // a suffix scan over the lanes finds the one lane holding it, which scans its 8 bins (was one thread
    // over 256 bins, 4 times per step).
    if (warp == 0) {
      int local = 0;
#pragma unroll
      for (int i = 0; i < 8; ++i) local += static_cast<int>(sh.hist[lane * 8 + i]);
      int incl = local;  // candidates in the bins of lanes >= this one
#pragma unroll
      for (int o = 1; o < 32; o <<= 1) {
        const int v = __shfl_down_sync(0xffffffffu, incl, o);
        if (lane + o < 32) incl += v;
      }
      const int above = incl - local;
      const unsigned who = __ballot_sync(0xffffffffu, above < need && need <= incl);
      if (who == 0u) {  // need == 0 (budget 2): nothing beyond the first and last page
        if (lane == 0) {
          sh.sel_bin = 255;
          sh.sel_need = need;
        }
      } else if (lane == __ffs(who) - 1) {
        int cum = above, bin = lane * 8 + 7;
        for (; bin > lane * 8; --bin) {
          if (cum + static_cast<int>(sh.hist[bin]) >= need) break;
          cum += static_cast<int>(sh.hist[bin]);
        }
        sh.sel_bin = bin;
        sh.sel_need = need - cum;
      }
    }
    __syncthreads();
    prefix |= static_cast<uint32_t>(sh.sel_bin) << shift;
    mask |= 255u << shift;
    need = sh.sel_need;
    __syncthreads();
  }
  // Keys above the threshold are kept; of those equal to it, the `need` lowest page indices.
  if (tid == 0) {
    sh.run_eq = 0;
    sh.run_kept = 0;
    sh.kept[0] = 0;
    sh.kept[a.budget - 1] = n_pages - 1;
  }
  __syncthreads();
  const unsigned lt_mask = (1u << lane) - 1u;
  for (int base = 0; base < C; base += kDecodeThreads) {
    const int i = base + tid;
    const uint32_t key = i < C ? ordered_bits(scores_s[i]) : 0u;
    const bool gt = i < C && key > prefix, eq = i < C && key == prefix;
    const unsigned beq = __ballot_sync(0xffffffffu, eq);
    if (lane == 0) sh.warp_eq[warp] = __popc(beq);
    __syncthreads();
    int eq_before = sh.run_eq + __popc(beq & lt_mask);
    for (int w = 0; w < warp; ++w) eq_before += sh.warp_eq[w];
    const bool keep = gt || (eq && eq_before < need);
    const unsigned bk = __ballot_sync(0xffffffffu, keep);
    if (lane == 0) sh.warp_keep[warp] = __popc(bk);
    __syncthreads();
    int pos = sh.run_kept + __popc(bk & lt_mask);
    for (int w = 0; w < warp; ++w) pos += sh.warp_keep[w];
    if (keep) sh.kept[1 + pos] = 1 + i;
    __syncthreads();
    if (tid == 0)
      for (int w = 0; w < kDecodeWarps; ++w) {
        sh.run_eq += sh.warp_eq[w];
        sh.run_kept += sh.warp_keep[w];
      }
    __syncthreads();
  }
  return a.budget;
}

}  // namespace tsc::cuda
