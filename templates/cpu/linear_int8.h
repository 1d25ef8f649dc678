// CPU projections on 8-bit weights as quantize_dynamic writes them: DynamicQuantizeLinear(x), MatMulInteger with the
// int8/uint8 weight, then one float multiply by x_scale * w_scale. Computes what onnxruntime computes for the same
// nodes, integer for integer (checked by test/unit/cpu/linear_quant_test.cpp and the int8 fixtures' e2e tests).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

#include "templates/cpu/gemm.h"

namespace tsc::cpu {

// ONNX DynamicQuantizeLinear's parameters for the n values of x (one scale for the whole tensor, as the graph has it):
//   scale = (max(0, max x) - min(0, min x)) / 255, zp = clamp(round(-min(0, min x) / scale), 0, 255), rounding half
//   to even; scale 1 when x is all zeros (onnxruntime's choice, which then gives zp 0 and every code 0).
inline std::pair<float, uint8_t> dynamic_quant_params(const float* x, int64_t n) {
  float lo = 0.f, hi = 0.f;
  for (int64_t i = 0; i < n; ++i) lo = std::min(lo, x[i]), hi = std::max(hi, x[i]);
  const float scale = hi == lo ? 1.f : (hi - lo) / 255.f;
  return {scale, static_cast<uint8_t>(std::nearbyint(std::clamp(-lo / scale, 0.f, 255.f)))};
}

// DynamicQuantizeLinear's code of one value: clamp(round(x / scale) + zp, 0, 255) (a division, as onnxruntime's
// MlasQuantizeLinear; rounding half to even).
inline uint8_t dynamic_quant_code(float x, float scale, uint8_t zp) {
  return static_cast<uint8_t>(std::clamp(std::nearbyint(x / scale) + static_cast<float>(zp), 0.f, 255.f));
}

// y[M, N] = float(sum_k (xq[m, k] - x_zp[m]) (codes[n, k] - w_zp[n])) * (x_scale[m] * w_scale[n]) (+ bias[n]),
// xq[m, k] = dynamic_quant_code(x[m, k], x_scale[m], x_zp[m]). Rows of one step share their sequence's quantization
// parameters (the caller's dynamic_quant_params over the rows the graph quantizes together).
//   codes: [N, K] int8 or uint8 (C), the file's [K, N] transposed; w_zp: [N] (C); w_scale: [N].
// Integer accumulation is exact (|products| <= 255^2, K < 33000), as MatMulInteger's int32; the float multiply
// rounds once, as the graph's Mul does. With AVX-512 VNNI the integer work is vpdpbusd (u8 x s8, 64 products per
// instruction): dot tiles for decode rows (i8::tile), packed weight panels for prompt-sized steps (i8::panel_rows);
// elsewhere a plain int16 loop that GCC vectorizes.
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
namespace i8 {

// vpdpbusd multiplies u8 by s8 and sums 4 products into each int32 lane, exactly. The activations' codes are u8 as
// DynamicQuantizeLinear gives them; int8 weights are s8 as they are, uint8 ones become s8 by flipping the top bit
// (w - 128, and their zero point with them). Then, with Sx = sum_k xq and Sw = sum_k w (both exact):
//   sum_k (xq - zx)(w - zw) = sum_k xq w - zw Sx - zx Sw + K zx zw.
// 64 weight codes as s8 (uint8 ones with the top bit flipped); bytes past the mask are 0, so they add nothing to
// the products nor to the weight sums.
template <typename C>
inline __m512i weight_bytes(const C* p, __mmask64 m) {
  const __m512i v = _mm512_maskz_loadu_epi8(m, p);
  if constexpr (std::is_same_v<C, uint8_t>) return _mm512_maskz_mov_epi8(m, _mm512_xor_si512(v, _mm512_set1_epi8(static_cast<char>(0x80))));
  else return v;
}
template <typename C>
inline int32_t signed_zero(C z) {
  if constexpr (std::is_same_v<C, uint8_t>) return static_cast<int32_t>(z) - 128;
  else return static_cast<int32_t>(z);
}

// One MR x NR tile: the MR rows m0.. of xq ([M, Kp] u8, zero past K) against the nr <= NR weight rows n0.. ([N, K]);
// writes y.
template <typename C, int MR, int NR>
void tile(const uint8_t* xq, int64_t Kp, int64_t K, const int32_t* sx, const float* x_scale, const uint8_t* x_zp, const C* codes,
          const C* w_zp, const float* w_scale, const float* bias, int64_t N, int64_t m0, int64_t n0, int64_t nr, float* y) {
  const C* w[NR];
  for (int j = 0; j < NR; ++j) w[j] = codes + (n0 + std::min<int64_t>(j, nr - 1)) * K;
  const uint8_t* xr[MR];
  for (int i = 0; i < MR; ++i) xr[i] = xq + (m0 + i) * Kp;
  __m512i acc[MR][NR], sw[NR];
  for (int j = 0; j < NR; ++j) {
    sw[j] = _mm512_setzero_si512();
    for (int i = 0; i < MR; ++i) acc[i][j] = _mm512_setzero_si512();
  }
  const __m512i ones = _mm512_set1_epi8(1);
  for (int64_t k = 0; k < K; k += 64) {
    const __mmask64 m = K - k >= 64 ? ~__mmask64{0} : (__mmask64{1} << (K - k)) - 1;
    __m512i wv[NR];
    for (int j = 0; j < NR; ++j) {
      wv[j] = weight_bytes(w[j] + k, m);
      sw[j] = _mm512_dpbusd_epi32(sw[j], ones, wv[j]);
    }
    for (int i = 0; i < MR; ++i) {
      const __m512i xv = _mm512_loadu_si512(xr[i] + k);
      for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], xv, wv[j]);
    }
  }
  for (int j = 0; j < nr; ++j) {
    const int64_t n = n0 + j, zw = signed_zero(w_zp[n]), swn = _mm512_reduce_add_epi32(sw[j]);
    for (int i = 0; i < MR; ++i) {
      const int64_t m = m0 + i, zx = x_zp[m];
      const int64_t dot = static_cast<int64_t>(_mm512_reduce_add_epi32(acc[i][j])) - zw * sx[m] - zx * swn + K * zx * zw;
      y[m * N + n] = static_cast<float>(static_cast<int32_t>(dot)) * (x_scale[m] * w_scale[n]) + (bias ? bias[n] : 0.f);
    }
  }
}

