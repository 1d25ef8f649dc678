// CUDA projection for decode-sized batches with its neighbours fused in, so that a layer is six kernels:
//   prologue: the block builds its input rows in shared memory from the residual stream (RMSNorm or
//             LayerNorm of x f32), from [gate | up] (SiLU or tanh-GELU gating), or takes them as they are;
//   body:     each warp streams its W rows once with 16-byte loads and dots them with the staged rows;
//   epilogue: + bias, then store (T or f32), or add into the f32 residual stream (x += W·a).
// y[M, N] (or x[M, N]) from inputs [M, K], W [N, K]; M <= MAX_M.
#pragma once
#include "templates/cuda/common.cuh"
#include "templates/cuda/kernel_table.h"

namespace tsc::cuda {

enum GemvPrologue { kProNone = 0, kProRmsNorm = 1, kProLayerNorm = 2, kProSiluMul = 3, kProGeluTanhMul = 4 };
enum GemvEpilogue { kEpiStore = 0, kEpiStoreF32 = 1, kEpiResidual = 2, kEpiStoreGeluTanh = 3, kEpiStoreGelu = 4 };


constexpr int kFusedWarps = 8;

template <int MAX_M>
constexpr size_t gemv_fused_smem(int32_t K) { return static_cast<size_t>(MAX_M) * K * 2; }

// Prologue: the block's input rows xs[M, K] (type T, shared memory) built from a.in, 8 channels (16 bytes
// of T) per thread and step: every load is a vector load. K % 8 == 0.
template <typename T, int PRO>
__device__ __forceinline__ void stage_inputs(const GemvArgs& a, T* xs, float* red) {
  const int tid = threadIdx.x;
  const int32_t K = a.K;
  for (int m = 0; m < a.M; ++m) {
    if constexpr (PRO == kProNone) {
      const T* src = static_cast<const T*>(a.in) + static_cast<int64_t>(m) * K;
      for (int32_t k = tid * 8; k < K; k += blockDim.x * 8)
        *reinterpret_cast<uint4*>(xs + m * K + k) = *reinterpret_cast<const uint4*>(src + k);
    } else if constexpr (PRO == kProSiluMul || PRO == kProGeluTanhMul) {
      const T* gu = static_cast<const T*>(a.in) + static_cast<int64_t>(m) * 2 * K;
      for (int32_t k = tid * 8; k < K; k += blockDim.x * 8) {
        float g[8], u[8], o[8];
        load8(gu + k, g);
        load8(gu + K + k, u);
#pragma unroll
        for (int i = 0; i < 8; ++i) {
          const float gi = g[i] + (a.in_bias ? a.in_bias[k + i] : 0.f), ui = u[i] + (a.in_bias ? a.in_bias[K + k + i] : 0.f);
          o[i] = (PRO == kProGeluTanhMul ? gelu_tanh(gi) : gi / (1.f + __expf(-gi))) * ui;
        }
        store8(xs + m * K + k, o);
      }
    } else {
      // Norm of the f32 residual row x[m]: statistics in f32 (a second, L1-resident pass for LayerNorm's variance).
      const float* x = static_cast<const float*>(a.in) + static_cast<int64_t>(m) * K;
      auto load8f = [](const float* p, float (&v)[8]) {
        const float4 lo = *reinterpret_cast<const float4*>(p), hi = *reinterpret_cast<const float4*>(p + 4);
        v[0] = lo.x; v[1] = lo.y; v[2] = lo.z; v[3] = lo.w; v[4] = hi.x; v[5] = hi.y; v[6] = hi.z; v[7] = hi.w;
      };
      float s = 0.f, sq = 0.f;
      for (int32_t k = tid * 8; k < K; k += blockDim.x * 8) {
        float v[8];
        load8f(x + k, v);
#pragma unroll
        for (int i = 0; i < 8; ++i) {
          s += v[i];
          sq += v[i] * v[i];
        }
      }
      float mean = 0.f, var;
      if constexpr (PRO == kProRmsNorm) {
        var = block_sum(sq, red) / static_cast<float>(K);
      } else {
        mean = block_sum(s, red) / static_cast<float>(K);
        float d2 = 0.f;
        for (int32_t k = tid * 8; k < K; k += blockDim.x * 8) {
          float v[8];
          load8f(x + k, v);
#pragma unroll
          for (int i = 0; i < 8; ++i) d2 += (v[i] - mean) * (v[i] - mean);
        }
        var = block_sum(d2, red) / static_cast<float>(K);
      }
      const float inv = rsqrtf(var + a.eps);
      for (int32_t k = tid * 8; k < K; k += blockDim.x * 8) {
        float v[8], w[8], o[8];
        load8f(x + k, v);
        load8f(a.norm_w + k, w);
#pragma unroll
        for (int i = 0; i < 8; ++i) o[i] = (v[i] - mean) * inv * w[i] + (a.norm_b ? a.norm_b[k + i] : 0.f);
        store8(xs + m * K + k, o);
      }
    }
  }
  __syncthreads();
}

// Epilogue for output (m, n) with the warp's dot product v.
template <typename T, int EPI>
__device__ __forceinline__ void store_output(const GemvArgs& a, int m, int64_t n, float v) {
  float o = v + (a.bias ? a.bias[n] : 0.f);
  const int64_t at = static_cast<int64_t>(m) * a.N + n;
  if constexpr (EPI == kEpiResidual) {
    static_cast<float*>(a.out)[at] += o;
  } else if constexpr (EPI == kEpiStoreF32) {
    static_cast<float*>(a.out)[at] = o;
  } else {
    if constexpr (EPI == kEpiStoreGeluTanh) o = gelu_tanh(o);
    if constexpr (EPI == kEpiStoreGelu) o = 0.5f * o * (1.f + erff(o * 0.7071067811865476f));
    static_cast<T*>(a.out)[at] = Elem<T>::from_float(o);
  }
}

// Persistent streaming body. The grid is sized to what is resident at once (Kernels::fused_launch); warp w
// of block b owns rows n = b*8 + w, then n += gridDim.x*8, ... A row is G = ceil(K / (256*U)) groups of U
// 16-byte loads per lane; the warp walks (row, group) items with the next item's loads in flight while it
// multiplies the current one, so the stream never drains between rows, and the prologue (norm of x) runs
// once per block instead of once per 8 rows. W [N, K]; xs [M, K] staged; U = 8 loads per lane per group.
template <typename T, int MAX_M, int PRO, int EPI>
__global__ void __launch_bounds__(32 * kFusedWarps) gemv_fused_kernel(GemvArgs a) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* xs = reinterpret_cast<T*>(smem_raw);  // [MAX_M, K] staged input rows
  __shared__ float red[32];
  constexpr int U = 8;
  const int lane = threadIdx.x & 31;
  const int32_t K = a.K;
  const int32_t G = (K + 256 * U - 1) / (256 * U);
  const int64_t stride = static_cast<int64_t>(gridDim.x) * kFusedWarps;
  int64_t n = static_cast<int64_t>(blockIdx.x) * kFusedWarps + (threadIdx.x >> 5);
  const T* W = static_cast<const T*>(a.W);
  pdl_launch_dependents();
  // Raw 16-byte chunks (4 registers each); converted when used.
  auto load_group = [&](int64_t row, int32_t g, uint4 (&buf)[U]) {
    const T* w = W + row * K;
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int32_t k = g * 256 * U + u * 256 + lane * 8;
      buf[u] = k < K ? load_cs(reinterpret_cast<const uint4*>(w + k)) : make_uint4(0, 0, 0, 0);
    }
  };
  uint4 cur[U], nxt[U];
  // Weights do not depend on the previous kernel: the first group is requested before waiting for it.
  if (n < a.N) load_group(n, 0, cur);
  pdl_wait();
  stage_inputs<T, PRO>(a, xs, red);
  float acc[MAX_M];
