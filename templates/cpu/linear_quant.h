// CPU projections on weights kept quantized as the ONNX file has them: MatMulNBits (4-bit blocks) and MatMulInteger after DynamicQuantizeLinear.
// Each computes what onnxruntime's CPU kernels compute for the same node (checked by test/unit/cpu/linear_quant_test.cpp).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "templates/cpu/common.h"

namespace tsc::cpu {

// com.microsoft MatMulNBits, bits = 4, accuracy_level 0/1 (float32 compute): y[M,N] = x[M,K] W^T (+ bias) with
//   W[n, k] = (q[n, k] - z[n, b]) * scale[n, b],  b = k / kBlock
//   codes:  [N, n_blocks, kBlock / 2] uint8, two codes per byte, the lower k in the low nibble;
//           K need not be a multiple of kBlock: the last block's tail codes are padding and never read
//   scales: [N * n_blocks] (S = float or f16_t, q4f16 files)
//   zp:     [N, ceil(n_blocks / 2)] uint8, packed like the codes; nullptr means 8 (symmetric quantization)
template <int kBlock, typename S>
void linear_q4(const float* x, int64_t M, int64_t K, const uint8_t* codes, const S* scales, const uint8_t* zp,
               const float* bias, int64_t N, float* y) {
  static_assert(kBlock >= 16 && (kBlock & (kBlock - 1)) == 0, "MatMulNBits block_size is a power of 2, at least 16");
  const int64_t n_blocks = (K + kBlock - 1) / kBlock;
  const int64_t zp_row = (n_blocks + 1) / 2;
  std::vector<float> wrow(static_cast<size_t>(K));
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t b = 0; b < n_blocks; ++b) {
      const float s = to_f32(scales[n * n_blocks + b]);
      const int z = zp ? (zp[n * zp_row + b / 2] >> (4 * (b & 1))) & 15 : 8;
      const uint8_t* blk = codes + (n * n_blocks + b) * (kBlock / 2);
      const int64_t k0 = b * kBlock, k1 = std::min(K, k0 + kBlock);
      for (int64_t k = k0; k < k1; ++k) {
        const int64_t j = k - k0;
        const int q = (blk[j / 2] >> (4 * (j & 1))) & 15;
        wrow[k] = static_cast<float>(q - z) * s;
      }
    }
    const float bb = bias ? bias[n] : 0.f;
    for (int64_t m = 0; m < M; ++m) y[m * N + n] = dot(x + m * K, wrow.data(), K) + bb;
  }
}

// ONNX DynamicQuantizeLinear over all n values of x (one scale for the whole tensor, as the graph has it):
//   scale = (max(0, max x) - min(0, min x)) / 255, zp = clamp(round(-min(0, min x) / scale), 0, 255),
//   q = clamp(round(x / scale) + zp, 0, 255), rounding half to even; scale 1 for x all zeros. Returns (scale, zp).
inline std::pair<float, uint8_t> dynamic_quantize_u8(const float* x, int64_t n, uint8_t* q) {
  float lo = 0.f, hi = 0.f;
  for (int64_t i = 0; i < n; ++i) lo = std::min(lo, x[i]), hi = std::max(hi, x[i]);
  // x all zeros: onnxruntime takes scale 1 (then zp = 0 and every code 0), not 0 / 255.
  const float scale = hi == lo ? 1.f : (hi - lo) / 255.f;
  const float zf = std::nearbyint(std::clamp(-lo / scale, 0.f, 255.f));
  for (int64_t i = 0; i < n; ++i) {
    const float v = std::nearbyint(x[i] / scale) + zf;  // a division, as onnxruntime's MlasQuantizeLinear
    q[i] = static_cast<uint8_t>(std::clamp(v, 0.f, 255.f));
  }
  return {scale, static_cast<uint8_t>(zf)};
}

// MatMulInteger(DynamicQuantizeLinear(x), Wq, x_zp, w_zp) * (x_scale * w_scale) (+ bias): what quantize_dynamic
// writes for a MatMul with a constant weight. Wq: [K, N] int8 or uint8 (T) as the file stores it; w_zp and
// w_scale per tensor (size 1) or per output column (size N). int32 accumulation, then one float multiply.
// xq: scratch of M*K bytes. x is quantized as one tensor of M rows, as onnxruntime quantizes the graph's tensor.
template <typename T>
void linear_int8_dynamic(const float* x, int64_t M, int64_t K, const T* wq, const T* w_zp, const float* w_scale,
                         int64_t n_wq, const float* bias, int64_t N, float* y, uint8_t* xq) {
  const auto [x_scale, x_zp] = dynamic_quantize_u8(x, M * K, xq);
  for (int64_t n = 0; n < N; ++n) {
    const int32_t wz = n_wq == 1 ? w_zp[0] : w_zp[n];
    const float s = x_scale * (n_wq == 1 ? w_scale[0] : w_scale[n]);
    const float bb = bias ? bias[n] : 0.f;
    for (int64_t m = 0; m < M; ++m) {
      int32_t acc = 0;
      for (int64_t k = 0; k < K; ++k)
        acc += (static_cast<int32_t>(xq[m * K + k]) - x_zp) * (static_cast<int32_t>(wq[k * N + n]) - wz);
      y[m * N + n] = static_cast<float>(acc) * s + bb;
    }
  }
}

}  // namespace tsc::cpu
