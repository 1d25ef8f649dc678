// CUDA projection kernel for small batches on 4-bit weights (MatMulNBits blocks, contract/linear_weight.h):
// y[M, N] = x[M, K] W[N, K]^T with W[n, k] = (code - zero_point) * scale per block of kBlock k, dequantized in
// registers. Like gemv.cuh it is a bandwidth kernel: each warp owns an output row and streams its codes with
// 16-byte loads (32 codes each, several in flight); a quarter of fp16's bytes per weight, plus the block scales.
#pragma once
#include "templates/cuda/common.cuh"

namespace tsc::cuda {

constexpr int kGemvQ4Warps = 8;   // warps per block
constexpr int kGemvQ4Unroll = 4;  // 16-byte code loads in flight per lane

template <typename S>
__device__ __forceinline__ float scale_to_float(S s) {
  if constexpr (sizeof(S) == 4) return s;
  else return __half2float(s);
}

// codes [N, n_blocks, kBlock / 2] u8 (two codes per byte, the lower k in the low nibble), scales [N, n_blocks] (S:
// float or half), zero_points [N, ceil(n_blocks / 2)] u8 or null (8). x [M, K] and y [M, N] row-major.
// grid: ceil(N / kGemvQ4Warps) blocks of 32 * kGemvQ4Warps threads. Requires kBlock % 32 == 0 (a 16-byte chunk
// of codes never straddles two blocks) and 16-byte aligned rows of x when M > 1 (K % 8 == 0).
template <typename T, int MAX_M, int kBlock, typename S, typename OutT>
__global__ void __launch_bounds__(32 * kGemvQ4Warps) gemv_q4_kernel(const T* __restrict__ x, int32_t M, int32_t K,
                                                                    const uint8_t* __restrict__ codes, const S* __restrict__ scales,
                                                                    const uint8_t* __restrict__ zero_points,
                                                                    const float* __restrict__ bias, int32_t N, OutT* __restrict__ y) {
  static_assert(kBlock % 32 == 0, "a 16-byte chunk of codes lies in one block");
  const int lane = threadIdx.x & 31;
  const int64_t n = static_cast<int64_t>(blockIdx.x) * kGemvQ4Warps + (threadIdx.x >> 5);
  if (n >= N) return;
  const int32_t nb = (K + kBlock - 1) / kBlock, chunks = (K + 31) / 32;
  const uint8_t* row = codes + n * nb * (kBlock / 2);
  float acc[MAX_M];
#pragma unroll
  for (int m = 0; m < MAX_M; ++m) acc[m] = 0.f;
  for (int32_t c0 = lane; c0 < chunks; c0 += 32 * kGemvQ4Unroll) {
    uint4 raw[kGemvQ4Unroll];
#pragma unroll
    for (int u = 0; u < kGemvQ4Unroll; ++u) {
      const int32_t c = c0 + 32 * u;
      raw[u] = c < chunks ? *reinterpret_cast<const uint4*>(row + 16 * static_cast<int64_t>(c)) : make_uint4(0, 0, 0, 0);
    }
#pragma unroll
    for (int u = 0; u < kGemvQ4Unroll; ++u) {
      const int32_t c = c0 + 32 * u;
      if (c >= chunks) break;
      const int32_t b = c * 32 / kBlock, k0 = c * 32;
      const float s = scale_to_float(scales[n * nb + b]);
      const float z = zero_points ? static_cast<float>((zero_points[n * ((nb + 1) / 2) + b / 2] >> (4 * (b & 1))) & 15) : 8.f;
      // Nibble j of a word (k: 8 per word, byte j / 2, the low nibble first) as a float without int->float
      // conversion (a quarter-rate instruction): the bits 0x4B000000 | q are the float 2^23 + q, and
      // subtracting 2^23 + z is exact, so w = (q - z) * s rounds once, as the CPU kernels do. Only compile-time
      // indices into w and xv, so that both stay in registers.
      const float bias_z = 8388608.f + z;
      const uint32_t words[4] = {raw[u].x, raw[u].y, raw[u].z, raw[u].w};
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int32_t k = k0 + 8 * i;
        if (k >= K) break;
        float w[8];
#pragma unroll
        for (int j = 0; j < 8; ++j) w[j] = (__uint_as_float(((words[i] >> (4 * j)) & 15u) | 0x4B000000u) - bias_z) * s;
#pragma unroll
        for (int m = 0; m < MAX_M; ++m) {
          if (m >= M) break;
          const T* xr = x + static_cast<int64_t>(m) * K + k;
          float xv[8];
          if (k + 8 <= K) load8(xr, xv);
          else {  // the row's last 8 k run past K: the codes there are padding
#pragma unroll
            for (int j = 0; j < 8; ++j) xv[j] = k + j < K ? Elem<T>::to_float(xr[j]) : 0.f;
          }
#pragma unroll
          for (int j = 0; j < 8; ++j) acc[m] += w[j] * xv[j];
        }
      }
    }
  }
  store_gemv_rows<T, MAX_M>(acc, M, lane, bias, n, N, y);
}

// out[N, K] = W dequantized (weight type T), so that larger batches run the dense cuBLASLt GEMM on it: one thread
// per 8 k of a row (one word of codes). grid: ceil(N * ceil(K / 8) / 256) blocks of 256.
template <typename T, int kBlock, typename S>
__global__ void dequant_q4_kernel(const uint8_t* __restrict__ codes, const S* __restrict__ scales, const uint8_t* __restrict__ zero_points,
                                  int32_t N, int32_t K, T* __restrict__ out) {
  const int32_t words = (K + 7) / 8, nb = (K + kBlock - 1) / kBlock;
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= static_cast<int64_t>(N) * words) return;
  const int64_t n = i / words;
  const int32_t k = static_cast<int32_t>(i % words) * 8, b = k / kBlock;
  const uint32_t word = *reinterpret_cast<const uint32_t*>(codes + n * nb * (kBlock / 2) + (k / kBlock) * (kBlock / 2) + (k % kBlock) / 2);
  const float s = scale_to_float(scales[n * nb + b]);
  const float z = zero_points ? static_cast<float>((zero_points[n * ((nb + 1) / 2) + b / 2] >> (4 * (b & 1))) & 15) : 8.f;
  T* o = out + n * K + k;
#pragma unroll
  for (int j = 0; j < 8; ++j)
    if (k + j < K) o[j] = Elem<T>::from_float((static_cast<float>((word >> (4 * j)) & 15u) - z) * s);
}

}  // namespace tsc::cuda
