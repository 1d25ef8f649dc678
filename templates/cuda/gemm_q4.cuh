// CUDA projection on 4-bit weights for batches of 9..64 rows (MatMulNBits blocks, contract/linear_weight.h), on tensor
// cores with the weights dequantized in registers: y[M, N] = x[M, K] W[N, K]^T, fp16 x. Not yet called by the backend
// (which dequantizes into a scratch matrix for cuBLASLt at these M): tools/gpu/q4_gemv_bench.cu checks and times it.
//
// The m16n8k16 mma's K order is free as long as A and B agree, so each lane's operands come straight from one 16-byte
// load of codes per row and 16-byte loads of x, with no shuffles: lane (g = lane / 4, t = lane % 4) owns the codes
// [k0 + 32 t, + 32) of its rows; word w of them (codes c = 0..7 at k0 + 32 t + 8 w + c) feeds two mma steps, step 0
// the code pairs (0, 4) at slots (2t, 2t+1) and (1, 5) at (2t+8, 2t+9), step 1 the pairs (2, 6) and (3, 7), which is
// what ((word >> 4j) & 0x000F000F) | 0x64006400 yields as half2 (1024 + c_j, 1024 + c_{j+4}); x's matching pairs are
// two byte permutes of its 8 halves at the same k.
#pragma once
#include "templates/cuda/gemv_q4.cuh"
#include "templates/cuda/mma.cuh"

