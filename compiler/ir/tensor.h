// Constant tensors of the IR: initializers (pointing into the mapped model or external data) and folded values.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "contract/dtype.h"

namespace tsc {

struct Tensor {
  DType dtype = DType::kUndefined;
  std::vector<int64_t> shape;
  const void* data = nullptr;           // numel * dtype_size bytes, not owned
  std::shared_ptr<const void> owner;    // keeps data alive (mapping, protobuf message or own buffer)
  std::string origin;                   // where the bytes live, for diagnostics ("model.onnx.data@4096")

  int64_t numel() const;
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype); }
  bool is_scalar_like() const { return numel() == 1; }

  // Element i converted to double / int64 (any numeric dtype).
  double f64(int64_t i) const;
  int64_t i64(int64_t i) const;
  std::vector<int64_t> to_i64() const;
  std::vector<float> to_f32() const;

  // A tensor with its own zero-filled buffer.
  static Tensor alloc(DType dt, std::vector<int64_t> shape);
  static Tensor from_i64(const std::vector<int64_t>& v, std::vector<int64_t> shape);
  static Tensor from_f32(const std::vector<float>& v, std::vector<int64_t> shape);
  static Tensor scalar_i64(int64_t v) { return from_i64({v}, {}); }
  void* mutable_data() { return const_cast<void*>(data); }  // only for tensors made by alloc()
  void set_f64(int64_t i, double v);
};

// v as int64, saturating at the range's ends (NaN gives 0): a defined float-to-int conversion.
int64_t saturating_i64(double v);

}  // namespace tsc
