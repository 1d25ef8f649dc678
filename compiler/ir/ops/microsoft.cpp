// onnxruntime's com.microsoft activations (contrib_defs.cc) as its transformer optimizer writes them:
// FastGelu, BiasGelu, Gelu, QuickGelu. Typed like their input; decompose-ms-ops rewrites them to tsc.Gelu.
#include "compiler/ir/ops/families.h"
#include "compiler/ir/ops/infer_ctx.h"

namespace tsc::ops {

void add_microsoft_ops(OpTable& t) {
  t.add({.domain = "com.microsoft", .op = "FastGelu", .min_inputs = 1, .min_outputs = 1, .infer = infer_same_shape});
  t.add({.domain = "com.microsoft", .op = "BiasGelu", .min_inputs = 2, .min_outputs = 1, .infer = infer_same_shape});
  t.add({.domain = "com.microsoft", .op = "Gelu", .min_inputs = 1, .min_outputs = 1, .infer = infer_same_shape});
  t.add({.domain = "com.microsoft", .op = "QuickGelu", .infer = infer_same_shape});  // arity not checked (as before the registry)
}

}  // namespace tsc::ops
