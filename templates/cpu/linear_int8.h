// CPU projections on 8-bit weights as quantize_dynamic writes them: DynamicQuantizeLinear(x), MatMulInteger with the
// int8/uint8 weight, then one float multiply by x_scale * w_scale. Computes what onnxruntime computes for the same
// nodes, integer for integer (checked by test/unit/cpu/linear_quant_test.cpp and the int8 fixtures' e2e tests).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
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
// rounds once, as the graph's Mul does.
template <typename C>
void linear_i8(const float* x, int64_t M, int64_t K, const float* x_scale, const uint8_t* x_zp, const C* codes, const C* w_zp,
               const float* w_scale, const float* bias, int64_t N, float* y) {
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