// Prompt-sized steps: each thread packs 32 weight rows (two panels of 16) so that one 64-byte vector holds 4
// consecutive k of 16 columns, [K4 / 4][2][16 columns x 4 k] s8 (K4 = K rounded up to 4, zero-padded), with
// their sums; then MR rows at a time broadcast 4 codes of a row and accumulate 2 x MR column vectors with
// vpdpbusd (no horizontal sums). The correction terms and the scales are applied 16 columns at a time; the
// int32 wrap-around of the intermediate terms cancels, the final integer being exact as in tile().
template <typename C>
void pack_panels(const C* codes, int64_t K, int64_t N, int64_t n0, int8_t* buf, int32_t* sw) {
  const int64_t groups = (K + 3) / 4;
  std::fill(buf, buf + groups * 128, int8_t{0});
  // uint8 codes become s8 by flipping each byte's top bit; the padding past K stays 0.
  constexpr uint32_t flip = std::is_same_v<C, uint8_t> ? 0x80808080u : 0u;
  for (int c = 0; c < 32 && n0 + c < N; ++c) {
    const uint8_t* w = reinterpret_cast<const uint8_t*>(codes + (n0 + c) * K);
    int8_t* o = buf + (c / 16) * 64 + (c % 16) * 4;
    int64_t g = 0;
    for (; 4 * g + 4 <= K; ++g) {
      uint32_t four;
      std::memcpy(&four, w + 4 * g, 4);
      four ^= flip;
      std::memcpy(o + g * 128, &four, 4);
    }
    for (int64_t k = 4 * g; k < K; ++k) o[g * 128 + (k - 4 * g)] = static_cast<int8_t>(w[k] ^ static_cast<uint8_t>(flip));
  }
  // Column sums: vpdpbusd of all-ones bytes with the packed vectors sums each column's 4 codes per group.
  const __m512i ones = _mm512_set1_epi8(1);
  __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
  for (int64_t g = 0; g < groups; ++g) {
    s0 = _mm512_dpbusd_epi32(s0, ones, _mm512_loadu_si512(buf + g * 128));
    s1 = _mm512_dpbusd_epi32(s1, ones, _mm512_loadu_si512(buf + g * 128 + 64));
  }
  _mm512_storeu_si512(sw, s0);
  _mm512_storeu_si512(sw + 16, s1);
}

