// The model's weight format, summarized from its linear bindings: which projections the file keeps in 4-bit blocks.
// The kernels specialize on one block size and one scale type (templates/cpu/kernels.h), so a mix is refused here.
#include "compiler/lift/lift.h"
#include "runtime/core/error.h"

namespace tsc {

void summarize_quantization(DecoderSpec& s) {
  std::vector<const WeightBinding*> linears;
  for (const LayerWeights& L : s.layers)
    for (const auto* w : {&L.q_w, &L.k_w, &L.v_w, &L.o_w, &L.gate_w, &L.up_w, &L.down_w})
      if (*w) linears.push_back(&**w);
  linears.push_back(&s.lm_head);
  Quantization q;
  q.linears = static_cast<int64_t>(linears.size());
  for (const WeightBinding* w : linears) {
    if (!w->q4) continue;
    if (q.quantized_linears == 0) {
      q.block_size = w->q4->block_size;
      q.scale_dtype = w->q4->scale_dtype;
    } else if (w->q4->block_size != q.block_size || w->q4->scale_dtype != q.scale_dtype) {
      throw Error("'" + w->initializer + "' has 4-bit blocks of " + std::to_string(w->q4->block_size) + " with " +
                      dtype_name(w->q4->scale_dtype) + " scales, but other projections use blocks of " + std::to_string(q.block_size) +
                      " with " + dtype_name(q.scale_dtype) + " scales",
                  "quantize every MatMul of the model with one block_size (MatMulNBitsQuantizer does)");
    }
    q.zero_points = q.zero_points || !w->q4->zero_points.empty();
    ++q.quantized_linears;
  }
  if (q.quantized_linears > 0) s.quantization = q;
}

}  // namespace tsc
