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

// The norm statistics of row r[0, H) (float or T) over the block's threads: mean (0 for RMSNorm) and
// 1 / sqrt(variance (or mean square) + eps), in float32; every thread gets them.
template <typename V>
__device__ __forceinline__ float2 row_norm_stats(const V* r, int32_t H, int32_t rms, float eps, float* red) {
  float sum = 0.f, sq = 0.f;
  for (int32_t j = threadIdx.x; j < H; j += blockDim.x) {
    const float v = Elem<V>::to_float(r[j]);
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
      const float d = Elem<V>::to_float(r[j]) - mean;
      d2 += d * d;
    }
    var = block_sum(d2, red) / static_cast<float>(H);
  }
  return make_float2(mean, rsqrtf(var + eps));
}

// grid: T blocks of 256 threads. x += delta; out = norm(x) * w (+ b). Statistics in float32.
template <typename T>
__global__ void add_norm_kernel(float* x, const T* delta, const float* w, const float* b, float eps, int32_t rms,
                                int32_t H, T* out) {
  __shared__ float red[32];
  const int64_t t = blockIdx.x;
  float* r = x + t * H;
  if (delta)
    for (int32_t j = threadIdx.x; j < H; j += blockDim.x) r[j] += Elem<T>::to_float(delta[t * H + j]);
  const float2 st = row_norm_stats(r, H, rms, eps, red);  // each thread reads back the entries it wrote
  for (int32_t j = threadIdx.x; j < H; j += blockDim.x)
    out[t * H + j] = Elem<T>::from_float((r[j] - st.x) * st.y * w[j] + (b ? b[j] : 0.f));
}

// grid: T blocks of 256 threads. The end of a post-norm block (OLMo 2): x += norm(y) * w (+ b) where y (the branch
// output, [T, H] in T) is set; then out = x in T (the next projection's input) where out is set.
template <typename T>
__global__ void post_norm_add_kernel(float* x, const T* y, const float* w, const float* b, float eps, int32_t rms, int32_t H, T* out) {
  __shared__ float red[32];
  const int64_t t = blockIdx.x;
  float* r = x + t * H;
  if (y) {
    const float2 st = row_norm_stats(y + t * H, H, rms, eps, red);
    for (int32_t j = threadIdx.x; j < H; j += blockDim.x)
      r[j] += (Elem<T>::to_float(y[t * H + j]) - st.x) * st.y * w[j] + (b ? b[j] : 0.f);
  }
  if (out)
    for (int32_t j = threadIdx.x; j < H; j += blockDim.x) out[t * H + j] = Elem<T>::from_float(r[j]);
}

// grid: (T, 2) blocks of 256 threads. OLMo 2's q/k norms, in place on the qkv rows: blockIdx.y 0 normalizes the q part
// [0, Q) of row t with qw, 1 the k part [Q, Q + KV) with kw; RMSNorm over all heads, statistics in float32.
template <typename T>
__global__ void qk_norm_rows_kernel(T* qkv, int32_t stride, int32_t Q, int32_t KV, const float* qw, const float* kw, float eps) {
  __shared__ float red[32];
  const bool k = blockIdx.y == 1;
  T* r = qkv + static_cast<int64_t>(blockIdx.x) * stride + (k ? Q : 0);
  const int32_t n = k ? KV : Q;
  const float* w = k ? kw : qw;
  const float inv = row_norm_stats(r, n, 1, eps, red).y;
  for (int32_t j = threadIdx.x; j < n; j += blockDim.x) r[j] = Elem<T>::from_float(Elem<T>::to_float(r[j]) * inv * w[j]);
}

// Gemma 2/3's final_logit_softcapping, in place on float32 logits [n]: z -> c tanh(z / c).
__global__ void logit_softcap_kernel(float* z, int64_t n, float c) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) z[i] = c * tanhf(z[i] / c);
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
