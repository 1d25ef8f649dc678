// CUDA projection kernels on 8-bit weights (MatMulInteger's codes, contract/linear_weight.h), weight-only: y[M, N] =
// x[M, K] W[N, K]^T with W[n, k] = (code[n, k] - zero_point[n]) * scale[n], dequantized in registers; x stays in
// the activation type (no activation quantization, unlike the CPU target's DynamicQuantizeLinear). Small M is a
// bandwidth kernel (half of fp16's bytes per weight): a block owns kGemvI8Rows output rows per row group, each lane
// streams 16 codes of every row with one 16-byte load, and the block's warps split K when that fills the GPU better.
#pragma once
#include "templates/cuda/common.cuh"

namespace tsc::cuda {

constexpr int kGemvI8Warps = 8;   // warps per block
constexpr int kGemvI8Rows = 4;    // output rows per warp: each x element loaded from L1 serves 4 weight rows
constexpr int kGemvI8Unroll = 2;  // 16-byte code loads in flight per lane and row

// Four consecutive elements of x (8 bytes for half/bf16, one load) as floats.
template <typename T>
__device__ __forceinline__ void load4(const T* p, float out[4]) {
  static_assert(sizeof(T) == 2, "x in the 16-bit activation type");
  const uint2 raw = *reinterpret_cast<const uint2*>(p);
  const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
  for (int i = 0; i < 4; ++i) out[i] = Elem<T>::to_float(e[i]);
}

// Byte j of `word` (an 8-bit code, made unsigned by the caller) minus `bias` = 2^23 + zero point, exactly: the bits
// 0x4B0000qq are the float 2^23 + q (one byte permute instead of a quarter-rate int->float conversion), and
// q - z is an integer in [-255, 255], so the subtraction is exact.
template <int j>
__device__ __forceinline__ float i8_code(uint32_t word, float bias) {
  return __uint_as_float(__byte_perm(word, 0x4B000000u, 0x7440u + j)) - bias;
}

// codes [N, K] u8 (int8 codes arrive with flip = 0x80808080 and their zero points XORed alike: c ^ 0x80 = c + 128
// as an unsigned byte, so q - z is unchanged), scales [N] f32, zero_points [N] bytes. x [M, K], y [M, N] row-major.
// Block b: row group g = warp / k_split owns rows [(b * (kGemvI8Warps / k_split) + g) * kGemvI8Rows, + kGemvI8Rows),
// and warp % k_split picks the K slice (chunks of 16 k interleaved). grid: ceil(N / (kGemvI8Rows * kGemvI8Warps /
// k_split)) blocks of 32 * kGemvI8Warps threads. Requires K % 16 == 0 (16-byte aligned code rows) and k_split in
// {1, 2, 4, 8}.
template <typename T, int MAX_M, typename OutT>
__global__ void __launch_bounds__(32 * kGemvI8Warps) gemv_i8_kernel(const T* __restrict__ x, int32_t M, int32_t K,
                                                                    const uint8_t* __restrict__ codes, const float* __restrict__ scales,
                                                                    const uint8_t* __restrict__ zero_points, uint32_t flip,
                                                                    const float* __restrict__ bias, int32_t N, int32_t k_split,
                                                                    OutT* __restrict__ y) {
  __shared__ float part[kGemvI8Warps][kGemvI8Rows][MAX_M];  // the K slices' sums, reduced by the slice-0 warp
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int group = warp / k_split, slice = warp % k_split;
  const int64_t n0 = (static_cast<int64_t>(blockIdx.x) * (kGemvI8Warps / k_split) + group) * kGemvI8Rows;
  const int32_t chunks = K / 16;
  // Rows past N read row N - 1 (always valid) and are not stored: no bounds test in the loop.
  const uint8_t* row[kGemvI8Rows];
  float zbias[kGemvI8Rows];
#pragma unroll
  for (int r = 0; r < kGemvI8Rows; ++r) {
    const int64_t n = n0 + r < N ? n0 + r : N - 1;
    row[r] = codes + n * K;
    zbias[r] = 8388608.f + static_cast<float>((zero_points[n] ^ flip) & 255u);
  }
  float acc[kGemvI8Rows][MAX_M];
#pragma unroll
  for (int r = 0; r < kGemvI8Rows; ++r)
#pragma unroll
    for (int m = 0; m < MAX_M; ++m) acc[r][m] = 0.f;
  const int32_t step = 32 * k_split;
  for (int32_t c0 = slice * 32 + lane; c0 < chunks; c0 += step * kGemvI8Unroll) {
    uint4 raw[kGemvI8Unroll][kGemvI8Rows];
#pragma unroll
    for (int u = 0; u < kGemvI8Unroll; ++u) {
      const int32_t c = c0 + step * u;
#pragma unroll
      for (int r = 0; r < kGemvI8Rows; ++r)
        raw[u][r] = c < chunks ? __ldg(reinterpret_cast<const uint4*>(row[r] + 16 * static_cast<int64_t>(c))) : make_uint4(0, 0, 0, 0);
    }
#pragma unroll
    for (int u = 0; u < kGemvI8Unroll; ++u) {
      const int32_t c = c0 + step * u;
      if (c >= chunks) break;
#pragma unroll
      for (int i = 0; i < 4; ++i) {  // word i: k = 16 c + 4 i .. + 3
        float w[kGemvI8Rows][4];
#pragma unroll
        for (int r = 0; r < kGemvI8Rows; ++r) {
          const uint32_t word = (i == 0 ? raw[u][r].x : i == 1 ? raw[u][r].y : i == 2 ? raw[u][r].z : raw[u][r].w) ^ flip;
          w[r][0] = i8_code<0>(word, zbias[r]);
          w[r][1] = i8_code<1>(word, zbias[r]);
          w[r][2] = i8_code<2>(word, zbias[r]);
          w[r][3] = i8_code<3>(word, zbias[r]);
        }
#pragma unroll
        for (int m = 0; m < MAX_M; ++m) {
          if (m >= M) break;
          float xv[4];
          load4(x + static_cast<int64_t>(m) * K + 16 * c + 4 * i, xv);
#pragma unroll
          for (int r = 0; r < kGemvI8Rows; ++r)
#pragma unroll
            for (int j = 0; j < 4; ++j) acc[r][m] += w[r][j] * xv[j];
        }
      }
    }
  }
  // Each row's sum over the warp, then over the K slices; the per-channel scale once at the end.
#pragma unroll
  for (int r = 0; r < kGemvI8Rows; ++r)
#pragma unroll
    for (int m = 0; m < MAX_M; ++m) {
      const float v = warp_sum(acc[r][m]);
      if (lane == 0 && k_split > 1) part[warp][r][m] = v;
      acc[r][m] = v;
    }
  if (k_split > 1) {
    __syncthreads();
    if (slice != 0) return;
    if (lane == 0)
      for (int s = 1; s < k_split; ++s)
#pragma unroll
        for (int r = 0; r < kGemvI8Rows; ++r)
#pragma unroll
          for (int m = 0; m < MAX_M; ++m) acc[r][m] += part[warp + s][r][m];
  }
  if (lane != 0) return;
#pragma unroll
  for (int r = 0; r < kGemvI8Rows; ++r) {
    const int64_t n = n0 + r;
    if (n >= N) break;
    const float s = scales[n], b = bias ? bias[n] : 0.f;
#pragma unroll
    for (int m = 0; m < MAX_M; ++m) {
      if (m >= M) break;
      const float o = acc[r][m] * s + b;
      if constexpr (sizeof(OutT) == 4) y[static_cast<int64_t>(m) * N + n] = o;
      else y[static_cast<int64_t>(m) * N + n] = Elem<T>::from_float(o);
    }
  }
}

// K slices per row group for an [N, K] weight on `sms` multiprocessors: split K (fewer rows per block, more
// blocks) while the grid is under two blocks per SM and every lane of every slice still gets a 16-code chunk.
inline int gemv_i8_k_split(int32_t N, int32_t K, int sms) {
  int ks = 1;
  auto blocks = [&](int k) { return (N + kGemvI8Rows * (kGemvI8Warps / k) - 1) / (kGemvI8Rows * (kGemvI8Warps / k)); };
  while (ks < kGemvI8Warps && blocks(ks) < 2 * sms && K / 16 >= 32 * 2 * ks) ks *= 2;
  return ks;
}

// out[N, K] = W dequantized (weight type T), so that larger batches run the dense cuBLASLt GEMM on it: one thread
// per 8 k of a row. grid: ceil(N * ceil(K / 8) / 256) blocks of 256.
template <typename T>
__global__ void dequant_i8_kernel(const uint8_t* __restrict__ codes, const float* __restrict__ scales, const uint8_t* __restrict__ zero_points,
                                  uint32_t flip, int32_t N, int32_t K, T* __restrict__ out) {
  const int32_t groups = (K + 7) / 8;
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= static_cast<int64_t>(N) * groups) return;
  const int64_t n = i / groups;
  const int32_t k = static_cast<int32_t>(i % groups) * 8;
  const float s = scales[n], z = static_cast<float>((zero_points[n] ^ flip) & 255u);
  const uint8_t* c = codes + n * K + k;
  T* o = out + n * K + k;
  float v[8];
  if (K % 8 == 0) {  // n * K + k is a multiple of 8: one 8-byte load of codes, one 16-byte store
    const uint2 raw = *reinterpret_cast<const uint2*>(c);
#pragma unroll
    for (int j = 0; j < 8; ++j) v[j] = (static_cast<float>((((j < 4 ? raw.x : raw.y) >> (8 * (j & 3))) ^ flip) & 255u) - z) * s;
    store8(o, v);
  } else {
    for (int j = 0; j < 8 && k + j < K; ++j) o[j] = Elem<T>::from_float((static_cast<float>((c[j] ^ flip) & 255u) - z) * s);
  }
}

}  // namespace tsc::cuda
