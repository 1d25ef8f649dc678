// CUDA projection for decode-sized batches with its neighbours fused in, so that a layer is six kernels:
//   prologue: the block builds its input rows in shared memory from the residual stream (RMSNorm or
//             LayerNorm of x f32), from [gate | up] (SiLU gating), or takes them as they are;
//   body:     each warp streams its W rows once with 16-byte loads and dots them with the staged rows;
//   epilogue: + bias, then store (T or f32), or add into the f32 residual stream (x += W·a).
// y[M, N] (or x[M, N]) from inputs [M, K], W [N, K]; M <= MAX_M.
#pragma once
#include "templates/cuda/common.cuh"
#include "templates/cuda/kernel_table.h"

namespace tsc::cuda {

enum GemvPrologue { kProNone = 0, kProRmsNorm = 1, kProLayerNorm = 2, kProSiluMul = 3 };
enum GemvEpilogue { kEpiStore = 0, kEpiStoreF32 = 1, kEpiResidual = 2, kEpiStoreGeluTanh = 3, kEpiStoreGelu = 4 };


constexpr int kFusedWarps = 8;

template <int MAX_M>
constexpr size_t gemv_fused_smem(int32_t K) { return static_cast<size_t>(MAX_M) * K * 2; }

template <typename T, int MAX_M, int PRO, int EPI>
__global__ void __launch_bounds__(32 * kFusedWarps) gemv_fused_kernel(GemvArgs a) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* xs = reinterpret_cast<T*>(smem_raw);  // [MAX_M, K] staged input rows
  __shared__ float red[32];
  const int tid = threadIdx.x, lane = tid & 31;
  const int32_t K = a.K;
  pdl_launch_dependents();
  // Weights do not depend on the previous kernel: the first U chunks of this warp's row are requested
  // before waiting for it (programmatic dependent launch overlaps them with its tail).
  constexpr int U = 8;  // 16-byte W loads in flight per lane
  const int64_t n = static_cast<int64_t>(blockIdx.x) * kFusedWarps + (tid >> 5);
  const bool active = n < a.N;
  const T* w = static_cast<const T*>(a.W) + (active ? n : 0) * K;
  float wv[U][8];
#pragma unroll
  for (int u = 0; u < U; ++u) {
    const int32_t k = lane * 8 + u * 256;
    if (active && k < K) load8(w + k, wv[u]);
  }
  pdl_wait();
  // ---- prologue: stage the input rows ----
  for (int m = 0; m < a.M; ++m) {
    if constexpr (PRO == kProNone) {
      const T* src = static_cast<const T*>(a.in) + static_cast<int64_t>(m) * K;
      for (int32_t k = tid * 8; k < K; k += blockDim.x * 8)
        *reinterpret_cast<uint4*>(xs + m * K + k) = *reinterpret_cast<const uint4*>(src + k);
    } else if constexpr (PRO == kProSiluMul) {
      const T* gu = static_cast<const T*>(a.in) + static_cast<int64_t>(m) * 2 * K;
      for (int32_t k = tid; k < K; k += blockDim.x) {
        const float g = Elem<T>::to_float(gu[k]) + (a.in_bias ? a.in_bias[k] : 0.f);
        const float u = Elem<T>::to_float(gu[K + k]) + (a.in_bias ? a.in_bias[K + k] : 0.f);
        xs[m * K + k] = Elem<T>::from_float(g / (1.f + __expf(-g)) * u);
      }
    } else {
      const float* x = static_cast<const float*>(a.in) + static_cast<int64_t>(m) * K;
      float s = 0.f, sq = 0.f;
      for (int32_t k = tid; k < K; k += blockDim.x) {
        const float v = x[k];
        s += v;
        sq += v * v;
      }
      float mean = 0.f, var;
      if constexpr (PRO == kProRmsNorm) {
        var = block_sum(sq, red) / static_cast<float>(K);
      } else {
        mean = block_sum(s, red) / static_cast<float>(K);
        float d2 = 0.f;
        for (int32_t k = tid; k < K; k += blockDim.x) {
          const float d = x[k] - mean;
          d2 += d * d;
        }
        var = block_sum(d2, red) / static_cast<float>(K);
      }
      const float inv = rsqrtf(var + a.eps);
      for (int32_t k = tid; k < K; k += blockDim.x)
        xs[m * K + k] = Elem<T>::from_float((x[k] - mean) * inv * a.norm_w[k] + (a.norm_b ? a.norm_b[k] : 0.f));
    }
  }
  __syncthreads();
  // ---- body: one output row per warp ----
  if (!active) return;
  float acc[MAX_M];
#pragma unroll
  for (int m = 0; m < MAX_M; ++m) acc[m] = 0.f;
  for (int32_t k0 = lane * 8; k0 < K; k0 += 32 * 8 * U) {
    if (k0 != lane * 8) {
#pragma unroll
      for (int u = 0; u < U; ++u) {
        const int32_t k = k0 + u * 256;
        if (k < K) load8(w + k, wv[u]);
      }
    }
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int32_t k = k0 + u * 256;
      if (k >= K) break;
#pragma unroll
      for (int m = 0; m < MAX_M; ++m) {
        if (m >= a.M) break;
        float xv[8];
        load8(xs + m * K + k, xv);
#pragma unroll
        for (int i = 0; i < 8; ++i) acc[m] += wv[u][i] * xv[i];
      }
    }
  }
  // ---- epilogue ----
#pragma unroll
  for (int m = 0; m < MAX_M; ++m) {
    if (m >= a.M) break;
    const float v = warp_sum(acc[m]);
    if (lane != 0) continue;
    float o = v + (a.bias ? a.bias[n] : 0.f);
    const int64_t at = static_cast<int64_t>(m) * a.N + n;
    if constexpr (EPI == kEpiResidual) {
      static_cast<float*>(a.out)[at] += o;
    } else if constexpr (EPI == kEpiStoreF32) {
      static_cast<float*>(a.out)[at] = o;
    } else {
      if constexpr (EPI == kEpiStoreGeluTanh) o = 0.5f * o * (1.f + tanhf(0.7978845608028654f * (o + 0.044715f * o * o * o)));
      if constexpr (EPI == kEpiStoreGelu) o = 0.5f * o * (1.f + erff(o * 0.7071067811865476f));
      static_cast<T*>(a.out)[at] = Elem<T>::from_float(o);
    }
  }
}

}  // namespace tsc::cuda
