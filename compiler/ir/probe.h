// Numeric probing: evaluate the cone of one value for concrete graph inputs (angles of rotary tables,
// position ids, activation functions) so that the compiler learns constants from what the graph computes.
#pragma once
#include <map>
#include <optional>
#include <string>

#include "compiler/ir/graph.h"

namespace tsc {

// Evaluates `value` given concrete tensors for some values (graph inputs or any intermediate).
// Returns nullopt if the cone reaches an op eval_node cannot run, an unbound input, or more than
// max_elems elements in any intermediate.
std::optional<Tensor> probe_value(const Graph& g, const std::string& value, const std::map<std::string, Tensor>& bound,
                                  int64_t max_elems = 1 << 22);

}  // namespace tsc
