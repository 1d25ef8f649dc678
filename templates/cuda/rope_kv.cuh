// CUDA rotary embedding of queries, and the KV append kernel: rotary on keys, K/V written into their
// pages, the page's key bounds recomputed and the page score's append hook run in the same kernel (DESIGN.md contract).
#pragma once
#include "templates/cuda/common.cuh"
#include "templates/cuda/kernel_table.h"
#include "templates/cuda/page_score_bound.cuh"
#include "templates/cuda/page_score_sketch.cuh"

namespace tsc::cuda {

// sin/cos of an angle of up to ~1e5 radians without sincosf's slow path (which spills to local memory):
// two-constant reduction to [-pi, pi], then the fast intrinsic (|error| < 1e-6, far below fp16 rounding).
__device__ __forceinline__ void rope_sincos(float a, float* s, float* c) {
  const float k = rintf(a * 0.159154943091895336f);
  float r = fmaf(-k, 6.28318548202514648f, a);  // 2*pi rounded to float
  r = fmaf(-k, -1.74845553e-07f, r);              // 2*pi minus that
  __sincosf(r, s, c);
}

// Pair (a, b) of rotary channel i: half-split pairs i with i + RD/2, interleaved pairs 2i with 2i+1.
template <int RD, bool INTERLEAVED>
__device__ __forceinline__ void rope_pair(int i, int& a, int& b) {
  a = INTERLEAVED ? 2 * i : i;
  b = INTERLEAVED ? 2 * i + 1 : i + RD / 2;
}

// grid: T blocks; threads cover (head, pair). q rows of qkv are rotated in place.
template <typename T, int D, int RD, bool INTERLEAVED>
__global__ void rope_q_kernel(RopeQArgs a) {
  const int64_t t = blockIdx.x;
  T* q = static_cast<T*>(a.qkv) + t * a.row_stride;
  // Angles in float32 like the exported graphs (pos * inv_freq, then cos/sin).
  const float p = static_cast<float>(a.pos[t]);
  for (int idx = threadIdx.x; idx < a.hq * (RD / 2); idx += blockDim.x) {
    const int h = idx / (RD / 2), i = idx % (RD / 2);
    int ca, cb;
    rope_pair<RD, INTERLEAVED>(i, ca, cb);
    float s, c;
    rope_sincos(p * a.inv_freq[i], &s, &c);
    T* v = q + h * D;
    const float x0 = Elem<T>::to_float(v[ca]), x1 = Elem<T>::to_float(v[cb]);
    v[ca] = Elem<T>::from_float(x0 * c - x1 * s);
    v[cb] = Elem<T>::from_float(x1 * c + x0 * s);
  }
}

// The sum of v over the block's D threads (one per channel of a head), the same in every thread; red: [D] shared.
// Whole warps: a butterfly in each (commutative steps: every lane gets the same bits), then the warps' sums;
// other head dims: a tree in shared memory.
template <int D>
__device__ __forceinline__ float head_sum(float v, float* red) {
  const int c = threadIdx.x;
  if constexpr (D % 32 == 0) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    if constexpr (D == 32) return v;
    __syncthreads();  // the previous sum's readers are done with red
    if ((c & 31) == 0) red[c >> 5] = v;
    __syncthreads();
    float s = 0.f;
    for (int w = 0; w < D / 32; ++w) s += red[w];
    return s;
  } else {
    constexpr int kPow2 = [] { int p = 1; while (p < D) p *= 2; return p; }();  // D rounded up to a power of two
    __syncthreads();
    red[c] = v;
    __syncthreads();
    for (int s = kPow2 / 2; s > 0; s >>= 1) {
      if (c < s && c + s < D) red[c] += red[c + s];
      __syncthreads();
    }
    return red[0];
  }
}

// 1 / RMS of channel value x over a head's D channels (the block's threads), eps added to the mean square.
template <int D>
__device__ __forceinline__ float head_rms_inv(float x, float eps, float* red) {
  return rsqrtf(head_sum<D>(x * x, red) * (1.f / D) + eps);
}

