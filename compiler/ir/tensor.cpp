// Tensor element access and construction.
#include "compiler/ir/tensor.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace tsc {
namespace {

// double -> integer type I, saturating (NaN -> 0): out-of-range float-to-int conversion is undefined behaviour,
// and folded values come from whatever the model file holds.
template <class I>
I sat(double v) {
  if (std::isnan(v)) return 0;
  if (v <= static_cast<double>(std::numeric_limits<I>::min())) return std::numeric_limits<I>::min();
  if (v >= static_cast<double>(std::numeric_limits<I>::max())) return std::numeric_limits<I>::max();
  return static_cast<I>(v);
}

}  // namespace

int64_t saturating_i64(double v) { return sat<int64_t>(v); }

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;  // shapes are checked where they are made (import, eval)
  return n;
}

double Tensor::f64(int64_t i) const {
  const auto* p = static_cast<const uint8_t*>(data);
  switch (dtype) {
    case DType::kF32: { float v; std::memcpy(&v, p + 4 * i, 4); return v; }
    case DType::kF64: { double v; std::memcpy(&v, p + 8 * i, 8); return v; }
    case DType::kF16: { uint16_t v; std::memcpy(&v, p + 2 * i, 2); return f16_to_f32(v); }
    case DType::kBF16: { uint16_t v; std::memcpy(&v, p + 2 * i, 2); return bf16_to_f32(v); }
    case DType::kI64: { int64_t v; std::memcpy(&v, p + 8 * i, 8); return static_cast<double>(v); }
    case DType::kI32: { int32_t v; std::memcpy(&v, p + 4 * i, 4); return v; }
    case DType::kU32: { uint32_t v; std::memcpy(&v, p + 4 * i, 4); return v; }
    case DType::kU64: { uint64_t v; std::memcpy(&v, p + 8 * i, 8); return static_cast<double>(v); }
    case DType::kI16: { int16_t v; std::memcpy(&v, p + 2 * i, 2); return v; }
    case DType::kU16: { uint16_t v; std::memcpy(&v, p + 2 * i, 2); return v; }
    case DType::kI8: return static_cast<int8_t>(p[i]);
    case DType::kU8: case DType::kBool: return p[i];
    default: return 0;
  }
}

int64_t Tensor::i64(int64_t i) const {
  const auto* p = static_cast<const uint8_t*>(data);
  switch (dtype) {
    case DType::kI64: { int64_t v; std::memcpy(&v, p + 8 * i, 8); return v; }
    case DType::kI32: { int32_t v; std::memcpy(&v, p + 4 * i, 4); return v; }
    case DType::kU64: { uint64_t v; std::memcpy(&v, p + 8 * i, 8); return static_cast<int64_t>(v); }
    default: return sat<int64_t>(f64(i));
  }
}

std::vector<int64_t> Tensor::to_i64() const {
  std::vector<int64_t> v(numel());
  for (int64_t i = 0; i < numel(); ++i) v[i] = i64(i);
  return v;
}

std::vector<float> Tensor::to_f32() const {
  std::vector<float> v(numel());
  for (int64_t i = 0; i < numel(); ++i) v[i] = static_cast<float>(f64(i));
  return v;
}

Tensor Tensor::alloc(DType dt, std::vector<int64_t> shape) {
  Tensor t;
  t.dtype = dt;
  t.shape = std::move(shape);
  size_t n = std::max<size_t>(t.nbytes(), 1);
  std::shared_ptr<uint8_t[]> buf(new uint8_t[n]());
  t.data = buf.get();
  t.owner = std::shared_ptr<const void>(buf, buf.get());
  t.origin = "folded";
  return t;
}

Tensor Tensor::from_i64(const std::vector<int64_t>& v, std::vector<int64_t> shape) {
  Tensor t = alloc(DType::kI64, std::move(shape));
  if (!v.empty()) std::memcpy(t.mutable_data(), v.data(), v.size() * 8);  // (memcpy from null is undefined)
  return t;
}

Tensor Tensor::from_f32(const std::vector<float>& v, std::vector<int64_t> shape) {
  Tensor t = alloc(DType::kF32, std::move(shape));
  if (!v.empty()) std::memcpy(t.mutable_data(), v.data(), v.size() * 4);
  return t;
}

void Tensor::set_f64(int64_t i, double v) {
  auto* p = static_cast<uint8_t*>(mutable_data());
  switch (dtype) {
    case DType::kF32: { float x = static_cast<float>(v); std::memcpy(p + 4 * i, &x, 4); break; }
    case DType::kF64: std::memcpy(p + 8 * i, &v, 8); break;
    case DType::kF16: { uint16_t x = f32_to_f16(static_cast<float>(v)); std::memcpy(p + 2 * i, &x, 2); break; }
    case DType::kBF16: { uint16_t x = f32_to_bf16(static_cast<float>(v)); std::memcpy(p + 2 * i, &x, 2); break; }
    case DType::kI64: { int64_t x = sat<int64_t>(v); std::memcpy(p + 8 * i, &x, 8); break; }
    case DType::kI32: { int32_t x = sat<int32_t>(v); std::memcpy(p + 4 * i, &x, 4); break; }
    case DType::kU32: { uint32_t x = sat<uint32_t>(v); std::memcpy(p + 4 * i, &x, 4); break; }
    case DType::kU64: { uint64_t x = sat<uint64_t>(v); std::memcpy(p + 8 * i, &x, 8); break; }
    case DType::kI16: { int16_t x = sat<int16_t>(v); std::memcpy(p + 2 * i, &x, 2); break; }
    case DType::kU16: { uint16_t x = sat<uint16_t>(v); std::memcpy(p + 2 * i, &x, 2); break; }
    case DType::kI8: p[i] = static_cast<uint8_t>(sat<int8_t>(v)); break;
    case DType::kU8: p[i] = sat<uint8_t>(v); break;
    case DType::kBool: p[i] = v != 0; break;
    default: break;
  }
}

}  // namespace tsc
