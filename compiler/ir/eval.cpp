// Reference evaluation of ONNX ops on constant tensors: a driver over the op registry's eval functions
// (compiler/ir/ops/*.cpp), which also enforces the output-size limit before anything is allocated.
#include "compiler/ir/eval.h"

#include "compiler/ir/ops/eval_kit.h"
#include "compiler/ir/ops/op_registry.h"

namespace tsc {
namespace {

// The def of an evaluable node (ai.onnx ops with an eval function), else nullptr.
const OpDef* evaluable_def(const Node& n) {
  if (!n.domain.empty()) return nullptr;
  const OpDef* d = find_op(n);
  return d && d->eval ? d : nullptr;
}

}  // namespace

bool is_evaluable(const Node& n) { return evaluable_def(n) != nullptr; }

std::optional<int64_t> eval_output_elems(const Node& n, const std::vector<const Tensor*>& in) {
  const OpDef* d = evaluable_def(n);
  if (!d) return std::nullopt;
  // Absent optional inputs are no size input: ops that take none need every input (eval then says so).
  if (!d->eval_optional_inputs)
    for (auto* t : in) if (!t) return std::nullopt;
  return d->eval_elems ? d->eval_elems(n, in) : ops::largest_input(in);
}

std::optional<std::vector<Tensor>> eval_node(const Node& n, const std::vector<const Tensor*>& in) {
  const OpDef* d = evaluable_def(n);
  if (!d) return std::nullopt;
  // Declined before anything is allocated: results this large are never folded or probed.
  if (auto e = eval_output_elems(n, in); e && *e > kMaxEvalElems) return std::nullopt;
  return d->eval(n, in);
}

}  // namespace tsc
