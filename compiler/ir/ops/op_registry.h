// The op registry: per (domain, op_type), the arity the importer checks, shape/dtype inference and constant evaluation.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "compiler/ir/graph.h"

namespace tsc {

class InferCtx;

// Types and symbolic shapes of n's outputs from its inputs' (see compiler/ir/ops/infer_ctx.h).
using InferFn = std::function<void(InferCtx&, Node&)>;
// n's outputs on constant inputs (nullptr for absent optional inputs); nullopt declines (this use is not
// supported); throws tsc::Error naming the node when the inputs contradict the op.
using EvalFn = std::function<std::optional<std::vector<Tensor>>(const Node&, const std::vector<const Tensor*>&)>;
// Elements of EvalFn's largest output, predicted from the inputs' shapes and size values without evaluating.
using ElemsFn = std::function<std::optional<int64_t>(const Node&, const std::vector<const Tensor*>&)>;

struct OpDef {
  std::string domain;  // "" (ai.onnx), "com.microsoft", "tsc"
  std::string op;      // op_type
  // Arity from the operator schema: the first `min_inputs` inputs must be present and named, as must the
  // first `min_outputs` outputs (0: not checked). From opset `more_inputs_since` on (0: never), inputs
  // that were attributes before require `min_inputs_later` inputs (Slice: 3 from opset 10).
  int min_inputs = 0;
  int min_outputs = 0;
  int64_t more_inputs_since = 0;
  int min_inputs_later = 0;
  InferFn infer{};      // empty: outputs stay of unknown shape (the lifter reports them if they matter)
  EvalFn eval{};        // empty: never folded or probed
  ElemsFn eval_elems{}; // empty: no output is larger than the largest input
  bool eval_optional_inputs = false;  // eval accepts absent (nullptr) optional inputs

  int required_inputs(int64_t opset) const {
    return more_inputs_since && opset >= more_inputs_since ? min_inputs_later : min_inputs;
  }
};

// All ops, keyed by (domain, op_type); built once from the family lists in compiler/ir/ops/*.cpp.
class OpTable {
 public:
  // Registers def; throws std::logic_error if (domain, op) is registered twice (a programming error).
  void add(OpDef def);
  const OpDef* find(const std::string& domain, const std::string& op) const;
  const std::map<std::pair<std::string, std::string>, OpDef>& all() const { return ops_; }

 private:
  std::map<std::pair<std::string, std::string>, OpDef> ops_;
};

const OpTable& op_table();

// The def registered for n's (domain, op), or nullptr.
const OpDef* find_op(const Node& n);

// The def whose inference types n: its own, else (outside the tsc domain) the ai.onnx or com.microsoft op of
// the same name (contrib Trilu and Range are typed like ONNX's); nullptr if none.
const OpDef* find_infer_op(const Node& n);

}  // namespace tsc
