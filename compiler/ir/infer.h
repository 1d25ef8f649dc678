// Type and symbolic-shape inference fused with constant folding (including all shape arithmetic).
#pragma once
#include <cstdint>

#include "compiler/ir/graph.h"

namespace tsc {

struct InferOptions {
  int64_t fold_limit = 1 << 20;      // largest folded output, in elements
  int64_t weight_threshold = 4096;   // initializers larger than this are weights: never folded through
};

struct InferStats {
  int folded = 0;       // nodes replaced by constants
  int symbolic = 0;     // values known only symbolically
  int unknown = 0;      // outputs whose shape stayed unknown
};

// Walks g in topological order: infers every output's dtype and symbolic shape, tracks small integer
// tensors element-wise as SymExprs (Shape -> Gather -> Concat -> Reshape chains), and replaces nodes
// whose outputs are fully known by constants. Re-running is a no-op once it has converged.
InferStats infer_and_fold(Graph& g, const InferOptions& opt = {});

// Stable topological order of g.nodes; throws tsc::Error naming a node on a cycle or a value with no producer.
void topo_sort(Graph& g);

// Removes nodes none of whose outputs reach a graph output, and constants nobody uses. Returns nodes removed.
int remove_dead(Graph& g);

}  // namespace tsc
