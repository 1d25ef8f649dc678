// Query-aware page selection inside the fused decode-attention kernels (shared by the tensor-core and the
// SIMT variant): the blocks of one (sequence, KV head) score disjoint slices of the candidate pages with the
// build's page score (page_score.cuh: the key bound or the key sketch), meet at a barrier, then each selects the
// same top pages by radix select over the scores with the CPU target's tie rule (lower page index first).
#pragma once
#include "templates/cuda/common.cuh"
#include "templates/cuda/kernel_table.h"
#include "templates/cuda/page_score_bound.cuh"
#include "templates/cuda/page_score_sketch.cuh"

namespace tsc::cuda {

// Shared-memory scratch of the selection; lives in the kernel's static shared memory.
template <int TOP_K, typename ScoreShared = NoScoreShared>
struct SelectShared {
  unsigned hist[256];
  int kept[TOP_K > 0 ? TOP_K + kSelectReuseExtraPages : 1];  // a reused set adds the pages begun since its scoring
  int sel_bin, sel_need, warp_eq[kDecodeWarps], warp_keep[kDecodeWarps];
  ScoreShared score;  // the page score's scratch
};

// Block-wide exclusive prefix sum of one int per thread (kDecodeThreads threads). warp_tot: [kDecodeWarps]
// shared scratch.
__device__ __forceinline__ int block_exclusive_scan(int v, int* warp_tot) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  int incl = v;
#pragma unroll
  for (int o = 1; o < 32; o <<= 1) {
    const int t = __shfl_up_sync(0xffffffffu, incl, o);
    if (lane >= o) incl += t;
  }
  if (lane == 31) warp_tot[warp] = incl;
  __syncthreads();
  int before = 0;
#pragma unroll
  for (int w = 0; w < kDecodeWarps; ++w) before += w < warp ? warp_tot[w] : 0;
  __syncthreads();  // warp_tot may be reused
  return before + incl - v;
}

// Selects the kept pages of one (sequence, KV head) into sh.kept (ascending; first and last included).
// Every block of the pair runs it: it scores candidates [lo, hi) of 1 .. n_pages - 2 with the page score `Score`
// (into the global scratch row `scores_g`, or straight into scores_s), waits for the pair's other `S` blocks at
// `arrive`, then has the score finish every candidate's score into scores_s.
// scores_s: shared float [n_pages - 2]. Returns the number kept (= budget).
template <typename Score, int D, int TOP_K>
__device__ __forceinline__ int select_pages_coop(const DecodeArgs& a, const KvLayerDev& kv, const float (*q)[D], const int32_t* pt, int n_pages,
                                                 int h, int split, int S, float* scores_g, int32_t* arrive, float* scores_s,
                                                 SelectShared<TOP_K, typename Score::SelectShared>& sh) {
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int C = n_pages - 2;
  const int lo = static_cast<int>(static_cast<int64_t>(C) * split / S), hi = static_cast<int>(static_cast<int64_t>(C) * (split + 1) / S);
  Score::score(a, kv, q, pt, h, lo, hi, S, scores_g, scores_s, sh.score);
  if (S == 1 && Score::kScratch > 1) __threadfence();  // finish reads this block's scratch back with ld.cg
  if (S > 1) {
    // Barrier of the pair's S blocks (all resident: the host caps the grid at the occupancy limit).
    __threadfence();
    __syncthreads();
    if (tid == 0) {
      atomicAdd(arrive, 1);
      while (atomicAdd(arrive, 0) < S) __nanosleep(64);
    }
  }
  __syncthreads();
  Score::finish(a, C, S, scores_g, scores_s, sh.score);
  __syncthreads();
  // Radix-select the (budget - 2)-th largest score: passes of 8 bits over order-preserving keys, from the
  // byte holding the highest bit in which the keys differ (the bits above it are common to every key and
  // would fall in one bin: scores of one magnitude share sign and exponent, so this skips a pass).
  uint32_t k_and = 0xffffffffu, k_or = 0u;
  for (int i = tid; i < C; i += kDecodeThreads) {
    const uint32_t key = ordered_bits(scores_s[i]);
    k_and &= key;
    k_or |= key;
  }
  k_and = warp_and(k_and);
  k_or = warp_or(k_or);
  if (lane == 0) {
    sh.warp_eq[warp] = static_cast<int>(k_and);
    sh.warp_keep[warp] = static_cast<int>(k_or);
  }
  __syncthreads();
#pragma unroll
  for (int w = 0; w < kDecodeWarps; ++w) {
    k_and &= static_cast<uint32_t>(sh.warp_eq[w]);
    k_or |= static_cast<uint32_t>(sh.warp_keep[w]);
  }
  __syncthreads();  // the warp slots are reused below
  const uint32_t differ = k_and ^ k_or;
  const int first_shift = differ ? (31 - __clz(static_cast<int>(differ))) / 8 * 8 : 0;
  uint32_t mask = first_shift >= 24 ? 0u : ~((1u << (first_shift + 8)) - 1u);  // the common bits above the first digit
  uint32_t prefix = k_and & mask;
  const int want = a.budget - 2;
  int need = want;
  for (int shift = first_shift; shift >= 0; shift -= 8) {
    for (int i = tid; i < 256; i += kDecodeThreads) sh.hist[i] = 0;
    __syncthreads();
    // One atomic per distinct bin per warp: scores of one magnitude share the top bits, so the first passes
    // put most candidates in one or two bins, and per-lane atomics on one address serialize.
    for (int base = 0; base < C; base += kDecodeThreads) {
      const int i = base + tid;
      const uint32_t key = i < C ? ordered_bits(scores_s[i]) : 0u;
      const bool counted = i < C && (key & mask) == prefix;
      const unsigned bin = counted ? (key >> shift) & 255u : 256u;
      const unsigned peers = __match_any_sync(0xffffffffu, bin);
      if (counted && lane == __ffs(peers) - 1) atomicAdd(&sh.hist[bin], static_cast<unsigned>(__popc(peers)));
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
  // Keys above the threshold are kept; of those equal to it, the `need` lowest page indices. Each thread takes
  // a contiguous run of E candidates (E odd: conflict-free strided reads of scores_s), and two block scans
  // give its ties' rank and its first output slot (was one 128-candidate round, four barriers, per round).
  if (tid == 0) {
    sh.kept[0] = 0;
    sh.kept[a.budget - 1] = n_pages - 1;
  }
  const int E = ((C + kDecodeThreads - 1) / kDecodeThreads) | 1;
  const int i0 = min(C, tid * E), i1 = min(C, i0 + E);
  int n_gt = 0, n_eq = 0;
  for (int i = i0; i < i1; ++i) {
    const uint32_t key = ordered_bits(scores_s[i]);
    n_gt += key > prefix;
    n_eq += key == prefix;
  }
  int eq_seen = block_exclusive_scan(n_eq, sh.warp_eq);
  int pos = block_exclusive_scan(n_gt + max(0, min(n_eq, need - eq_seen)), sh.warp_keep);
  for (int i = i0; i < i1; ++i) {
    const uint32_t key = ordered_bits(scores_s[i]);
    if (key > prefix || (key == prefix && eq_seen++ < need)) sh.kept[1 + pos++] = 1 + i;
  }
  __syncthreads();
  return a.budget;
}

}  // namespace tsc::cuda
