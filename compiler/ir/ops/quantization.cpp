// Quantized weights as transformers.js's variants carry them: com.microsoft MatMulNBits (q4), DynamicQuantizeLinear
// (int8 activations before MatMulInteger, in matmul.cpp) and DequantizeLinear (quantized tables). Inference checks every
// attribute and constant shape the kernels index by (a malformed file is refused here, before anything reads it);
// none is evaluated, so folding never expands a quantized weight.
#include "compiler/ir/ops/families.h"
#include "compiler/ir/ops/infer_ctx.h"
#include "contract/error.h"

namespace tsc::ops {
namespace {

[[noreturn]] void refuse(const Node& n, const std::string& why, const std::string& hint) { throw Error(n.describe() + ": " + why, hint); }

const char* kRequantize = "the file's quantization is malformed; quantize the float model again (onnxruntime.quantization)";

int64_t numel(const Tensor& t) { return t.numel(); }

// MatMulNBits(A [.., K], B [N, n_blocks, block_size * bits / 8] uint8, scales [N * n_blocks], zero_points?, g_idx?, bias?)
//   -> [.., N], A's dtype; n_blocks = ceil(K / block_size).
void infer_matmul_nbits(InferCtx& c, Node& n) {
  const int64_t K = n.attr_i("K", -1), N = n.attr_i("N", -1), bits = n.attr_i("bits", 4), bs = n.attr_i("block_size", -1);
  if (K <= 0 || N <= 0) refuse(n, "K and N must be positive (K=" + std::to_string(K) + ", N=" + std::to_string(N) + ")", kRequantize);
  if (bs < 16 || (bs & (bs - 1)) != 0)
    refuse(n, "block_size " + std::to_string(bs) + " is not a power of 2 of at least 16", kRequantize);
  if (bits != 4)
    refuse(n, std::to_string(bits) + "-bit weights are not supported (4-bit only)",
           "quantize with MatMulNBitsQuantizer(bits=4), or compile the float model");
  const int64_t n_blocks = (K + bs - 1) / bs, blob = bs * bits / 8;
  if (n.input(4).size()) refuse(n, "g_idx (act-order) is not supported", "quantize without act-order, or compile the float model");
  if (const Tensor* b = c.g.constant(n.input(1))) {
    if (b->dtype != DType::kU8 || b->shape != std::vector<int64_t>{N, n_blocks, blob})
      refuse(n, "B is " + tensor_type_str(b->dtype, b->shape) + ", expected u8[" + std::to_string(N) + "," + std::to_string(n_blocks) +
                    "," + std::to_string(blob) + "] for K=" + std::to_string(K) + ", block_size=" + std::to_string(bs), kRequantize);
  } else {
    refuse(n, "B '" + n.input(1) + "' is not a constant", "tsc compiles quantized weights stored in the file");
  }
  const Tensor* s = c.g.constant(n.input(2));
  if (!s) refuse(n, "scales '" + n.input(2) + "' are not a constant", "tsc compiles quantized weights stored in the file");
  if (numel(*s) != N * n_blocks || !(s->dtype == DType::kF32 || s->dtype == DType::kF16))
    refuse(n, "scales are " + tensor_type_str(s->dtype, s->shape) + ", expected " + std::to_string(N * n_blocks) + " f32 or f16 values", kRequantize);
  if (!n.input(3).empty()) {
    const Tensor* z = c.g.constant(n.input(3));
    if (!z) refuse(n, "zero points '" + n.input(3) + "' are not a constant", "tsc compiles quantized weights stored in the file");
    const int64_t packed = N * ((n_blocks * bits + 7) / 8);
    if (z->dtype != DType::kU8)
      refuse(n, "zero points of type " + dtype_name(z->dtype) + " are not supported (packed u8 only)", "quantize with MatMulNBitsQuantizer");
    if (numel(*z) != packed)
      refuse(n, "zero points are " + tensor_type_str(z->dtype, z->shape) + ", expected " + std::to_string(packed) + " packed u8 values", kRequantize);
  }
  auto a = c.in_shape(n, 0);
  if (a && !a->empty() && a->back().is_const() && *a->back().as_const() != K)
    refuse(n, "A's last dimension is " + a->back().str() + ", not K=" + std::to_string(K), kRequantize);
  std::optional<SymShape> out;
  if (a && !a->empty()) {
    out = *a;
    out->back() = SymExpr(N);
  }
  c.set(InferCtx::out0(n), c.in_dt(n, 0), out);
}

// DynamicQuantizeLinear(x float) -> y u8 [x's shape], y_scale f32 [], y_zero_point u8 [].
void infer_dynamic_quantize(InferCtx& c, Node& n) {
  if (c.in_dt(n, 0) != DType::kF32 && c.in_dt(n, 0) != DType::kUndefined)
    refuse(n, "input is " + dtype_name(c.in_dt(n, 0)) + ", DynamicQuantizeLinear takes f32", kRequantize);
  c.set(InferCtx::out0(n), DType::kU8, c.in_shape(n, 0));
  if (n.outputs.size() > 1) c.set(n.outputs[1], DType::kF32, SymShape{});
  if (n.outputs.size() > 2) c.set(n.outputs[2], DType::kU8, SymShape{});
}

// DequantizeLinear(x, x_scale, x_zero_point?)<axis=1, block_size=0> -> x's shape in x_scale's dtype; the scale is
// per tensor (1 value) or per slice along axis (x.shape[axis] values); blocked scales (opset 21) are refused.
void infer_dequantize(InferCtx& c, Node& n) {
  auto x = c.in_shape(n, 0);
  if (n.attr_i("block_size", 0) != 0) refuse(n, "blocked DequantizeLinear is not supported", "quantize per tensor or per channel");
  const Tensor* s = c.g.constant(n.input(1));
  if (s && x && numel(*s) != 1) {
    const int64_t ax = InferCtx::norm_axis(n, n.attr_i("axis", 1), x->size());
    if (!(*x)[ax].is_const() || *(*x)[ax].as_const() != numel(*s))
      refuse(n, "x_scale has " + std::to_string(numel(*s)) + " values for axis " + std::to_string(ax) + " of " + shape_str(*x), kRequantize);
    if (const Tensor* z = c.g.constant(n.input(2)); z && numel(*z) != numel(*s))
      refuse(n, "x_zero_point has " + std::to_string(numel(*z)) + " values, x_scale " + std::to_string(numel(*s)), kRequantize);
  }
  c.set(InferCtx::out0(n), s ? s->dtype : DType::kF32, x);
}

}  // namespace

void add_quantization_ops(OpTable& t) {
  t.add({.domain = "com.microsoft", .op = "MatMulNBits", .min_inputs = 3, .min_outputs = 1, .infer = infer_matmul_nbits});
  t.add({.domain = "", .op = "DynamicQuantizeLinear", .min_inputs = 1, .min_outputs = 3, .infer = infer_dynamic_quantize});
  t.add({.domain = "", .op = "DequantizeLinear", .min_inputs = 2, .min_outputs = 1, .infer = infer_dequantize});
}

}  // namespace tsc::ops
