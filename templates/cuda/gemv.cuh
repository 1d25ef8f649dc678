// CUDA projection kernel for small batches: y[M, N] = x[M, K] W[N, K]^T, weights streamed once.
// Decode at small batch reads every weight once per token, so this kernel is a bandwidth kernel:
// each warp owns output rows, streams its W row with 16-byte loads (several in flight), and dots it with
// all M (<= MAX_M) input rows, which stay in L1/L2. Larger M goes to cuBLAS (see cuda_backend).
#pragma once
#include "templates/cuda/common.cuh"

namespace tsc::cuda {

constexpr int kGemvWarps = 8;     // warps per block
constexpr int kGemvUnroll = 4;    // 16-byte W loads in flight per lane

// grid: ceil(N / kGemvWarps) blocks of 32 * kGemvWarps threads. Requires K % 8 == 0.
template <typename T, int MAX_M, typename OutT>
__global__ void __launch_bounds__(32 * kGemvWarps) gemv_kernel(const T* __restrict__ x, int32_t M, int32_t K,
                                                               const T* __restrict__ W, const float* __restrict__ bias,
                                                               int32_t N, OutT* __restrict__ y) {
  const int lane = threadIdx.x & 31;
  const int64_t n = static_cast<int64_t>(blockIdx.x) * kGemvWarps + (threadIdx.x >> 5);
  if (n >= N) return;
  const T* w = W + n * K;
  float acc[MAX_M];
#pragma unroll
  for (int m = 0; m < MAX_M; ++m) acc[m] = 0.f;
  // Each lane covers 8 consecutive channels per step; a warp covers 256 channels per step.
  for (int32_t k0 = lane * 8; k0 < K; k0 += 32 * 8 * kGemvUnroll) {
    float wv[kGemvUnroll][8];
#pragma unroll
    for (int u = 0; u < kGemvUnroll; ++u) {
      const int32_t k = k0 + u * 256;
      if (k < K) load8(w + k, wv[u]);
      else {
#pragma unroll
        for (int i = 0; i < 8; ++i) wv[u][i] = 0.f;
      }
    }
#pragma unroll
    for (int u = 0; u < kGemvUnroll; ++u) {
      const int32_t k = k0 + u * 256;
      if (k >= K) break;
#pragma unroll
      for (int m = 0; m < MAX_M; ++m) {
        if (m >= M) break;
        float xv[8];
        load8(x + static_cast<int64_t>(m) * K + k, xv);
#pragma unroll
        for (int i = 0; i < 8; ++i) acc[m] += wv[u][i] * xv[i];
      }
    }
  }
  store_gemv_rows<T, MAX_M>(acc, M, lane, bias, n, N, y);
}

}  // namespace tsc::cuda
