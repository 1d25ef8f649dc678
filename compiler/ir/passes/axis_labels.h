// Axis labeling through data-movement ops: which logical factor (batch, seq, head, head_dim, repeat) each
// axis of a tensor holds after Reshape/Transpose/Unsqueeze/Squeeze/Expand. Lets fuse-attention accept any
// arrangement of head splits and merges that exporters produce, and reject the ones that mix tokens.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "compiler/ir/graph.h"

namespace tsc {

struct Factor {
  std::string label;  // "B", "S", "F" and splits "F.0", "F.1"; "R" for a repeat introduced by Expand
  SymExpr size;
};
using Axis = std::vector<Factor>;    // major to minor; empty = size 1
using Layout = std::vector<Axis>;

// Applies one movement node (Reshape, Transpose, Unsqueeze, Squeeze, Expand, Identity, Cast, Flatten)
// to a layout, using the node's inferred output shape. nullopt when the node is not pure movement
// of whole factors (e.g. a reshape that interleaves tokens).
std::optional<Layout> apply_movement(const Graph& g, const Node& n, const Layout& in);
bool is_movement(const Node& n);

// Labels of the axes, size-1 factors dropped: {{"B"},{"F.0","R"},{"S"},{"F.1"}}.
std::vector<std::vector<std::string>> labels(const Layout& l);
std::string layout_str(const Layout& l);
SymExpr factor_size(const Layout& l, const std::string& label);  // 1 if absent
// Labels with a single-head feature axis named like a split one ("F" -> "F.1"), and a static batch of 1
// (no "B" factor left) named "B" on the leading axis of a rank >= 3 layout.
std::vector<std::vector<std::string>> head_labels(const Layout& l);

}  // namespace tsc
