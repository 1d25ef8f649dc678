// The model's weight format, summarized from its linear bindings: which projections the file keeps quantized, in
// 4-bit blocks (MatMulNBits) or in 8 bits (MatMulInteger). The kernels specialize on one block size and one scale
// type (templates/cpu/kernels.h), and one 8-bit code type, so a mix is refused here.
#include "compiler/lift/lift.h"
#include "contract/error.h"

namespace tsc {
namespace {

const char* kOneFormat = "quantize every MatMul of the model the same way (MatMulNBitsQuantizer with one block_size, or quantize_dynamic with one weight_type)";

// The format one binding carries, as Quantization describes it (bits 0: a float weight).
Quantization format_of(const WeightBinding& w) {
  Quantization q;
  q.bits = 0;
  if (w.q4) {
    q.bits = 4;
    q.block_size = w.q4->block_size;
    q.scale_dtype = w.q4->scale_dtype;
    q.zero_points = !w.q4->zero_points.empty();
  } else if (w.i8) {
    q.format = w.source_dtype == DType::kI8 ? "int8" : "uint8";
    q.bits = 8;
    q.zero_points = !w.i8->zero_points.empty();
  }
  return q;
}

std::string describe(const Quantization& q) {
  return q.bits == 4 ? "4-bit blocks of " + std::to_string(q.block_size) + " with " + dtype_name(q.scale_dtype) + " scales" : q.format + " codes";
}

}  // namespace

void summarize_quantization(LiftResult& r) {
  std::vector<const WeightBinding*> linears;
  for (const LayerWeights& L : r.weights.layers)
    for (const auto* w : {&L.q_w, &L.k_w, &L.v_w, &L.o_w, &L.gate_w, &L.up_w, &L.down_w})
      if (*w) linears.push_back(&**w);
  linears.push_back(&r.weights.lm_head);
  Quantization q;
  q.linears = static_cast<int64_t>(linears.size());
  for (const WeightBinding* w : linears) {
    const Quantization f = format_of(*w);
    if (f.bits == 0) continue;
    if (q.quantized_linears == 0) {
      const int64_t n = q.linears;
      q = f;
      q.linears = n;
    } else if (f.format != q.format || f.block_size != q.block_size || f.scale_dtype != q.scale_dtype) {
      throw Error("'" + w->initializer + "' has " + describe(f) + ", but other projections have " + describe(q), kOneFormat);
    }
    q.zero_points = q.zero_points || f.zero_points;
    ++q.quantized_linears;
  }
  if (q.quantized_linears > 0) r.spec.quantization = q;
}

}  // namespace tsc
