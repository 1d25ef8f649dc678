// DType names, sizes and IEEE half conversions.
#include "contract/dtype.h"

#include <cmath>

namespace tsc {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::kF32: case DType::kI32: case DType::kU32: return 4;
    case DType::kF64: case DType::kI64: case DType::kU64: return 8;
    case DType::kF16: case DType::kBF16: case DType::kI16: case DType::kU16: return 2;
    case DType::kU8: case DType::kI8: case DType::kBool: return 1;
    default: return 0;
  }
}

std::string dtype_name(DType t) {
  switch (t) {
    case DType::kF32: return "f32";
    case DType::kU8: return "u8";
    case DType::kI8: return "i8";
    case DType::kU16: return "u16";
    case DType::kI16: return "i16";
    case DType::kI32: return "i32";
    case DType::kI64: return "i64";
    case DType::kString: return "string";
    case DType::kBool: return "bool";
    case DType::kF16: return "f16";
    case DType::kF64: return "f64";
    case DType::kU32: return "u32";
    case DType::kU64: return "u64";
    case DType::kBF16: return "bf16";
    default: return "dtype(" + std::to_string(static_cast<int>(t)) + ")";
  }
}

DType dtype_from_name(const std::string& n) {
  for (int c : {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16})
    if (dtype_name(static_cast<DType>(c)) == n) return static_cast<DType>(c);
  if (n == "fp32" || n == "float32") return DType::kF32;
  if (n == "fp16" || n == "float16") return DType::kF16;
  if (n == "bfloat16") return DType::kBF16;
  return DType::kUndefined;
}

bool dtype_is_float(DType t) { return t == DType::kF32 || t == DType::kF16 || t == DType::kBF16 || t == DType::kF64; }

bool dtype_is_known(int32_t c) { return dtype_size(static_cast<DType>(c)) != 0 || c == 8; }

std::string tensor_type_str(DType t, const std::vector<int64_t>& shape) {
  std::string s = dtype_name(t) + "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

float f16_to_f32(uint16_t h) {
  uint32_t sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  float v;
  if (exp == 0)
    v = std::ldexp(static_cast<float>(mant), -24);
  else if (exp == 31)
    v = mant ? NAN : INFINITY;
  else
    v = std::ldexp(static_cast<float>(mant | 0x400), static_cast<int>(exp) - 25);
  return sign ? -v : v;
}

uint16_t f32_to_f16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  uint32_t sign = (u >> 16) & 0x8000;
  uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00);  // NaN
  if (a >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00);  // overflow -> inf (rounds past 65504)
  if (a < 0x38800000u) {  // subnormal or zero in half: scale to units of 2^-24 and round to nearest even
    float af;
    std::memcpy(&af, &a, 4);
    float scaled = af * 16777216.0f;  // exact: power of two
    uint32_t m = static_cast<uint32_t>(std::nearbyint(scaled));
    return static_cast<uint16_t>(sign | m);
  }
  uint32_t exp = ((a >> 23) - 112) << 10;
  uint32_t mant = a & 0x7fffff;
  uint32_t h = exp | (mant >> 13);
  uint32_t rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) ++h;
  return static_cast<uint16_t>(sign | h);
}

}  // namespace tsc
