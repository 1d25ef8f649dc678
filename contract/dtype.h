// Element types, numbered as ONNX's TensorProto.DataType, with fp16/bf16 conversions shared by compiler and runtime.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace tsc {

enum class DType : int32_t {
  kUndefined = 0,
  kF32 = 1,
  kU8 = 2,
  kI8 = 3,
  kU16 = 4,
  kI16 = 5,
  kI32 = 6,
  kI64 = 7,
  kString = 8,
  kBool = 9,
  kF16 = 10,
  kF64 = 11,
  kU32 = 12,
  kU64 = 13,
  kBF16 = 16,
};

// Size in bytes of one element; 0 for undefined/string/unknown codes.
size_t dtype_size(DType t);
// Short lowercase name ("f32", "bf16", "i64", ...); "dtype(<code>)" for codes tsc does not handle.
std::string dtype_name(DType t);
// Inverse of dtype_name; kUndefined when unknown.
DType dtype_from_name(const std::string& name);
bool dtype_is_float(DType t);
bool dtype_is_known(int32_t code);

inline float bf16_to_f32(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Round-to-nearest-even, NaN preserved.
inline uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

// "f32[2,3]"
std::string tensor_type_str(DType t, const std::vector<int64_t>& shape);

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);

}  // namespace tsc
