// The token-major source of a head-layout value, and re-applying its head split (head_split.h).
#include "compiler/ir/passes/head_split.h"

#include <algorithm>

#include "compiler/ir/infer.h"

namespace tsc {

std::optional<HeadSource> head_source(const Pat& p, const std::string& x, bool scalings, std::string* why) {
  HeadSource src;
  std::string v = x;
  for (int guard = 0; guard < 64; ++guard) {
    Node* n = p.def(v);
    if (!n) break;
    size_t idx = 0;
    if (is_movement(*n)) idx = 0;
    else if (scalings && (n->is("Mul") || n->is("Div")) && n->inputs.size() == 2 && p.scalar(n->inputs[1])) idx = 0;
    else if (scalings && n->is("Mul") && n->inputs.size() == 2 && p.scalar(n->inputs[0])) idx = 1;
    else break;
    src.chain.push_back({n, idx});
    v = n->inputs[idx];
  }
  std::reverse(src.chain.begin(), src.chain.end());
  src.value = v;
  auto s = p.g.shape(v);
  if (!s || s->size() != 3 || !(*s)[2].as_const()) { *why = "head source '" + v + "' is not a [batch, seq, features] tensor"; return std::nullopt; }
  Layout l = {{{"B", (*s)[0]}}, {{"S", (*s)[1]}}, {{"F", (*s)[2]}}};
  for (auto& st : src.chain) {
    if (!is_movement(*st.n)) continue;  // a scaling keeps the layout
    auto nl = apply_movement(p.g, *st.n, l);
    if (!nl) { *why = st.n->describe() + " moves data across heads or tokens (layout " + layout_str(l) + ")"; return std::nullopt; }
    l = *nl;
  }
  auto lb = head_labels(l);
  if (lb.empty() || lb.back() != std::vector<std::string>{"F.1"}) { *why = "the last axis is not head_dim (layout " + layout_str(l) + ")"; return std::nullopt; }
  src.layout = l;
  const SymExpr d1 = factor_size(l, "F.1");
  src.heads = factor_size(l, "F.0").as_const().value_or(-1);
  src.head_dim = (d1.as_const() == 1 ? factor_size(l, "F") : d1).as_const().value_or(-1);
  return src;
}

void replace_on_token_major(Graph& g, const HeadSource& src, std::unique_ptr<Node> op, Node* root, const std::string& tag,
                            Replacements& replaced) {
  const std::string& out = root->outputs[0];
  op->outputs = {src.chain.empty() ? out : g.fresh_name(src.value + "_" + tag)};
  g.types[op->outputs[0]] = g.types[src.value];
  std::string v = op->outputs[0];
  auto& added = replaced[root];
  added.push_back(std::move(op));
  for (size_t k = 0; k < src.chain.size(); ++k) {
    const Node& old = *src.chain[k].n;
    auto n = std::make_unique<Node>(old);
    n->name = old.name + "/" + tag;
    n->inputs[src.chain[k].index] = v;
    const bool last = k + 1 == src.chain.size();
    n->outputs = {last ? out : g.fresh_name(old.outputs[0] + "_" + tag + "ed")};
    if (!last) g.types[n->outputs[0]] = g.types[old.outputs[0]];
    v = n->outputs[0];
    added.push_back(std::move(n));
  }
}

void splice_replacements(Graph& g, Replacements& r) {
  std::vector<std::unique_ptr<Node>> nodes;
  for (auto& n : g.nodes) {
    auto it = r.find(n.get());
    if (it == r.end()) { nodes.push_back(std::move(n)); continue; }
    for (auto& x : it->second) nodes.push_back(std::move(x));
  }
  g.nodes = std::move(nodes);
  topo_sort(g);
}

}  // namespace tsc
