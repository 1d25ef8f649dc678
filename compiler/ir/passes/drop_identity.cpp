// drop-identity: Reshape/Expand/Cast/Identity/Squeeze/Unsqueeze whose output has the input's type exactly
// (same dtype, same symbolic shape) are removed, their uses redirected to the input.
#include "compiler/ir/passes/pass.h"

namespace tsc {

int pass_drop_identity(Graph& g, const PassContext&) {
  std::map<std::string, std::string> alias;
  UseDef ud(g);
  for (auto& np : g.nodes) {
    Node& n = *np;
    if (!(n.is("Reshape") || n.is("Expand") || n.is("Cast") || n.is("Identity") || n.is("Squeeze") || n.is("Unsqueeze")))
      continue;
    if (n.outputs.size() != 1 || ud.is_graph_output(n.outputs[0]) || g.is_const(n.inputs[0])) continue;
    const ValueType *a = g.type(n.inputs[0]), *b = g.type(n.outputs[0]);
    if (!a || !b || !a->shape || !b->shape || a->dtype != b->dtype || *a->shape != *b->shape) continue;
    alias[n.outputs[0]] = n.inputs[0];
  }
  if (alias.empty()) return 0;
  auto resolve = [&](std::string v) {
    for (auto it = alias.find(v); it != alias.end(); it = alias.find(v)) v = it->second;
    return v;
  };
  for (auto& np : g.nodes)
    for (auto& in : np->inputs)
      if (!in.empty()) in = resolve(in);
  return static_cast<int>(alias.size());
}

}  // namespace tsc