template <typename C, int MR>
void panel_rows(const uint8_t* xq, int64_t K4, int64_t K, const int32_t* sx, const float* x_scale, const uint8_t* x_zp,
                const int8_t* buf, const int32_t* sw, const C* w_zp, const float* w_scale, const float* bias, int64_t N,
                int64_t n0, int64_t m0, int64_t mr, float* y) {
  const uint8_t* xr[MR];
  for (int i = 0; i < MR; ++i) xr[i] = xq + (m0 + std::min<int64_t>(i, mr - 1)) * K4;
  __m512i acc[MR][2];
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_si512();
  for (int64_t g = 0; g < K4 / 4; ++g) {
    const __m512i w0 = _mm512_loadu_si512(buf + g * 128), w1 = _mm512_loadu_si512(buf + g * 128 + 64);
    for (int i = 0; i < MR; ++i) {
      int32_t four;
      std::memcpy(&four, xr[i] + 4 * g, 4);
      const __m512i xv = _mm512_set1_epi32(four);
      acc[i][0] = _mm512_dpbusd_epi32(acc[i][0], xv, w0);
      acc[i][1] = _mm512_dpbusd_epi32(acc[i][1], xv, w1);
    }
  }
  for (int p = 0; p < 2; ++p) {
    const int64_t c0 = n0 + 16 * p;
    if (c0 >= N) break;
    const __mmask16 cols = N - c0 >= 16 ? __mmask16(0xffff) : static_cast<__mmask16>((1u << (N - c0)) - 1);
    alignas(64) int32_t zw[16];
    for (int c = 0; c < 16; ++c) zw[c] = c0 + c < N ? signed_zero(w_zp[c0 + c]) : 0;
    const __m512i zwv = _mm512_load_si512(zw), swv = _mm512_loadu_si512(sw + 16 * p);
    const __m512 ws = _mm512_maskz_loadu_ps(cols, w_scale + c0);
    const __m512 bv = bias ? _mm512_maskz_loadu_ps(cols, bias + c0) : _mm512_setzero_ps();
    for (int64_t i = 0; i < mr; ++i) {
      const int64_t m = m0 + i;
      const __m512i zx = _mm512_set1_epi32(x_zp[m]);
      // acc - zw Sx - zx Sw + K zx zw, in wrapping int32 lanes
      __m512i dot = _mm512_sub_epi32(acc[i][p], _mm512_mullo_epi32(zwv, _mm512_set1_epi32(sx[m])));
      dot = _mm512_sub_epi32(dot, _mm512_mullo_epi32(zx, swv));
      dot = _mm512_add_epi32(dot, _mm512_mullo_epi32(_mm512_set1_epi32(static_cast<int32_t>(K) * x_zp[m]), zwv));
      const __m512 scale = _mm512_mul_ps(_mm512_set1_ps(x_scale[m]), ws);
      _mm512_mask_storeu_ps(y + m * N + c0, cols, _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(dot), scale), bv));
    }
  }
}

}  // namespace i8
#endif

