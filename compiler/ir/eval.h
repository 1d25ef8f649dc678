// Reference evaluation of ONNX ops on constant tensors: constant folding and probing of small subgraphs.
#pragma once
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

}  // namespace tsc
