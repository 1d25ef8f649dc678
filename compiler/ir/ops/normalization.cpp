// Normalizations over the last axes: ONNX LayerNormalization and RMSNormalization, and onnxruntime's
// com.microsoft SimplifiedLayerNormalization, SkipLayerNormalization and SkipSimplifiedLayerNormalization
// (decompose-ms-ops rewrites those). Output 0 has the input's shape; mean/inv_std_dev outputs are float32.
#include <algorithm>

#include "compiler/ir/ops/families.h"
#include "compiler/ir/ops/infer_ctx.h"

namespace tsc::ops {
namespace {

void infer_norm(InferCtx& c, Node& n) {
  const std::string& op = n.op;
  const std::string out0 = InferCtx::out0(n);
  auto s = c.in_shape(n, 0);
  c.set(out0, c.in_dt(n, 0), s);
  if (op.rfind("Skip", 0) == 0) {
    // outputs: output, mean, inv_std_var, input_skip_bias_sum
    if (n.outputs.size() > 3) c.set(n.outputs[3], c.in_dt(n, 0), s);
    for (size_t k = 1; k < std::min<size_t>(n.outputs.size(), 3); ++k) c.set(n.outputs[k], DType::kF32, std::nullopt);
  } else {
    for (size_t k = 1; k < n.outputs.size(); ++k) {
      std::optional<SymShape> r = s;
      if (s) {
        int64_t ax = c.norm_axis(n, n.attr_i("axis", -1), s->size());
        for (size_t d = ax; d < r->size(); ++d) (*r)[d] = SymExpr(1);
      }
      c.set(n.outputs[k], DType::kF32, r);
    }
  }
}

}  // namespace

void add_normalization_ops(OpTable& t) {
  t.add({.domain = "", .op = "LayerNormalization", .min_inputs = 2, .min_outputs = 1, .infer = infer_norm});
  t.add({.domain = "", .op = "RMSNormalization", .min_inputs = 2, .min_outputs = 1, .infer = infer_norm});
  t.add({.domain = "com.microsoft", .op = "SimplifiedLayerNormalization", .min_inputs = 2, .min_outputs = 1, .infer = infer_norm});
  // onnxruntime registers SimplifiedLayerNormalization in the ONNX domain too; onnxruntime-genai's builder writes it there.
  t.add({.domain = "", .op = "SimplifiedLayerNormalization", .min_inputs = 2, .min_outputs = 1, .infer = infer_norm});
  // inputs: input, skip, gamma[, beta, bias]; outputs: output, mean, inv_std_var, input_skip_bias_sum
  t.add({.domain = "com.microsoft", .op = "SkipLayerNormalization", .min_inputs = 3, .min_outputs = 1, .infer = infer_norm});
  t.add({.domain = "com.microsoft", .op = "SkipSimplifiedLayerNormalization", .min_inputs = 3, .min_outputs = 1, .infer = infer_norm});
}

}  // namespace tsc::ops
