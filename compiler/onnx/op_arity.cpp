// Minimum input/output counts from the ONNX operator schemas (onnx/defs), for the ops LLM exports use.
#include "compiler/onnx/op_arity.h"

#include <map>
#include <string>

#include "runtime/core/error.h"

namespace tsc {
namespace {

struct Arity {
  int inputs;   // required inputs (the first `inputs` must be present and named)
  int outputs;  // required outputs
};

// Required inputs of ai.onnx ops whose count does not depend on the opset.
const std::map<std::string, Arity>& onnx_ops() {
  static const std::map<std::string, Arity> t = {
      // element-wise binary and comparison
      {"Add", {2, 1}}, {"Sub", {2, 1}}, {"Mul", {2, 1}}, {"Div", {2, 1}}, {"Pow", {2, 1}}, {"Mod", {2, 1}},
      {"Equal", {2, 1}}, {"Less", {2, 1}}, {"Greater", {2, 1}}, {"LessOrEqual", {2, 1}}, {"GreaterOrEqual", {2, 1}},
      {"And", {2, 1}}, {"Or", {2, 1}}, {"Xor", {2, 1}}, {"BitShift", {2, 1}}, {"PRelu", {2, 1}},
      {"CastLike", {2, 1}}, {"Where", {3, 1}},
      // element-wise unary
      {"Cast", {1, 1}}, {"Identity", {1, 1}}, {"Neg", {1, 1}}, {"Abs", {1, 1}}, {"Sqrt", {1, 1}},
      {"Reciprocal", {1, 1}}, {"Exp", {1, 1}}, {"Log", {1, 1}}, {"Tanh", {1, 1}}, {"Erf", {1, 1}},
      {"Sigmoid", {1, 1}}, {"HardSigmoid", {1, 1}}, {"Relu", {1, 1}}, {"Softplus", {1, 1}}, {"Not", {1, 1}},
      {"IsNaN", {1, 1}}, {"IsInf", {1, 1}}, {"Floor", {1, 1}}, {"Ceil", {1, 1}}, {"Round", {1, 1}},
      {"Sin", {1, 1}}, {"Cos", {1, 1}}, {"Sign", {1, 1}}, {"Gelu", {1, 1}}, {"Clip", {1, 1}},
      {"Dropout", {1, 1}}, {"Softmax", {1, 1}}, {"LogSoftmax", {1, 1}},
      // variadic
      {"Concat", {1, 1}}, {"Max", {1, 1}}, {"Min", {1, 1}}, {"Sum", {1, 1}}, {"Mean", {1, 1}}, {"Einsum", {1, 1}},
      // linear algebra and normalization
      {"MatMul", {2, 1}}, {"Gemm", {2, 1}}, {"LayerNormalization", {2, 1}}, {"RMSNormalization", {2, 1}},
      // shape and movement
      {"Shape", {1, 1}}, {"Size", {1, 1}}, {"Transpose", {1, 1}}, {"Flatten", {1, 1}}, {"Reshape", {2, 1}},
      {"Expand", {2, 1}}, {"Tile", {2, 1}}, {"Gather", {2, 1}}, {"GatherElements", {2, 1}}, {"GatherND", {2, 1}},
      {"ScatterND", {3, 1}}, {"ScatterElements", {3, 1}}, {"Range", {3, 1}}, {"ConstantOfShape", {1, 1}},
      {"Trilu", {1, 1}}, {"CumSum", {2, 1}}, {"Split", {1, 1}}, {"Pad", {1, 1}}, {"TopK", {2, 2}},
      {"ArgMax", {1, 1}}, {"ArgMin", {1, 1}}, {"Squeeze", {1, 1}}, {"Slice", {1, 1}}, {"Unsqueeze", {1, 1}},
      {"ReduceMean", {1, 1}}, {"ReduceSum", {1, 1}}, {"ReduceMax", {1, 1}}, {"ReduceMin", {1, 1}},
      {"ReduceProd", {1, 1}}, {"ReduceL2", {1, 1}}, {"ReduceSumSquare", {1, 1}},
  };
  return t;
}

// com.microsoft ops from onnxruntime's transformer optimizer (contrib_defs.cc).
const std::map<std::string, Arity>& ms_ops() {
  static const std::map<std::string, Arity> t = {
      {"SkipLayerNormalization", {3, 1}}, {"SkipSimplifiedLayerNormalization", {3, 1}},
      {"SimplifiedLayerNormalization", {2, 1}}, {"FastGelu", {1, 1}}, {"BiasGelu", {2, 1}}, {"Gelu", {1, 1}},
  };
  return t;
}

// Ops whose inputs moved from attributes to inputs at some opset.
Arity versioned(const std::string& op, int64_t opset, Arity fallback) {
  if (op == "Slice") return {opset >= 10 ? 3 : 1, 1};     // starts, ends became inputs in opset 10
  if (op == "Unsqueeze") return {opset >= 13 ? 2 : 1, 1};  // axes became an input in opset 13
  return fallback;
}

std::string count(int n, const char* what) { return std::to_string(n) + " " + what + (n == 1 ? "" : "s"); }

}  // namespace

void check_arity(const Node& n, int64_t opset) {
  const std::map<std::string, Arity>* table = n.domain.empty() ? &onnx_ops() : n.domain == "com.microsoft" ? &ms_ops() : nullptr;
  if (!table) return;
  auto it = table->find(n.op);
  if (it == table->end()) return;
  const Arity a = n.domain.empty() ? versioned(n.op, opset, it->second) : it->second;
  const std::string hint = "the file is corrupt or was edited by hand; re-export it and check it with onnx.checker.check_model";
  if (static_cast<int>(n.inputs.size()) < a.inputs)
    throw Error(n.describe() + " has " + count(static_cast<int>(n.inputs.size()), "input") + "; " + n.op + " takes at least " +
                    std::to_string(a.inputs) + (n.domain.empty() ? " at opset " + std::to_string(opset) : std::string()),
                hint);
  for (int i = 0; i < a.inputs; ++i)
    if (n.inputs[i].empty()) throw Error(n.describe() + " leaves its required input " + std::to_string(i) + " unnamed", hint);
  if (static_cast<int>(n.outputs.size()) < a.outputs)
    throw Error(n.describe() + " has " + count(static_cast<int>(n.outputs.size()), "output") + "; " + n.op + " produces " +
                    count(a.outputs, "output"), hint);
  for (int i = 0; i < a.outputs; ++i)
    if (n.outputs[i].empty()) throw Error(n.describe() + " leaves its required output " + std::to_string(i) + " unnamed", hint);
}

}  // namespace tsc
