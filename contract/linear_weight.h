// How a projection's weight sits in the payload: the contract between compiler/driver/weights.cpp (writer) and the
// backends (readers). A dense weight is one tensor <name> [out, in] in the build's weight dtype; a 4-bit weight
// (MatMulNBits) is three tensors kept as the file has them, rows concatenated where projections are fused:
//   <name>.q4           u8  [out, n_blocks, block_size / 2]  two codes per byte, lower k in the low nibble
//   <name>.scales       f32 or f16 [out, n_blocks]
//   <name>.zero_points  u8  [out, ceil(n_blocks / 2)]  (absent: symmetric, zero point 8)
// with W[n, k] = (code[n, k] - zero_point[n, k / block_size]) * scale[n, k / block_size]; an 8-bit weight
// (MatMulInteger) is three tensors too, transposed to [out, in] and rows concatenated where projections are fused:
//   <name>.i8           i8 or u8  [out, in]
//   <name>.scales       f32 [out]            (a per-tensor scale written once per row)
//   <name>.zero_points  the codes' dtype [out]
// with y[m, n] = float(sum_k (xq[m, k] - xz[m]) (code[n, k] - zero_point[n])) * (xs[m] * scale[n]), x quantized
// per step as DynamicQuantizeLinear does (xq, xs, xz).
#pragma once
#include <cstdint>
#include <string>

#include "contract/dtype.h"

namespace tsc {

class Payload;

enum class WeightFormat : int32_t { kDense = 0, kQ4 = 1, kI8 = 2 };

struct LinearWeight {
  WeightFormat format = WeightFormat::kDense;
  int64_t out = 0, in = 0;
  const void* data = nullptr;            // dense: [out, in]; q4 and i8: the codes
  DType dtype = DType::kF32;             // dense: element type; q4: kU8; i8: kI8 or kU8
  const void* scales = nullptr;          // q4 and i8
  DType scale_dtype = DType::kF32;
  const uint8_t* zero_points = nullptr;  // q4 and i8 (bytes of the codes' dtype); q4: null = symmetric
  int64_t block_size = 0;                // q4 only
  int64_t bytes() const;                 // bytes read per use (codes + scales + zero points, or the dense matrix)
};

std::string q4_codes_name(const std::string& name);
std::string q4_scales_name(const std::string& name);
std::string q4_zero_points_name(const std::string& name);
std::string i8_codes_name(const std::string& name);

// Row n of a 4-bit weight, dequantized: out[k] = W[n, k] for k < in (the gather of a tied embedding table kept as the
// LM head's 4-bit blocks, Quantization::tied_head). Dense and 8-bit weights are not read this way.
void dequantize_q4_row(const LinearWeight& w, int64_t n, float* out);

// Reads the [out, in] weight stored under `name` in either format (the spec gives out and in: 4-bit codes do not
// say in when it is not a multiple of the block); throws tsc::Error naming it when absent or of another shape.
LinearWeight read_linear_weight(const Payload& p, const std::string& name, int64_t out, int64_t in);

}  // namespace tsc
