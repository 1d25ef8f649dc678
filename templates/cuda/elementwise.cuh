// CUDA kernels around the projections: embedding gather, residual add fused with LayerNorm/RMSNorm,
// bias + activation, SiLU gating, row gather. Residual stream x is float32; matmul inputs are T.
#pragma once
#include "templates/cuda/common.cuh"

namespace tsc::cuda {

// grid: T blocks; x[t, :] = E[tok[t], :] (+ P[pos[t], :])
template <typename T>
__global__ void embed_kernel(const int32_t* tok, const int32_t* pos, const T* E, const T* P, int32_t H, float* x) {
  const int64_t t = blockIdx.x;
  pdl_launch_dependents();
  const T* e = E + static_cast<int64_t>(tok[t]) * H;
  const T* p = P ? P + static_cast<int64_t>(pos[t]) * H : nullptr;
  for (int32_t j = threadIdx.x; j < H; j += blockDim.x)
    x[t * H + j] = Elem<T>::to_float(e[j]) + (p ? Elem<T>::to_float(p[j]) : 0.f);
}

// grid: T blocks of 256 threads. x += delta; out = norm(x) * w (+ b). Statistics in float32.
template <typename T>
__global__ void add_norm_kernel(float* x, const T* delta, const float* w, const float* b, float eps, int32_t rms,
                                int32_t H, T* out) {
  __shared__ float red[32];
  const int64_t t = blockIdx.x;
  float* r = x + t * H;
  float sum = 0.f, sq = 0.f;
  for (int32_t j = threadIdx.x; j < H; j += blockDim.x) {
    float v = r[j];
    if (delta) {
      v += Elem<T>::to_float(delta[t * H + j]);
      r[j] = v;
    }
    sum += v;
    sq += v * v;
  }
  const float mean = rms ? 0.f : block_sum(sum, red) / static_cast<float>(H);
  float var;
  if (rms) {
    var = block_sum(sq, red) / static_cast<float>(H);
  } else {
    // Second pass for a stable variance (the row is in L1/L2).
    float d2 = 0.f;
    for (int32_t j = threadIdx.x; j < H; j += blockDim.x) {
      const float d = r[j] - mean;
      d2 += d * d;
    }
    var = block_sum(d2, red) / static_cast<float>(H);
  }
  const float inv = rsqrtf(var + eps);
  for (int32_t j = threadIdx.x; j < H; j += blockDim.x)
    out[t * H + j] = Elem<T>::from_float((r[j] - mean) * inv * w[j] + (b ? b[j] : 0.f));
}

__device__ __forceinline__ float gelu_erf(float v) { return 0.5f * v * (1.f + erff(v * 0.7071067811865476f)); }

template <typename T>
__global__ void bias_act_kernel(T* y, const float* bias, int32_t M, int32_t N, int32_t act) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= static_cast<int64_t>(M) * N) return;
  float v = Elem<T>::to_float(y[i]) + (bias ? bias[i % N] : 0.f);
  if (act == 1) v = gelu_tanh(v);
  else if (act == 2) v = gelu_erf(v);
  y[i] = Elem<T>::from_float(v);
}

// out = act(gate) * up: SiLU (Llama), or tanh GELU (Gemma's GeGLU) when GELU_GATE.
template <typename T, bool GELU_GATE = false>
__global__ void silu_mul_kernel(const T* gu, const float* bias, int32_t M, int32_t I, T* out) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= static_cast<int64_t>(M) * I) return;
  const int64_t m = i / I, j = i % I;
  const float g = Elem<T>::to_float(gu[m * 2 * I + j]) + (bias ? bias[j] : 0.f);
  const float u = Elem<T>::to_float(gu[m * 2 * I + I + j]) + (bias ? bias[I + j] : 0.f);
  out[i] = Elem<T>::from_float((GELU_GATE ? gelu_tanh(g) : g / (1.f + __expf(-g))) * u);
}

template <typename T>
__global__ void gather_rows_kernel(const T* x, const int32_t* rows, int32_t H, T* out) {
  const int64_t r = blockIdx.x;
  const T* src = x + static_cast<int64_t>(rows[r]) * H;
  for (int32_t j = threadIdx.x; j < H; j += blockDim.x) out[r * H + j] = src[j];
}

}  // namespace tsc::cuda