#pragma unroll
  for (int m = 0; m < MAX_M; ++m) acc[m] = 0.f;
  int32_t g = 0;
  while (n < a.N) {
    int64_t nn = n;
    int32_t ng = g + 1;
    if (ng == G) {
      ng = 0;
      nn = n + stride;
    }
    if (nn < a.N) load_group(nn, ng, nxt);
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int32_t k = g * 256 * U + u * 256 + lane * 8;
      if (k >= K) break;
      const T* e = reinterpret_cast<const T*>(&cur[u]);
      float wv[8];
#pragma unroll
      for (int i = 0; i < 8; ++i) wv[i] = Elem<T>::to_float(e[i]);
#pragma unroll
      for (int m = 0; m < MAX_M; ++m) {
        if (m >= a.M) break;
        float xv[8];
        load8(xs + m * K + k, xv);
#pragma unroll
        for (int i = 0; i < 8; ++i) acc[m] = fmaf(wv[i], xv[i], acc[m]);
      }
    }
    if (g == G - 1) {
#pragma unroll
      for (int m = 0; m < MAX_M; ++m) {
        if (m >= a.M) break;
        const float v = warp_sum(acc[m]);
        if (lane == 0) store_output<T, EPI>(a, m, n, v);
        acc[m] = 0.f;
      }
    }
    n = nn;
    g = ng;
#pragma unroll
    for (int u = 0; u < U; ++u) cur[u] = nxt[u];
  }
}

}  // namespace tsc::cuda
