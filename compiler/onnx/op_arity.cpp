// Arity check at import, from the minimum input/output counts the op registry holds (compiler/ir/ops/*.cpp,
// taken from the ONNX operator schemas in onnx/defs and onnxruntime's contrib_defs.cc).
#include "compiler/onnx/op_arity.h"

#include <string>

#include "compiler/ir/ops/op_registry.h"
#include "contract/error.h"

namespace tsc {
namespace {

std::string count(int n, const char* what) { return std::to_string(n) + " " + what + (n == 1 ? "" : "s"); }

}  // namespace

void check_arity(const Node& n, int64_t opset) {
  if (!n.domain.empty() && n.domain != "com.microsoft") return;
  const OpDef* d = find_op(n);
  if (!d) return;
  const int inputs = n.domain.empty() ? d->required_inputs(opset) : d->min_inputs;
  const std::string hint = "the file is corrupt or was edited by hand; re-export it and check it with onnx.checker.check_model";
  if (static_cast<int>(n.inputs.size()) < inputs)
    throw Error(n.describe() + " has " + count(static_cast<int>(n.inputs.size()), "input") + "; " + n.op + " takes at least " +
                    std::to_string(inputs) + (n.domain.empty() ? " at opset " + std::to_string(opset) : std::string()),
                hint);
  for (int i = 0; i < inputs; ++i)
    if (n.inputs[i].empty()) throw Error(n.describe() + " leaves its required input " + std::to_string(i) + " unnamed", hint);
  if (static_cast<int>(n.outputs.size()) < d->min_outputs)
    throw Error(n.describe() + " has " + count(static_cast<int>(n.outputs.size()), "output") + "; " + n.op + " produces " +
                    count(d->min_outputs, "output"), hint);
  for (int i = 0; i < d->min_outputs; ++i)
    if (n.outputs[i].empty()) throw Error(n.describe() + " leaves its required output " + std::to_string(i) + " unnamed", hint);
}

}  // namespace tsc
