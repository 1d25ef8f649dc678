// Reference evaluation of ONNX ops on constant tensors: constant folding and probing of small subgraphs.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "compiler/ir/graph.h"

namespace tsc {

// Evaluates node n on constant inputs (nullptr for absent optional inputs).
// Returns nullopt when the op (or this use of it) is not supported; throws tsc::Error when the
// inputs contradict the op (wrong ranks, out-of-range indices), naming the node.
std::optional<std::vector<Tensor>> eval_node(const Node& n, const std::vector<const Tensor*>& in);

// True for ops eval_node implements.
bool is_evaluable(const Node& n);

// Most elements eval_node returns in one output; larger results are declined (nullopt) before allocating.
constexpr int64_t kMaxEvalElems = int64_t{1} << 26;

// Elements of eval_node(n, in)'s largest output, computed from the inputs' shapes and the values of size
// inputs (ConstantOfShape, Expand, Tile, Range) without evaluating, saturating at INT64_MAX; nullopt when the
// inputs are inconsistent or absent (eval_node then says why or decides). Lets folding check its limit first.
std::optional<int64_t> eval_output_elems(const Node& n, const std::vector<const Tensor*>& in);

}  // namespace tsc