template <typename C>
void linear_i8(const float* x, int64_t M, int64_t K, const float* x_scale, const uint8_t* x_zp, const C* codes, const C* w_zp,
               const float* w_scale, const float* bias, int64_t N, float* y) {
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
  // The quantized rows as codes, [M, Kp] zero past K (whole groups of 4 for the panels, whole 64-byte vectors for
  // the tiles), and their sums.
  const bool panels = M >= 8;
  const int64_t Kp = panels ? (K + 3) / 4 * 4 : (K + 63) / 64 * 64;
  static thread_local std::vector<uint8_t> xq;
  static thread_local std::vector<int32_t> sx;
  xq.assign(static_cast<size_t>(M * Kp), 0);
  sx.assign(static_cast<size_t>(M), 0);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < K; ++k) sx[m] += xq[m * Kp + k] = dynamic_quant_code(x[m * K + k], x_scale[m], x_zp[m]);
  const uint8_t* xqp = xq.data();
  const int32_t* sxp = sx.data();
  if (panels) {
#pragma omp parallel if (gemm::worth_threads(M, K, N))
    {
      std::vector<int8_t> buf(static_cast<size_t>(Kp / 4 * 128));
      int32_t sw[32];
#pragma omp for schedule(static)
      for (int64_t n0 = 0; n0 < N; n0 += 32) {
        i8::pack_panels(codes, K, N, n0, buf.data(), sw);
        for (int64_t m0 = 0; m0 < M; m0 += 8)
          i8::panel_rows<C, 8>(xqp, Kp, K, sxp, x_scale, x_zp, buf.data(), sw, w_zp, w_scale, bias, N, n0, m0, std::min<int64_t>(8, M - m0), y);
      }
    }
    return;
  }
  // Decode steps: 1 x 8 tiles for one row, 4 x 4 for 4 to 7 (16 accumulators, 4 weight vectors, 4 weight sums).
#pragma omp parallel for schedule(static) if (gemm::worth_threads(M, K, N))
  for (int64_t n0 = 0; n0 < N; n0 += 8) {
    const int64_t m4 = M >= 4 ? 4 : 0;
    for (int64_t h = n0; m4 && h < std::min(N, n0 + 8); h += 4)
      i8::tile<C, 4, 4>(xqp, Kp, K, sxp, x_scale, x_zp, codes, w_zp, w_scale, bias, N, 0, h, std::min<int64_t>(4, N - h), y);
    for (int64_t m = m4; m < M; ++m)
      i8::tile<C, 1, 8>(xqp, Kp, K, sxp, x_scale, x_zp, codes, w_zp, w_scale, bias, N, m, n0, std::min<int64_t>(8, N - n0), y);
  }
  return;
#endif
  // The quantized rows as int16 differences from their zero point: [M, K] in [-255, 255].
  static thread_local std::vector<int16_t> xd;
  xd.resize(static_cast<size_t>(M * K));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < K; ++k)
      xd[m * K + k] = static_cast<int16_t>(dynamic_quant_code(x[m * K + k], x_scale[m], x_zp[m]) - x_zp[m]);
  const int16_t* xdp = xd.data();
  // Blocks of rows small enough to stay in L1 beside one widened weight row while every output column passes
  // over them (prefill; a decode step is one block).
  const int64_t rows_per_block = std::max<int64_t>(1, (16 << 10) / (2 * K));
#pragma omp parallel if (gemm::worth_threads(M, K, N))
  {
    std::vector<int16_t> wd(static_cast<size_t>(K));  // one weight row as int16 differences from its zero point
    for (int64_t m0 = 0; m0 < M; m0 += rows_per_block) {
      const int64_t m1 = std::min(M, m0 + rows_per_block);
#pragma omp for schedule(static)
      for (int64_t n = 0; n < N; ++n) {
        const C* c = codes + n * K;
        const int16_t z = static_cast<int16_t>(w_zp[n]);
        for (int64_t k = 0; k < K; ++k) wd[k] = static_cast<int16_t>(static_cast<int16_t>(c[k]) - z);
        for (int64_t m = m0; m < m1; ++m) {
          const int16_t* a = xdp + m * K;
          int32_t acc = 0;
          // GCC turns this int16 x int16 -> int32 sum into vpmaddwd / vpdpwssd; `omp simd reduction` made it
          // widen to int32 and multiply with vpmulld instead (2.4x slower).
          for (int64_t k = 0; k < K; ++k) acc += static_cast<int32_t>(a[k]) * static_cast<int32_t>(wd[k]);
          y[m * N + n] = static_cast<float>(acc) * (x_scale[m] * w_scale[n]) + (bias ? bias[n] : 0.f);
        }
      }
    }
  }
}

}  // namespace tsc::cpu
