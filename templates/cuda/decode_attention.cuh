// CUDA decode attention, one fused kernel: score every page of a sequence from its key bounds, select the
// top pages (first and last always kept), and attend only to them with an online softmax; pages are split
// across blocks for long contexts and the last block of each (sequence, KV head) merges the partials.
// SELECT = false is the dense paged decode kernel (dense layers, dense mode).
#pragma once
#include "templates/cuda/common.cuh"
#include "templates/cuda/kernel_table.h"
#include "templates/cuda/rope_kv.cuh"

namespace tsc::cuda {

constexpr int kDecodeThreads = 128;
constexpr int kDecodeWarps = kDecodeThreads / 32;

// Online-softmax state merge: (m1, l1, a1) <- (m1, l1, a1) + (m2, l2, a2); -inf maxima mean "empty".
__device__ __forceinline__ void merge_weights(float m1, float m2, float& w1, float& w2, float& m) {
  m = fmaxf(m1, m2);
  w1 = m1 == -INFINITY ? 0.f : __expf(m1 - m);
  w2 = m2 == -INFINITY ? 0.f : __expf(m2 - m);
}

// Dynamic shared memory: scores of up to max_pages pages (float).
inline size_t decode_smem_bytes_for(int32_t max_pages) { return static_cast<size_t>(max_pages) * sizeof(float); }

// grid: (num_splits, hkv, batch); block: kDecodeThreads. RD/INTERLEAVED: rotary applied to q here when
// a.inv_freq is set (the query sits at position len - 1).
template <typename T, int D, int PS, int TOP_K, int GROUP, bool SELECT, int RD, bool INTERLEAVED>
__global__ void __launch_bounds__(kDecodeThreads) decode_attention_kernel(DecodeArgs a, KvLayerDev kv) {
  static_assert(D % 8 == 0 && D / 8 <= 32 && 32 % (D / 8) == 0, "head_dim must be 8..256, 256/8 dividing 32 lanes");
  constexpr int LPK = D / 8;     // lanes per key: each lane holds 8 channels (one 16-byte load)
  constexpr int KPW = 32 / LPK;  // keys a warp reads at once
  extern __shared__ float smem_scores[];
  __shared__ float q_s[GROUP][D];
  __shared__ int kept_s[SELECT ? (TOP_K > 0 ? TOP_K : 1) : 1];
  __shared__ float w_m[kDecodeWarps][GROUP], w_l[kDecodeWarps][GROUP];
  __shared__ float w_acc[kDecodeWarps][GROUP][D];
  __shared__ unsigned hist[256];
  __shared__ int sel_bin, sel_need, run_eq, run_kept, warp_eq[kDecodeWarps], warp_keep[kDecodeWarps];

  const int split = blockIdx.x, h = blockIdx.y, b = blockIdx.z;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int len = a.seq_lens[b];
  const int n_pages = (len + PS - 1) / PS;
  const int32_t* pt = a.page_table + static_cast<int64_t>(b) * a.max_pages;
  const int hkv = kv.num_kv_heads;

  const T* qg = static_cast<const T*>(a.q) + static_cast<int64_t>(a.q_row[b]) * a.q_stride + h * GROUP * D;
  for (int i = tid; i < GROUP * D; i += kDecodeThreads) q_s[i / D][i % D] = Elem<T>::to_float(qg[i]);
  __syncthreads();
  if constexpr (RD > 0) {
    if (a.inv_freq) {
      // Same arithmetic as rope_q_kernel (fp32 angle, rotate, round to T) so both paths agree.
      const float p = static_cast<float>(len - 1);
      for (int idx = tid; idx < GROUP * (RD / 2); idx += kDecodeThreads) {
        const int g = idx / (RD / 2), i = idx % (RD / 2);
        const int ca = INTERLEAVED ? 2 * i : i, cb = INTERLEAVED ? 2 * i + 1 : i + RD / 2;
        float sn, cs;
        rope_sincos(p * a.inv_freq[i], &sn, &cs);
        const float x0 = q_s[g][ca], x1 = q_s[g][cb];
        q_s[g][ca] = Elem<T>::to_float(Elem<T>::from_float(x0 * cs - x1 * sn));
        q_s[g][cb] = Elem<T>::to_float(Elem<T>::from_float(x1 * cs + x0 * sn));
      }
      __syncthreads();
    }
  }

  const int sg = lane / LPK, sl = lane % LPK;  // key slot within the warp, channel chunk within the key
  float qr[GROUP][8];
#pragma unroll
  for (int g = 0; g < GROUP; ++g)
#pragma unroll
    for (int i = 0; i < 8; ++i) qr[g][i] = q_s[g][sl * 8 + i];

  // ---- selection: which pages this (sequence, KV head) attends to ----
  bool select = false;
  int num_kept = n_pages;
  if constexpr (SELECT) {
    select = a.budget > 0 && n_pages > a.budget;
    if (select) {
      const T* bounds = static_cast<const T*>(kv.bounds);
      const int C = n_pages - 2;  // candidates: pages 1 .. n_pages - 2
      // Score: Σ_g Σ_c max(q_gc·min_c, q_gc·max_c), one page per LPK-lane group.
      for (int base = warp * KPW; base < C; base += kDecodeWarps * KPW) {
        const int ci = base + sg;
        float s = 0.f;
        if (ci < C) {
          const T* bp = bounds + (static_cast<int64_t>(pt[1 + ci]) * hkv + h) * 2 * D + sl * 8;
          float mn[8], mx[8];
          load8(bp, mn);
          load8(bp + D, mx);
#pragma unroll
          for (int g = 0; g < GROUP; ++g)
#pragma unroll
            for (int i = 0; i < 8; ++i) s += fmaxf(qr[g][i] * mn[i], qr[g][i] * mx[i]);
        }
#pragma unroll
        for (int o = LPK / 2; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
        if (ci < C && sl == 0) smem_scores[ci] = s;
      }
      __syncthreads();
      // Radix-select the (budget - 2)-th largest score: 4 passes of 8 bits over order-preserving keys.
      const int want = a.budget - 2;
      uint32_t prefix = 0, mask = 0;
      int need = want;
      for (int shift = 24; shift >= 0; shift -= 8) {
        for (int i = tid; i < 256; i += kDecodeThreads) hist[i] = 0;
        __syncthreads();
        for (int i = tid; i < C; i += kDecodeThreads) {
          const uint32_t key = ordered_bits(smem_scores[i]);
          if ((key & mask) == prefix) atomicAdd(&hist[(key >> shift) & 255u], 1u);
        }
        __syncthreads();
        if (tid == 0) {
          int cum = 0, bin = 255;
          for (; bin > 0; --bin) {
            if (cum + static_cast<int>(hist[bin]) >= need) break;
            cum += static_cast<int>(hist[bin]);
          }
          sel_bin = bin;
          sel_need = need - cum;
        }
        __syncthreads();
        prefix |= static_cast<uint32_t>(sel_bin) << shift;
        mask |= 255u << shift;
        need = sel_need;
        __syncthreads();
      }
      // Keys above the threshold are kept; of those equal to it, the `need` lowest page indices
      // (the CPU target's tie rule). A block scan over candidates keeps page order ascending.
      if (tid == 0) {
        run_eq = 0;
        run_kept = 0;
        kept_s[0] = 0;
        kept_s[a.budget - 1] = n_pages - 1;
      }
      __syncthreads();
      const unsigned lt_mask = (1u << lane) - 1u;
      for (int base = 0; base < C; base += kDecodeThreads) {
        const int i = base + tid;
        const uint32_t key = i < C ? ordered_bits(smem_scores[i]) : 0u;
        const bool gt = i < C && key > prefix, eq = i < C && key == prefix;
        const unsigned beq = __ballot_sync(0xffffffffu, eq);
        if (lane == 0) warp_eq[warp] = __popc(beq);
        __syncthreads();
        int eq_before = run_eq + __popc(beq & lt_mask);
        for (int w = 0; w < warp; ++w) eq_before += warp_eq[w];
        const bool keep = gt || (eq && eq_before < need);
        const unsigned bk = __ballot_sync(0xffffffffu, keep);
        if (lane == 0) warp_keep[warp] = __popc(bk);
        __syncthreads();
        int pos = run_kept + __popc(bk & lt_mask);
        for (int w = 0; w < warp; ++w) pos += warp_keep[w];
        if (keep) kept_s[1 + pos] = 1 + i;
        __syncthreads();
        if (tid == 0) {
          for (int w = 0; w < kDecodeWarps; ++w) {
            run_eq += warp_eq[w];
            run_kept += warp_keep[w];
          }
        }
        __syncthreads();
      }
      num_kept = a.budget;
      if (split == 0 && tid == 0 && a.stats) atomicAdd(&a.stats[1], static_cast<unsigned long long>(C));
    }
  }
  if (split == 0 && tid == 0 && a.stats) {
    atomicAdd(&a.stats[0], static_cast<unsigned long long>(n_pages));
    atomicAdd(&a.stats[2], static_cast<unsigned long long>(num_kept));
  }

  // ---- attention over this split's share of the kept pages ----
  const int S = a.num_splits;
  const int chunk = (num_kept + S - 1) / S;
  const int p_begin = split * chunk, p_end = min(num_kept, p_begin + chunk);
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
    int page_idx = pi;
    if constexpr (SELECT) page_idx = select ? kept_s[pi] : pi;
    const int64_t page = pt[page_idx];
    const int valid = min(PS, len - page_idx * PS);
    const T* kp = kbase + (page * hkv + h) * PS * D + sl * 8;
    const T* vp = vbase + (page * hkv + h) * PS * D + sl * 8;
#pragma unroll 2
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
        s = ok ? s * a.scale : -INFINITY;
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
  // Merge the KPW key slots of the warp (lanes with the same channel chunk).
#pragma unroll
  for (int o = LPK; o < 32; o <<= 1) {
#pragma unroll
    for (int g = 0; g < GROUP; ++g) {
      const float m2 = __shfl_xor_sync(0xffffffffu, m[g], o), l2 = __shfl_xor_sync(0xffffffffu, l[g], o);
      float w1, w2, mn;
      merge_weights(m[g], m2, w1, w2, mn);
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
  // Merge warps; thread handles (g, c) pairs.
  const int hq = a.hq;
  T* outb = static_cast<T*>(a.out) + static_cast<int64_t>(a.q_row[b]) * a.out_stride;
  for (int idx = tid; idx < GROUP * D; idx += kDecodeThreads) {
    const int g = idx / D, c = idx % D;
    float M = -INFINITY;
    for (int w = 0; w < kDecodeWarps; ++w) M = fmaxf(M, w_m[w][g]);
    float L = 0.f, A = 0.f;
    for (int w = 0; w < kDecodeWarps; ++w) {
      const float wt = w_m[w][g] == -INFINITY ? 0.f : __expf(w_m[w][g] - M);
      L += w_l[w][g] * wt;
      A += w_acc[w][g][c] * wt;
    }
    const int head = h * GROUP + g;
    if (S == 1) {
      outb[head * D + c] = Elem<T>::from_float(A / L);
    } else {
      const int64_t pidx = (static_cast<int64_t>(b) * hq + head) * S + split;
      a.part_o[pidx * D + c] = A;
      if (c == 0) {
        a.part_ml[pidx * 2] = M;
        a.part_ml[pidx * 2 + 1] = L;
      }
    }
  }
  if (S == 1) return;
  // The last split block of this (sequence, KV head) merges every split's partial result.
  __threadfence();
  __syncthreads();
  __shared__ int last;
  if (tid == 0) last = atomicAdd(&a.counters[b * hkv + h], 1) == S - 1;
  __syncthreads();
  if (!last) return;
  __threadfence();
  for (int idx = tid; idx < GROUP * D; idx += kDecodeThreads) {
    const int g = idx / D, c = idx % D;
    const int head = h * GROUP + g;
    const int64_t p0 = (static_cast<int64_t>(b) * hq + head) * S;
    float M = -INFINITY;
    for (int s = 0; s < S; ++s) M = fmaxf(M, __ldcg(&a.part_ml[(p0 + s) * 2]));
    float L = 0.f, A = 0.f;
    for (int s = 0; s < S; ++s) {
      const float ms = __ldcg(&a.part_ml[(p0 + s) * 2]);
      const float wt = ms == -INFINITY ? 0.f : __expf(ms - M);
      L += __ldcg(&a.part_ml[(p0 + s) * 2 + 1]) * wt;
      A += __ldcg(&a.part_o[(p0 + s) * D + c]) * wt;
    }
    outb[head * D + c] = Elem<T>::from_float(A / L);
  }
  if (tid == 0) a.counters[b * hkv + h] = 0;  // ready for the next launch (graph replays)
}

}  // namespace tsc::cuda
