// Arity of the ONNX operators tsc reads: a node with too few inputs or outputs is refused at import.
#pragma once
#include <cstdint>

#include "compiler/ir/graph.h"

namespace tsc {

// Throws Error naming the node if an operator the op registry knows (ai.onnx, com.microsoft) has fewer inputs or outputs
// than its schema requires at `opset` (the model's version of that domain), or leaves a required input unnamed.
// The passes index inputs by position, so this is what makes them safe on any file. Unknown ops pass.
void check_arity(const Node& n, int64_t opset);

}  // namespace tsc
