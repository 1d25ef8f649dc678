// The token-major tensor [batch, seq, heads*head_dim] a head-layout value was split from, and re-applying that
// split to a rewritten token-major value: shared by fuse-rope and fuse-head-norm, which replace an op on the head
// layout by a tsc op on the token-major tensor followed by the same head split.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compiler/ir/passes/axis_labels.h"
#include "compiler/ir/passes/pass.h"

namespace tsc {

struct HeadSource {
  std::string value;                          // the token-major [b, s, F] tensor
  struct Step { Node* n; size_t index; };     // node, and the input that reads the previous value
  std::vector<Step> chain;                    // from value to x
  Layout layout;                              // x's axes labelled; its last axis is F.1 (head_dim)
  int64_t heads = -1, head_dim = -1;          // static sizes (a single head has no F.0 factor)
};

// Walks back from x through movement ops (and, with scalings, scalar Mul/Div, which commute with a rotation) to a
// [b, s, F] tensor; x's last axis must be head_dim. nullopt with *why otherwise.
std::optional<HeadSource> head_source(const Pat& p, const std::string& x, bool scalings, std::string* why);

// Nodes that take an old node's place in the graph's order (the old node then drops out).
using Replacements = std::map<Node*, std::vector<std::unique_ptr<Node>>>;

// Puts `op` (a tsc op reading src.value, its output named and typed here as src.value's) and src's head split
// re-applied to op's output (names suffixed `tag`) in root's place: the split's end writes root's output.
void replace_on_token_major(Graph& g, const HeadSource& src, std::unique_ptr<Node> op, Node* root, const std::string& tag,
                            Replacements& replaced);

// Replaces each key node of `r` by its nodes, where it stood, and re-sorts (which checks that the replacements read
// only values defined before them).
void splice_replacements(Graph& g, Replacements& r);

}  // namespace tsc
