// CUDA decode attention, one fused kernel per launch: the blocks of each (sequence, KV head) score its pages
// with the build's page score (SCORE: page_score.cuh), select the top pages (first and last always kept; decode_select.cuh), and attend
// only to the kept pages with an online softmax; kept pages are split across the pair's blocks and the last
// block to finish merges the partial results. SELECT = false is the dense paged decode kernel.
// Two bodies: tensor cores (the GQA group's queries x a page of keys as one 16x16 tile; head dim a multiple
// of 16, group <= 16) and SIMT (any head dim that is a multiple of 8).
#pragma once
#include <mma.h>

#include "templates/cuda/common.cuh"
#include "templates/cuda/decode_select.cuh"
#include "templates/cuda/kernel_table.h"
#include "templates/cuda/rope_kv.cuh"

namespace tsc::cuda {

// Dynamic shared memory of the SIMT decode kernel: candidate scores, one float per page.
inline size_t decode_smem_bytes_for(int32_t max_pages) { return static_cast<size_t>(max_pages) * sizeof(float); }

// Loads the GROUP query rows of KV head h (rotating them when a.inv_freq is set) as float [GROUP][D].
template <typename T, int D, int GROUP, int RD, bool INTERLEAVED>
__device__ __forceinline__ void load_group_queries(const DecodeArgs& a, int b, int h, int len, float (*q)[D]) {
  const T* qg = static_cast<const T*>(a.q) + static_cast<int64_t>(a.q_row[b]) * a.q_stride + h * GROUP * D;
  for (int i = threadIdx.x; i < GROUP * D; i += kDecodeThreads) q[i / D][i % D] = Elem<T>::to_float(qg[i]);
  __syncthreads();
  if constexpr (RD > 0) {
    if (a.inv_freq) {
      // Same arithmetic as rope_q_kernel (fp32 angle, rotate, round to T) so both paths agree.
      const float p = static_cast<float>(len - 1);
      for (int idx = threadIdx.x; idx < GROUP * (RD / 2); idx += kDecodeThreads) {
        const int g = idx / (RD / 2), i = idx % (RD / 2);
        const int ca = INTERLEAVED ? 2 * i : i, cb = INTERLEAVED ? 2 * i + 1 : i + RD / 2;
        float sn, cs;
        rope_sincos(p * a.inv_freq[i], &sn, &cs);
        const float x0 = q[g][ca], x1 = q[g][cb];
        q[g][ca] = Elem<T>::to_float(Elem<T>::from_float(x0 * cs - x1 * sn));
        q[g][cb] = Elem<T>::to_float(Elem<T>::from_float(x1 * cs + x0 * sn));
      }
      __syncthreads();
    }
  }
}

// Final step shared by both bodies: this block's (m, l, acc) per query head -> the output, or a partial that
// the pair's last block merges. m, l: [GROUP]; acc(g, c) gives the unnormalized sum.
template <typename T, int D, int GROUP, typename Acc>
__device__ void finish_decode(const DecodeArgs& a, int b, int h, int split, int S, const float* m, const float* l, Acc acc, int32_t* arrive) {
  const int hq = a.hq, hkv = hq / GROUP, tid = threadIdx.x;
  T* outb = static_cast<T*>(a.out) + static_cast<int64_t>(a.q_row[b]) * a.out_stride;
  for (int idx = tid; idx < GROUP * D; idx += kDecodeThreads) {
    const int g = idx / D, c = idx % D, head = h * GROUP + g;
    if (S == 1) {
      outb[head * D + c] = Elem<T>::from_float(acc(g, c) / l[g]);
    } else {
      const int64_t pidx = (static_cast<int64_t>(b) * hq + head) * a.num_splits + split;
      a.part_o[pidx * D + c] = acc(g, c);
      if (c == 0) {
        a.part_ml[pidx * 2] = m[g];
        a.part_ml[pidx * 2 + 1] = l[g];
      }
    }
  }
  if (S == 1) {
    if (tid == 0 && arrive) *arrive = 0;
    return;
  }
  __threadfence();
  __syncthreads();
  __shared__ int last;
  if (tid == 0) last = atomicAdd(&a.counters[b * hkv + h], 1) == S - 1;
  __syncthreads();
  if (!last) return;
  __threadfence();
  for (int idx = tid; idx < GROUP * D; idx += kDecodeThreads) {
    const int g = idx / D, c = idx % D, head = h * GROUP + g;
    const int64_t p0 = (static_cast<int64_t>(b) * hq + head) * a.num_splits;
    float M = -INFINITY;
    for (int s = 0; s < S; ++s) M = fmaxf(M, load_cg(&a.part_ml[(p0 + s) * 2]));
    float L = 0.f, A = 0.f;
    for (int s = 0; s < S; ++s) {
      const float ms = load_cg(&a.part_ml[(p0 + s) * 2]);
      const float wt = ms == -INFINITY ? 0.f : __expf(ms - M);
      L += load_cg(&a.part_ml[(p0 + s) * 2 + 1]) * wt;
      A += load_cg(&a.part_o[(p0 + s) * D + c]) * wt;
    }
    outb[head * D + c] = Elem<T>::from_float(A / L);
  }
  if (tid == 0) {
    a.counters[b * hkv + h] = 0;  // ready for the next launch (graph replays)
    if (arrive) *arrive = 0;
  }
}

// Whether a (sequence, KV head) with n_pages pages selects this step (a budget smaller than its pages);
// otherwise it attends to every page.
__device__ __forceinline__ bool pair_selects(const DecodeArgs& a, int n_pages) { return a.budget > 0 && n_pages > a.budget; }

// Blocks a (sequence, KV head) uses: at least kMinPagesPerSplit kept pages each, at most the launch's splits.
// Every block of the pair derives the same value from the pair's pages and budget.
constexpr int kMinPagesPerSplit = 16;
__device__ __forceinline__ int effective_splits(const DecodeArgs& a, int n_pages) {
  const bool select = pair_selects(a, n_pages);
  const int kept = select ? a.budget : n_pages;
  return max(1, min(a.num_splits, (kept + kMinPagesPerSplit - 1) / kMinPagesPerSplit));
}

// Which pages this (sequence, KV head) attends to, and the slice [p_begin, p_end) of them this block takes.
template <typename T, int D, int PS, int TOP_K, int GROUP, bool SELECT, typename Score>
__device__ __forceinline__ int plan_pages(const DecodeArgs& a, const KvLayerDev& kv, const float (*q)[D], const int32_t* pt, int n_pages,
                                          int b, int h, int split, float* scores_s, SelectShared<TOP_K, typename Score::SelectShared>& sh,
                                          bool& select, int32_t*& arrive) {
  const int S = effective_splits(a, n_pages);
  select = false;
  arrive = nullptr;
  int num_kept = n_pages;
  if constexpr (SELECT) {
    select = pair_selects(a, n_pages);
    if (select) {
      const int pair = b * kv.num_kv_heads + h;
      const int slot = a.reuse_kept ? a.reuse_slot[b] : -1;
      const int from = slot >= 0 ? a.reuse_from[b] : 0;
      int32_t* stored = slot >= 0 ? a.reuse_kept + (static_cast<int64_t>(slot) * kv.num_kv_heads + h) * TOP_K : nullptr;
      if (from > 0) {  // reuse: the stored set (all below `from`), then the pages begun since; no scores, no barrier
        num_kept = a.budget + n_pages - from;
        for (int i = threadIdx.x; i < num_kept; i += kDecodeThreads) sh.kept[i] = i < a.budget ? stored[i] : from + i - a.budget;
        __syncthreads();
      } else {
        arrive = a.arrive + pair;
        num_kept = select_pages_coop<Score, D, TOP_K>(a, kv, q, pt, n_pages, h, split, S,
                                                      a.scores + static_cast<int64_t>(pair) * a.max_pages * Score::kScratch, arrive, scores_s, sh);
        if (split == 0 && threadIdx.x == 0 && a.stats) atomicAdd(&a.stats[1], static_cast<unsigned long long>(n_pages - 2));
        if (split == 0 && stored)  // every block selected the same pages; one stores them for the reusing steps
          for (int i = threadIdx.x; i < num_kept; i += kDecodeThreads) stored[i] = sh.kept[i];
      }
      if (split == 0 && a.kept_out)  // every block kept the same pages; one records them (the first TOP_K)
        for (int i = threadIdx.x; i < min(num_kept, TOP_K); i += kDecodeThreads) a.kept_out[static_cast<int64_t>(pair) * TOP_K + i] = sh.kept[i];
    }
  }
  if (split == 0 && threadIdx.x == 0 && a.stats) {
    atomicAdd(&a.stats[0], static_cast<unsigned long long>(n_pages));
    atomicAdd(&a.stats[2], static_cast<unsigned long long>(num_kept));
  }
  return num_kept;
}

// ---------------------------------------------------------------------------------------------------------
// SIMT body: LPK lanes per key (8 channels each), online softmax per key slot, merged across the warp.
// grid: (num_splits, hkv, batch).
template <typename T, int D, int PS, int TOP_K, int GROUP, bool SELECT, int RD, bool INTERLEAVED, int SCORE = kPageScoreBound>
__global__ void __launch_bounds__(kDecodeThreads) decode_attention_kernel(DecodeArgs a, KvLayerDev kv) {
  using Score = PageScoreOf<SCORE, T, D, PS, GROUP>;
  static_assert(D % 8 == 0 && D / 8 <= 32 && 32 % (D / 8) == 0, "head_dim must be 8..256 with 256/8 dividing 32 lanes");
  constexpr int LPK = D / 8, KPW = 32 / LPK;
  extern __shared__ float smem_scores[];
  __shared__ float q_s[GROUP][D];
  __shared__ SelectShared<SELECT ? TOP_K : 1, typename Score::SelectShared> sh;
  __shared__ float w_m[kDecodeWarps][GROUP], w_l[kDecodeWarps][GROUP];
  __shared__ float w_acc[kDecodeWarps][GROUP][D];
  __shared__ float f_m[GROUP], f_l[GROUP];
  const int split = blockIdx.x, h = blockIdx.y, b = blockIdx.z;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int len = a.seq_lens[b], n_pages = (len + PS - 1) / PS, hkv = kv.num_kv_heads;
  const int32_t* pt = a.page_table + static_cast<int64_t>(b) * a.max_pages;
  pdl_launch_dependents();
  const int S = effective_splits(a, n_pages);
  if (split >= S) return;  // short sequences use fewer blocks than the launch has
  pdl_wait();  // q comes from the projection and the keys from append_kv, the kernels before this one
  load_group_queries<T, D, GROUP, RD, INTERLEAVED>(a, b, h, len, q_s);
  bool select;
  int32_t* arrive;
  const int num_kept = plan_pages<T, D, PS, SELECT ? TOP_K : 1, GROUP, SELECT, Score>(a, kv, q_s, pt, n_pages, b, h, split, smem_scores, sh, select, arrive);
  const int chunk = (num_kept + S - 1) / S;
  const int p_begin = split * chunk, p_end = min(num_kept, p_begin + chunk);
  const int sg = lane / LPK, sl = lane % LPK;
  float qr[GROUP][8];
#pragma unroll
  for (int g = 0; g < GROUP; ++g)
#pragma unroll
    for (int i = 0; i < 8; ++i) qr[g][i] = q_s[g][sl * 8 + i];
  float m[GROUP], l[GROUP], acc[GROUP][8];
#pragma unroll
  for (int g = 0; g < GROUP; ++g) {
    m[g] = -INFINITY;
    l[g] = 0.f;
#pragma unroll
    for (int i = 0; i < 8; ++i) acc[g][i] = 0.f;
  }
  const T* kbase = static_cast<const T*>(kv.k);
  const T* vbase = static_cast<const T*>(kv.v);
  for (int pi = p_begin + warp; pi < p_end; pi += kDecodeWarps) {
    const int page_idx = select ? sh.kept[pi] : pi;
    const int64_t page = pt[page_idx];
    const int valid = min(PS, len - page_idx * PS);
    const T* kp = kbase + (page * hkv + h) * PS * D + sl * 8;
    const T* vp = vbase + (page * hkv + h) * PS * D + sl * 8;
#pragma unroll
    for (int t0 = 0; t0 < PS; t0 += KPW) {
      const int t = t0 + sg;
      const bool ok = t < valid;
      float kx[8], vx[8];
      if (ok) {
        load8(kp + t * D, kx);
        load8(vp + t * D, vx);
      }
#pragma unroll
      for (int g = 0; g < GROUP; ++g) {
        float s = 0.f;
        if (ok) {
#pragma unroll
          for (int i = 0; i < 8; ++i) s += qr[g][i] * kx[i];
        }
#pragma unroll
        for (int o = LPK / 2; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
        s = ok ? softcap_score(s * a.scale, a.softcap) : -INFINITY;
        const float mn = fmaxf(m[g], s);
        const float corr = m[g] == -INFINITY ? 0.f : __expf(m[g] - mn);
        const float p = s == -INFINITY ? 0.f : __expf(s - mn);
        l[g] = l[g] * corr + p;
#pragma unroll
        for (int i = 0; i < 8; ++i) acc[g][i] = acc[g][i] * corr + (ok ? p * vx[i] : 0.f);
        m[g] = mn;
      }
    }
  }
  // Merge the KPW key slots of the warp (lanes with the same channel chunk), then the warps.
#pragma unroll
  for (int o = LPK; o < 32; o <<= 1) {
#pragma unroll
    for (int g = 0; g < GROUP; ++g) {
      const float m2 = __shfl_xor_sync(0xffffffffu, m[g], o), l2 = __shfl_xor_sync(0xffffffffu, l[g], o);
      const float mn = fmaxf(m[g], m2);
      const float w1 = m[g] == -INFINITY ? 0.f : __expf(m[g] - mn), w2 = m2 == -INFINITY ? 0.f : __expf(m2 - mn);
      l[g] = l[g] * w1 + l2 * w2;
#pragma unroll
      for (int i = 0; i < 8; ++i) acc[g][i] = acc[g][i] * w1 + __shfl_xor_sync(0xffffffffu, acc[g][i], o) * w2;
      m[g] = mn;
    }
  }
  if (sg == 0) {
#pragma unroll
    for (int g = 0; g < GROUP; ++g) {
#pragma unroll
      for (int i = 0; i < 8; ++i) w_acc[warp][g][sl * 8 + i] = acc[g][i];
      if (sl == 0) {
        w_m[warp][g] = m[g];
        w_l[warp][g] = l[g];
      }
    }
  }
  __syncthreads();
  // Warp merge: rescale each warp's accumulators in place, then sum them in the finish step.
  if (tid < GROUP) {
    float M = -INFINITY, L = 0.f;
    for (int w = 0; w < kDecodeWarps; ++w) M = fmaxf(M, w_m[w][tid]);
    for (int w = 0; w < kDecodeWarps; ++w) {
      const float wt = w_m[w][tid] == -INFINITY ? 0.f : __expf(w_m[w][tid] - M);
      L += w_l[w][tid] * wt;
      w_l[w][tid] = wt;  // reused as the warp's weight
    }
    f_m[tid] = M;
    f_l[tid] = L;
  }
  __syncthreads();
  auto accf = [&](int g, int c) {
    float A = 0.f;
    for (int w = 0; w < kDecodeWarps; ++w) A += w_acc[w][g][c] * w_l[w][g];
    return A;
  };
  finish_decode<T, D, GROUP>(a, b, h, split, S, f_m, f_l, accf, arrive);
}

// ---------------------------------------------------------------------------------------------------------
// Tensor-core body: each warp takes chunks of up to KEYS keys (whole kept pages). The chunk's keys and values
// are copied into the warp's shared tiles with cp.async (all 16-byte copies in flight at once, values
// landing while the scores are computed), then S = Q K^T for the GQA group's queries (padded to 16 rows) on
// WMMA tiles, softmax over the chunk in shared memory, O += P V on WMMA tiles. grid: (num_splits, hkv, batch).
template <typename T, int D, int KEYS>
struct TcWarpSmem {
  static constexpr int SW = D > KEYS ? D : KEYS;
  static constexpr int KD = D + 8;  // padded row (16 bytes) against bank conflicts; a multiple of 8 for WMMA
  T k[KEYS][KD];        // the chunk's keys   [KEYS, D]
  T v[KEYS][KD];        // the chunk's values [KEYS, D]
  float s[16][SW];      // scores of the chunk, then P·V staging
  float o[16][D];       // running output of the warp's query rows
  float m[16], l[16];
};

// Pages per warp chunk of the tensor-core body, at least one page. The selecting kernel takes 32-key chunks:
// small per-warp tiles let two blocks share an SM (head dim 64: ~88 KiB each), and its scoring phase is
// latency-bound and needs those resident warps (32k context, batch 16: 138 -> 89 us, docs/PERF.md). The
// dense kernel keeps 64-key chunks: at batch 1 its time is a latency chain per warp, fewer chunks per warp.
template <int PS, bool SELECT>
__host__ __device__ constexpr int tc_chunk_pages() {
  constexpr int keys = SELECT ? 32 : 64;
  return keys / PS > 0 ? keys / PS : 1;
}

// Dynamic shared memory of the tensor-core decode kernel: per-warp tiles, then the candidate scores.
template <typename T, int D, int PS, bool SELECT>
size_t decode_tc_smem_bytes(int32_t max_pages) {
  return kDecodeWarps * sizeof(TcWarpSmem<T, D, tc_chunk_pages<PS, SELECT>() * PS>) + static_cast<size_t>(max_pages) * sizeof(float);
}

template <typename T, int D, int PS, int TOP_K, int GROUP, bool SELECT, int RD, bool INTERLEAVED, int SCORE = kPageScoreBound>
__global__ void __launch_bounds__(kDecodeThreads) decode_attention_tc_kernel(DecodeArgs a, KvLayerDev kv) {
  using Score = PageScoreOf<SCORE, T, D, PS, GROUP>;
  using namespace nvcuda;
  static_assert(D % 16 == 0 && GROUP <= 16 && PS % 16 == 0, "tensor-core decode needs head_dim % 16, group <= 16, page % 16");
  constexpr int CH = tc_chunk_pages<PS, SELECT>();  // pages per warp chunk
  constexpr int KEYS = CH * PS;
  using WarpSmem = TcWarpSmem<T, D, KEYS>;
  static_assert(sizeof(WarpSmem) % 128 == 0, "per-warp tiles must stay 128-byte aligned for WMMA");
  extern __shared__ __align__(128) unsigned char dyn_smem[];
  WarpSmem* ws = reinterpret_cast<WarpSmem*>(dyn_smem);
  float* smem_scores = reinterpret_cast<float*>(dyn_smem + kDecodeWarps * sizeof(WarpSmem));
  __shared__ float q_s[GROUP][D];
  __shared__ __align__(32) T q16[16][D];       // queries as the A operand, rows >= GROUP zero
  __shared__ __align__(32) T p16[kDecodeWarps][16][KEYS];
  __shared__ SelectShared<SELECT ? TOP_K : 1, typename Score::SelectShared> sh;
  __shared__ float f_m[16], f_l[16], w_wt[kDecodeWarps][16];
  const int split = blockIdx.x, h = blockIdx.y, b = blockIdx.z;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int len = a.seq_lens[b], n_pages = (len + PS - 1) / PS, hkv = kv.num_kv_heads;
  const int32_t* pt = a.page_table + static_cast<int64_t>(b) * a.max_pages;
  pdl_launch_dependents();
  const int S = effective_splits(a, n_pages);
  if (split >= S) return;  // short sequences use fewer blocks than the launch has
  // This block's pages as cache page ids, in shared memory (the scores' row, unused by then), looked up in one
  // parallel round trip so that each chunk starts its copies without a dependent page-table load. Attending
  // to every page, they come from the host's page table and are looked up before waiting for the kernel
  // before this one; a selecting pair looks them up once its pages are chosen.
  int* phys_s = reinterpret_cast<int*>(smem_scores);  // [p_end - p_begin]
  const bool all_pages = !(SELECT && pair_selects(a, n_pages));
  if (all_pages) {
    const int share = (n_pages + S - 1) / S, p0 = split * share, p1 = min(n_pages, p0 + share);
    for (int i = tid; i < p1 - p0; i += kDecodeThreads) phys_s[i] = pt[p0 + i];
  }
  pdl_wait();  // q comes from the projection and the keys from append_kv, the kernels before this one
  load_group_queries<T, D, GROUP, RD, INTERLEAVED>(a, b, h, len, q_s);
  for (int i = tid; i < 16 * D; i += kDecodeThreads) q16[i / D][i % D] = Elem<T>::from_float(i / D < GROUP ? q_s[i / D][i % D] : 0.f);
  WarpSmem& w = ws[warp];
  for (int i = lane; i < 16 * D; i += 32) w.o[i / D][i % D] = 0.f;
  for (int i = lane; i < 16 * KEYS; i += 32) p16[warp][i / KEYS][i % KEYS] = Elem<T>::from_float(0.f);  // rows past the group stay 0
  if (lane < 16) {
    w.m[lane] = -INFINITY;
    w.l[lane] = 0.f;
  }
  bool select;
  int32_t* arrive;
  const int num_kept = plan_pages<T, D, PS, SELECT ? TOP_K : 1, GROUP, SELECT, Score>(a, kv, q_s, pt, n_pages, b, h, split, smem_scores, sh, select, arrive);
  __syncthreads();
  const int share = (num_kept + S - 1) / S;
  const int p_begin = split * share, p_end = min(num_kept, p_begin + share);
  if (!all_pages) {
    for (int i = tid; i < p_end - p_begin; i += kDecodeThreads) phys_s[i] = pt[sh.kept[p_begin + i]];
    __syncthreads();
  }
  const T* kbase = static_cast<const T*>(kv.k);
  const T* vbase = static_cast<const T*>(kv.v);
  // Only the sequence's last page (kept last, at num_kept - 1) may be partly filled.
  const int last_valid = len - (n_pages - 1) * PS;
  // The cache pages of the chunk starting at kept position c (-1 past this block's share).
  auto chunk_pages = [&](int c, int64_t (&pg)[CH]) {
#pragma unroll
    for (int j = 0; j < CH; ++j) pg[j] = c + j < p_end ? phys_s[c + j - p_begin] : -1;
  };
  // Copies a chunk's keys (kvi 0) or values (1) into the warp's tile as one cp.async group (16-byte copies).
  auto stage = [&](int kvi, const int64_t (&pg)[CH]) {
    constexpr int CPR = D / 8;  // 16-byte copies per key row
    const T* src = kvi == 0 ? kbase : vbase;
    T(*dst)[WarpSmem::KD] = kvi == 0 ? w.k : w.v;
#pragma unroll
    for (int j = 0; j < CH; ++j) {
      if (pg[j] < 0) continue;
      const T* p = src + (pg[j] * hkv + h) * PS * D;
#pragma unroll
      for (int i = lane; i < PS * CPR; i += 32) cp_async16(&dst[j * PS + i / CPR][(i % CPR) * 8], p + (i / CPR) * D + (i % CPR) * 8);
    }
    cp_async_commit();
  };
  // Software pipeline over the warp's chunks: the next chunk's keys are copied while this chunk's softmax and
  // P·V run (its key tile is free after Q·K^T), and its values while the next Q·K^T runs (the value tile is
  // free after P·V). Groups complete in order: K(c), V(c), K(c+1), V(c+1), ...
  constexpr int STEP = kDecodeWarps * CH;
  int64_t pages[CH];
  chunk_pages(p_begin + warp * CH, pages);
  stage(0, pages);
  stage(1, pages);
  for (int c0 = p_begin + warp * CH; c0 < p_end; c0 += STEP) {
    int64_t next[CH];
    chunk_pages(c0 + STEP, next);
    cp_async_wait<1>();  // this chunk's keys are in
    __syncwarp();
    // S = Q K^T for up to CH pages.
#pragma unroll
    for (int j = 0; j < CH; ++j) {
#pragma unroll
      for (int t = 0; t < PS / 16; ++t) {
        wmma::fragment<wmma::accumulator, 16, 16, 16, float> c;
        wmma::fill_fragment(c, 0.f);
        if (pages[j] >= 0) {
          const T* kp = &w.k[j * PS + t * 16][0];
#pragma unroll
          for (int k = 0; k < D / 16; ++k) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> fa;
            wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> fb;
            wmma::load_matrix_sync(fa, &q16[0][0] + k * 16, D);
            wmma::load_matrix_sync(fb, kp + k * 16, WarpSmem::KD);
            wmma::mma_sync(c, fa, fb, c);
          }
        }
        wmma::store_matrix_sync(&w.s[0][0] + j * PS + t * 16, c, WarpSmem::SW, wmma::mem_row_major);
      }
    }
    __syncwarp();
    stage(0, next);  // the key tile is free: the next chunk's keys (an empty group after the last chunk)
    // Softmax over the chunk: LPR lanes per query row (the group's rows only), columns interleaved across
    // them, scores kept in registers between the max and the exponentials.
    {
      constexpr int GP = GROUP <= 1 ? 1 : GROUP <= 2 ? 2 : GROUP <= 4 ? 4 : GROUP <= 8 ? 8 : 16;
      constexpr int LPR = 32 / GP, CPL = KEYS / LPR;
      static_assert(KEYS % LPR == 0, "a chunk's keys must split evenly over a row's lanes");
      const int r = lane / LPR, sub = lane % LPR;
      const bool row_ok = r < GROUP;
      float sv[CPL];
      float mx = -INFINITY;
#pragma unroll
      for (int i = 0; i < CPL; ++i) {
        const int col = i * LPR + sub, pi = c0 + col / PS;
        const bool ok = row_ok && pi < p_end && (pi != num_kept - 1 || (col % PS) < last_valid);
        sv[i] = ok ? softcap_score(w.s[r][col] * a.scale, a.softcap) : -INFINITY;
        mx = fmaxf(mx, sv[i]);
      }
#pragma unroll
      for (int o = LPR / 2; o > 0; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
      const float m_old = w.m[r], m_new = fmaxf(m_old, mx);
      const float corr = m_old == -INFINITY ? 0.f : __expf(m_old - m_new);
      float sum = 0.f;
#pragma unroll
      for (int i = 0; i < CPL; ++i) {
        const float p = sv[i] == -INFINITY ? 0.f : __expf(sv[i] - m_new);
        sum += p;
        p16[warp][r][i * LPR + sub] = Elem<T>::from_float(p);
      }
#pragma unroll
      for (int o = LPR / 2; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
      if (row_ok)
        for (int c = sub; c < D; c += LPR) w.o[r][c] *= corr;
      __syncwarp();
      if (sub == 0) {
        w.m[r] = m_new;
        w.l[r] = w.l[r] * corr + sum;
      }
    }
    __syncwarp();
    // O += P V over the chunk's pages (16-key steps).
    cp_async_wait<1>();  // this chunk's values are in (the next chunk's keys may still be in flight)
    __syncwarp();
    {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> o[D / 16];
#pragma unroll
      for (int n = 0; n < D / 16; ++n) wmma::fill_fragment(o[n], 0.f);
#pragma unroll
      for (int j = 0; j < CH; ++j) {
        if (pages[j] < 0) continue;
#pragma unroll
        for (int t = 0; t < PS / 16; ++t) {
          const T* vp = &w.v[j * PS + t * 16][0];
          wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> fa;
          wmma::load_matrix_sync(fa, &p16[warp][0][0] + j * PS + t * 16, KEYS);
#pragma unroll
          for (int n = 0; n < D / 16; ++n) {
            wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> fb;
            wmma::load_matrix_sync(fb, vp + n * 16, WarpSmem::KD);
            wmma::mma_sync(o[n], fa, fb, o[n]);
          }
        }
      }
#pragma unroll
      for (int n = 0; n < D / 16; ++n) wmma::store_matrix_sync(&w.s[0][0] + n * 16, o[n], WarpSmem::SW, wmma::mem_row_major);
      __syncwarp();
      for (int i = lane; i < GROUP * D; i += 32) w.o[i / D][i % D] += w.s[i / D][i % D];  // the group's rows
      __syncwarp();
    }
    stage(1, next);  // the value tile is free: the next chunk's values
#pragma unroll
    for (int j = 0; j < CH; ++j) pages[j] = next[j];
  }
  cp_async_wait<0>();  // no copy may land after the tiles' last use (the loop ends with empty groups in flight)
  __syncthreads();
  // Merge warps into (f_m, f_l) and per-warp weights.
  if (tid < GROUP) {
    float M = -INFINITY, L = 0.f;
    for (int v = 0; v < kDecodeWarps; ++v) M = fmaxf(M, ws[v].m[tid]);
    for (int v = 0; v < kDecodeWarps; ++v) {
      const float wt = ws[v].m[tid] == -INFINITY ? 0.f : __expf(ws[v].m[tid] - M);
      L += ws[v].l[tid] * wt;
      w_wt[v][tid] = wt;
    }
    f_m[tid] = M;
    f_l[tid] = L;
  }
  __syncthreads();
  auto accf = [&](int g, int c) {
    float A = 0.f;
    for (int v = 0; v < kDecodeWarps; ++v) A += ws[v].o[g][c] * w_wt[v][g];
    return A;
  };
  finish_decode<T, D, GROUP>(a, b, h, split, S, f_m, f_l, accf, arrive);
}

// The body a specialization uses: tensor cores where the shapes allow.
template <int D, int PS, int GROUP>
__host__ __device__ constexpr bool decode_uses_tc() { return D % 16 == 0 && GROUP <= 16 && PS % 16 == 0; }

}  // namespace tsc::cuda
