// CPU projections on weights kept in MatMulNBits 4-bit blocks, as the ONNX file has them (8-bit ones: linear_int8.h).
// Each computes what onnxruntime's CPU kernels compute for the same node (checked by test/unit/cpu/linear_quant_test.cpp).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "templates/cpu/gemm.h"

namespace tsc::cpu {

// com.microsoft MatMulNBits, bits = 4, accuracy_level 0/1 (float32 compute): y[M,N] = x[M,K] W^T (+ bias) with
//   W[n, k] = (q[n, k] - z[n, b]) * scale[n, b],  b = k / kBlock   (one rounding, as onnxruntime dequantizes)
//   codes:  [N, n_blocks, kBlock / 2] uint8, two codes per byte, the lower k in the low nibble;
//           K need not be a multiple of kBlock: the last block's tail codes are padding and never count
//   scales: [N * n_blocks] (S = float or f16_t, q4f16 files)
//   zp:     [N, ceil(n_blocks / 2)] uint8, packed like the codes; nullptr means 8 (symmetric quantization)
// Decode (few rows) multiplies the codes where they are, dequantizing in registers (q4::dot_tiles); prefill
// dequantizes each weight tile once into the packed GEMM's float scratch (gemm::gemm_panels). Nothing is expanded
// in memory beyond one tile.
namespace q4 {
using namespace simd;
typedef uint8_t vb_u __attribute__((vector_size(kLanes), aligned(1), may_alias));
#if defined(__AVX512F__)
inline const vf kIota = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
#endif

template <typename S>
struct Blocks {
  const uint8_t* codes;
  const S* scales;
  const uint8_t* zp;
  int64_t K, n_blocks, block;
  float scale(int64_t n, int64_t b) const { return to_f32(scales[n * n_blocks + b]); }
  float zero(int64_t n, int64_t b) const { return zp ? static_cast<float>((zp[n * ((n_blocks + 1) / 2) + b / 2] >> (4 * (b & 1))) & 15) : 8.f; }
  const uint8_t* block_codes(int64_t n, int64_t b) const { return codes + (n * n_blocks + b) * (block / 2); }
};

// The gemm's row source (gemm.h, DenseRows): row n of W dequantized into scratch [n_blocks * block] in the codes'
// byte order (permute_rows below), the order the activations are permuted into.
template <typename S>
struct Rows {
  static constexpr bool kDirect = false;
  Blocks<S> q;
  const float* row(int64_t n, float* out) const {
    for (int64_t b = 0; b < q.n_blocks; ++b) {
      const float s = q.scale(n, b), z = q.zero(n, b);
      const uint8_t* c = q.block_codes(n, b);
      float* o = out + b * q.block;
      int64_t j = 0;
      if (q.block / 2 % kLanes == 0)
        for (; j < q.block / 2; j += kLanes) {
          const auto bytes = *reinterpret_cast<const vb_u*>(c + j);
          storeu(o + j, (__builtin_convertvector(__builtin_convertvector(bytes & 15, vi), vf) - z) * s);
          storeu(o + q.block / 2 + j, (__builtin_convertvector(__builtin_convertvector(bytes >> 4, vi), vf) - z) * s);
        }
      for (; j < q.block / 2; ++j) {
        o[j] = (static_cast<float>(c[j] & 15) - z) * s;
        o[q.block / 2 + j] = (static_cast<float>(c[j] >> 4) - z) * s;
      }
    }
    return out;
  }
};

// x [M, K] -> xp [M, n_blocks * kBlock] in the codes' byte order: within each block, the even k (low nibbles)
// then the odd k (high nibbles); the padding past K is 0, so padding codes add nothing.
template <int kBlock>
void permute_rows(const float* x, int64_t M, int64_t K, int64_t n_blocks, float* xp) {
  const int64_t W = n_blocks * kBlock;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t b = 0; b < n_blocks; ++b)
      for (int j = 0; j < kBlock / 2; ++j) {
        const int64_t k = b * kBlock + 2 * j;
        xp[m * W + b * kBlock + j] = k < K ? x[m * K + k] : 0.f;
        xp[m * W + b * kBlock + kBlock / 2 + j] = k + 1 < K ? x[m * K + k + 1] : 0.f;
      }
}

// MR rows of xp against NR weight rows: per block, each kLanes codes are widened to float, shifted by the zero
// point and scaled in registers, then multiplied into all MR rows.
template <int kBlock, typename S, int MR, int NR>
void dot_tiles(const float* xp, int64_t M, const Blocks<S>& q, const float* bias, int64_t N, float* y) {
  static_assert((kBlock / 2) % kLanes == 0, "a block's bytes fill whole vectors");
  const int64_t W = q.n_blocks * kBlock, tiles = (N + NR - 1) / NR;
#pragma omp parallel for schedule(static) if (gemm::worth_threads(M, q.K, N))
  for (int64_t t = 0; t < tiles; ++t) {
    const int64_t n0 = t * NR, nr = std::min<int64_t>(NR, N - n0);
    int64_t rows[NR];
    for (int j = 0; j < NR; ++j) rows[j] = n0 + std::min<int64_t>(j, nr - 1);
    for (int64_t m0 = 0; m0 < M; m0 += MR) {
      const int64_t mr = std::min<int64_t>(MR, M - m0);
      const float* xr[MR];
      for (int i = 0; i < MR; ++i) xr[i] = xp + (m0 + std::min<int64_t>(i, mr - 1)) * W;
      vf acc[MR][NR] = {};
      for (int64_t b = 0; b < q.n_blocks; ++b) {
        vf sv[NR], zv[NR];
        const uint8_t* c[NR];
        for (int j = 0; j < NR; ++j) {
          sv[j] = splat(q.scale(rows[j], b));
          zv[j] = splat(q.zero(rows[j], b));
          c[j] = q.block_codes(rows[j], b);
        }
#if defined(__AVX512F__)
        // The 16 values a code can stand for, (q - z) * s for q = 0..15, rounded as above: each code then becomes
        // its weight by one table permute (vpermps reads only an index's low 4 bits, so the high nibble needs
        // no mask). Two permutes per 32 codes instead of two conversions, a subtract and a multiply each.
        vf table[NR];
        for (int j = 0; j < NR; ++j) table[j] = (kIota - zv[j]) * sv[j];
#endif
#pragma GCC unroll 4
        for (int u = 0; u < kBlock / 2; u += kLanes) {
          vf lo[NR], hi[NR];
#pragma GCC unroll 16
          for (int j = 0; j < NR; ++j) {
#if defined(__AVX512F__)
            const __m512i idx = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(c[j] + u)));
            lo[j] = _mm512_permutexvar_ps(idx, table[j]);
            hi[j] = _mm512_permutexvar_ps(_mm512_srli_epi32(idx, 4), table[j]);
#else
            const auto bytes = *reinterpret_cast<const vb_u*>(c[j] + u);
            // bytes -> int32 -> float: two vector instructions each (u8 -> float directly is scalarized by GCC)
            lo[j] = (__builtin_convertvector(__builtin_convertvector(bytes & 15, vi), vf) - zv[j]) * sv[j];
            hi[j] = (__builtin_convertvector(__builtin_convertvector(bytes >> 4, vi), vf) - zv[j]) * sv[j];
#endif
          }
#pragma GCC unroll 16
          for (int i = 0; i < MR; ++i) {
            const vf xl = loadu(xr[i] + b * kBlock + u), xh = loadu(xr[i] + b * kBlock + kBlock / 2 + u);
#pragma GCC unroll 16
            for (int j = 0; j < NR; ++j) acc[i][j] = fma(xh, hi[j], fma(xl, lo[j], acc[i][j]));
          }
        }
      }
      for (int64_t i = 0; i < mr; ++i)
        for (int64_t j = 0; j < nr; ++j) y[(m0 + i) * N + n0 + j] = hsum(acc[i][j]) + (bias ? bias[n0 + j] : 0.f);
    }
  }
}

}  // namespace q4

