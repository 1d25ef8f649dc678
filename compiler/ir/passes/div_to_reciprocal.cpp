// div-to-reciprocal: Div(1, x) -> Reciprocal(x), so that one form of 1/x reaches the norm matchers.
//   optimum's Llama RMSNorm: x * Div(1, Sqrt(ReduceMean(x^2) + eps)); torch's dynamo exporter writes Reciprocal.
// The numerator must be a one-element constant equal to 1 (through Casts) and the output must have x's
// shape (a numerator of higher rank would broadcast x), else the node stays.
#include "compiler/ir/passes/pass.h"

namespace tsc {

int pass_div_to_reciprocal(Graph& g, const PassContext& ctx) {
  int rewrites = 0;
  Pat p(g);
  for (auto& np : g.nodes) {
    Node& n = *np;
    if (!n.is("Div") || n.inputs.size() != 2 || p.scalar(n.inputs[0]) != 1.0) continue;
    auto in = g.shape(n.inputs[1]), out = g.shape(n.outputs[0]);
    const ValueType* ti = g.type(n.inputs[1]);
    const ValueType* to = g.type(n.outputs[0]);
    if (!in || !out || *in != *out || !ti || !to || ti->dtype != to->dtype) {
      ctx.note("div-to-reciprocal", n.describe() + ": 1/x changes the shape or type of x");
      continue;
    }
    n.op = "Reciprocal";
    n.inputs = {n.inputs[1]};
    ++rewrites;
  }
  return rewrites;
}

}  // namespace tsc