namespace tsc::cuda {

constexpr int kGemmQ4Warps = 8;  // warps per block, each a K slice of the block's 32 weight rows

__device__ __forceinline__ uint32_t h2_bits(__half2 h) { return *reinterpret_cast<const uint32_t*>(&h); }
__device__ __forceinline__ __half2 bits_h2(uint32_t u) { return *reinterpret_cast<const __half2*>(&u); }

// codes [N, n_blocks, kBlock / 2], scales [N, n_blocks] (S: float or half), zero_points [N, ceil(n_blocks / 2)] or null
// (8); x [M, K] half with M <= 8 * MT, y [M, N]. Block b owns weight rows [32 b, 32 b + 32) as two m16 tiles; its warp
// s takes the 128-k steps s, s + 8, ... and the slices' sums meet in shared memory. grid: ceil(N / 32) blocks of
// 32 * kGemmQ4Warps threads. Requires K % 8 == 0 (16-byte x loads) and kBlock % 32 == 0. The weights are rounded to
// half ((q - z) exact, times the scale rounded to half), as the dequantize-for-cuBLASLt path rounds them.
template <int MT, int kBlock, typename S, typename OutT>
__global__ void __launch_bounds__(32 * kGemmQ4Warps) gemm_q4_kernel(const half* __restrict__ x, int32_t M, int32_t K,
                                                                    const uint8_t* __restrict__ codes, const S* __restrict__ scales,
                                                                    const uint8_t* __restrict__ zero_points,
                                                                    const float* __restrict__ bias, int32_t N, OutT* __restrict__ y) {
  static_assert(kBlock % 32 == 0, "a lane's 32 codes lie in one block");
  constexpr int E = 2 * MT * 4;  // accumulators per lane
  __shared__ float red[kGemmQ4Warps / 2][E][32];
  const int lane = threadIdx.x & 31, slice = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
  const int64_t n0 = static_cast<int64_t>(blockIdx.x) * 32;
  const int32_t nb = (K + kBlock - 1) / kBlock;
  // The lane's rows n0 + g + 8 r: r = 0, 1 the first m16 tile's rows g and g + 8, r = 2, 3 the second's. Rows past N
  // read row N - 1 and are not stored.
  int64_t rown[4];
#pragma unroll
  for (int r = 0; r < 4; ++r) rown[r] = n0 + g + 8 * r < N ? n0 + g + 8 * r : N - 1;
  float acc[2][MT][4];
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < MT; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.f;
  const int32_t steps = (K + 127) / 128;
  for (int32_t st = slice; st < steps; st += kGemmQ4Warps) {
    const int32_t k = st * 128 + 32 * t;  // the lane's codes [k, k + 32): one block, one 16-byte load per row
    const bool in = k < K;
    uint4 raw[4];
    __half2 zb[4], sc[4];
#pragma unroll
    for (int r = 0; r < 4; ++r) {
      const int64_t n = rown[r];
      const int32_t b = k / kBlock;
      raw[r] = in ? __ldg(reinterpret_cast<const uint4*>(codes + n * nb * (kBlock / 2) + k / 2)) : make_uint4(0, 0, 0, 0);
      const float s = in ? scale_to_float(scales[n * nb + b]) : 0.f;
      const int z = zero_points && in ? (zero_points[n * ((nb + 1) / 2) + b / 2] >> (4 * (b & 1))) & 15 : 8;
      zb[r] = __float2half2_rn(1024.f + static_cast<float>(z));
      sc[r] = __float2half2_rn(s);
    }
#pragma unroll
    for (int w = 0; w < 4; ++w) {
      // B: x rows 8 j + g at k + 8 w .. + 8 as the pairs (0,4) (1,5) (2,6) (3,7); zeros past M or K.
      uint32_t bf[MT][4];
#pragma unroll
      for (int j = 0; j < MT; ++j) {
        const int32_t m = 8 * j + g, kk = k + 8 * w;
        const uint4 xv = m < M && kk < K ? *reinterpret_cast<const uint4*>(x + static_cast<int64_t>(m) * K + kk) : make_uint4(0, 0, 0, 0);
        bf[j][0] = __byte_perm(xv.x, xv.z, 0x5410);
        bf[j][1] = __byte_perm(xv.x, xv.z, 0x7632);
        bf[j][2] = __byte_perm(xv.y, xv.w, 0x5410);
        bf[j][3] = __byte_perm(xv.y, xv.w, 0x7632);
      }
      // A: row r's pairs (c_jj, c_jj+4) = ((1024 + c) - (1024 + z)) * s, the subtraction exact.
      uint32_t p[4][4];
#pragma unroll
      for (int r = 0; r < 4; ++r) {
        const uint32_t word = w == 0 ? raw[r].x : w == 1 ? raw[r].y : w == 2 ? raw[r].z : raw[r].w;
#pragma unroll
        for (int jj = 0; jj < 4; ++jj)
          p[r][jj] = h2_bits(__hmul2(__hsub2(bits_h2(((word >> (4 * jj)) & 0x000F000Fu) | 0x64006400u), zb[r]), sc[r]));
      }
#pragma unroll
      for (int i = 0; i < 2; ++i) {
        const uint32_t a0[4] = {p[2 * i][0], p[2 * i + 1][0], p[2 * i][1], p[2 * i + 1][1]};
        const uint32_t a1[4] = {p[2 * i][2], p[2 * i + 1][2], p[2 * i][3], p[2 * i + 1][3]};
#pragma unroll
        for (int j = 0; j < MT; ++j) {
          if (8 * j >= M) break;
          mma_16816<half>(acc[i][j], a0, bf[j][0], bf[j][1]);
          mma_16816<half>(acc[i][j], a1, bf[j][2], bf[j][3]);
        }
      }
    }
  }
  // The K slices' sums: halves of the warps add the other halves' through shared memory, 4 + 2 + 1.
#pragma unroll
  for (int h = kGemmQ4Warps / 2; h >= 1; h /= 2) {
    if (slice >= h && slice < 2 * h)
#pragma unroll
      for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < MT; ++j)
#pragma unroll
          for (int e = 0; e < 4; ++e) red[slice - h][(i * MT + j) * 4 + e][lane] = acc[i][j][e];
    __syncthreads();
    if (slice < h)
#pragma unroll
      for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < MT; ++j)
#pragma unroll
          for (int e = 0; e < 4; ++e) acc[i][j][e] += red[slice][(i * MT + j) * 4 + e][lane];
    __syncthreads();
  }
  if (slice != 0) return;
  // C: acc[i][j][0, 1] at weight row n0 + 16 i + g, x rows 8 j + 2 t + {0, 1}; [2, 3] at weight row + 8.
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int64_t n = n0 + 16 * i + g + (e >= 2 ? 8 : 0);
      if (n >= N) continue;
      const float bn = bias ? bias[n] : 0.f;
#pragma unroll
      for (int j = 0; j < MT; ++j) {
        const int32_t m = 8 * j + 2 * t + (e & 1);
        if (m >= M) continue;
        const float o = acc[i][j][e] + bn;
        if constexpr (sizeof(OutT) == 4) y[static_cast<int64_t>(m) * N + n] = o;
        else y[static_cast<int64_t>(m) * N + n] = __float2half_rn(o);
      }
    }
}

}  // namespace tsc::cuda