template <int kBlock, typename S>
void linear_q4(const float* x, int64_t M, int64_t K, const uint8_t* codes, const S* scales, const uint8_t* zp,
               const float* bias, int64_t N, float* y) {
  static_assert(kBlock >= 16 && (kBlock & (kBlock - 1)) == 0, "MatMulNBits block_size is a power of 2, at least 16");
  const q4::Blocks<S> q{codes, scales, zp, K, (K + kBlock - 1) / kBlock, kBlock};
  // Activations in the codes' nibble order, zero past K: [M, n_blocks * kBlock].
  static thread_local std::vector<float> xp;
  const int64_t Kp = q.n_blocks * kBlock;
  xp.resize(static_cast<size_t>(M * Kp));
  q4::permute_rows<kBlock>(x, M, K, q.n_blocks, xp.data());
  if constexpr ((kBlock / 2) % simd::kLanes == 0) {
    if (M < gemm::kPanelRows) {
      // Tiles sized to the register file: MR x NR accumulators, 2 NR decoded vectors, NR scales and zero points.
      constexpr bool wide = simd::kRegs == 32;
      if (M == 1) q4::dot_tiles<kBlock, S, 1, wide ? 4 : 2>(xp.data(), M, q, bias, N, y);
      else if (M == 2) q4::dot_tiles<kBlock, S, 2, wide ? 4 : 2>(xp.data(), M, q, bias, N, y);
      else if (M <= 4) q4::dot_tiles<kBlock, S, 4, wide ? 2 : 1>(xp.data(), M, q, bias, N, y);
      else q4::dot_tiles<kBlock, S, 8, wide ? 2 : 1>(xp.data(), M, q, bias, N, y);
      return;
    }
  }
  gemm::gemm_panels(xp.data(), M, Kp, q4::Rows<S>{q}, bias, N, y);
}

}  // namespace tsc::cpu