// grid: (num_units, hkv); block: D threads, thread c owns channel c of every token of the unit.
// ROPE = false for learned positions (keys are appended as they are); a.inv_freq null: a layer without rotary.
// SCORE: the page score, whose hook (PageScoreOf::append) updates the page's summary after its bounds.
template <typename T, int D, int PS, int RD, bool INTERLEAVED, bool ROPE, int SCORE = kPageScoreBound>
__global__ void append_kv_kernel(AppendArgs a, KvLayerDev kv) {
  using Score = PageScoreOf<SCORE, T, D, PS, 1>;
  __shared__ float red[D];
  __shared__ typename Score::AppendShared score_sh;
  const int u = blockIdx.x, h = blockIdx.y, c = threadIdx.x;
  pdl_launch_dependents();
  pdl_wait();  // qkv comes from the projection before this kernel
  const int row0 = a.units[u * 4 + 0], count = a.units[u * 4 + 1], page = a.units[u * 4 + 2], slot0 = a.units[u * 4 + 3];
  T* base = static_cast<T*>(a.qkv);
  T* kpage = static_cast<T*>(kv.k) + (static_cast<int64_t>(page) * kv.num_kv_heads + h) * PS * D;
  T* vpage = static_cast<T*>(kv.v) + (static_cast<int64_t>(page) * kv.num_kv_heads + h) * PS * D;
  const bool qk_norm = a.k_norm_w != nullptr;  // uniform over the grid
  for (int j = 0; j < count; ++j) {
    const int64_t row = row0 + j;
    const T* k = base + row * a.row_stride + (a.hq + h) * D;
    const T* v = base + row * a.row_stride + (a.hq + a.hkv + h) * D;
    float kc = Elem<T>::to_float(k[c]);
    float kscale = 1.f;  // channel i of the normalized key: k[i] * kscale * k_norm_w[i]
    if (qk_norm) {
      // This KV head's group of q heads, normalized in place (each row belongs to one unit: no other block writes them).
      const int group = a.hq / a.hkv;
      for (int g = 0; g < group; ++g) {
        T* q = base + row * a.row_stride + (h * group + g) * D;
        const float x = Elem<T>::to_float(q[c]);
        q[c] = Elem<T>::from_float(x * head_rms_inv<D>(x, a.norm_eps, red) * a.q_norm_w[c]);
      }
      kscale = head_rms_inv<D>(kc, a.norm_eps, red);
      kc *= kscale * a.k_norm_w[c];
    }
    if constexpr (ROPE) {
      if (a.inv_freq && c < RD) {
        // Channel c's rotary partner; both are read from qkv, which this kernel does not modify.
        const int i = INTERLEAVED ? c / 2 : (c < RD / 2 ? c : c - RD / 2);
        int ca, cb;
        rope_pair<RD, INTERLEAVED>(i, ca, cb);
        float s, co;
        rope_sincos(static_cast<float>(a.pos[row]) * a.inv_freq[i], &s, &co);
        float x0 = Elem<T>::to_float(k[ca]), x1 = Elem<T>::to_float(k[cb]);
        if (qk_norm) {
          x0 *= kscale * a.k_norm_w[ca];
          x1 *= kscale * a.k_norm_w[cb];
        }
        kc = c == ca ? x0 * co - x1 * s : x1 * co + x0 * s;
      }
    }
    kpage[(slot0 + j) * D + c] = Elem<T>::from_float(kc);
    vpage[(slot0 + j) * D + c] = v[c];
  }
  // Bounds over every filled slot of the page, from the stored (rounded) keys: exact in T.
  const int filled = slot0 + count;
  float mn = INFINITY, mx = -INFINITY;
  for (int s = 0; s < filled; ++s) {
    const float x = Elem<T>::to_float(kpage[s * D + c]);
    mn = fminf(mn, x);
    mx = fmaxf(mx, x);
  }
  T* bnd = static_cast<T*>(kv.bounds) + (static_cast<int64_t>(page) * kv.num_kv_heads + h) * 2 * D;
  const T lo = Elem<T>::round_down(mn), hi = Elem<T>::round_up(mx);
  bnd[c] = lo;
  bnd[D + c] = hi;
  uint32_t* summary = kv.summary ? kv.summary + (static_cast<int64_t>(page) * kv.num_kv_heads + h) * Score::kSummaryWords : nullptr;
  Score::append(kpage, Elem<T>::to_float(lo), Elem<T>::to_float(hi), filled, summary, score_sh);
}

}  // namespace tsc::cuda
