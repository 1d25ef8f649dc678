// fuse-linear: MatMul/Gemm against a constant 2-D weight (+ a constant bias Add) -> tsc.Linear(x, W, b).
// tsc.Linear works on x: [..., in] -> [..., out]; attribute w_in_out=1 when W is stored [in, out]
// (MatMul/Gemm transB=0 layout), 0 when stored [out, in] (torch.nn.Linear layout).
#include "compiler/ir/passes/pass.h"

namespace tsc {
namespace {

// A bias operand: a constant vector of length `out` (possibly [1, out]).
bool is_bias(const Graph& g, const Pat& p, const std::string& v, int64_t out) {
  const Tensor* c = g.constant(p.skip_casts(v));
  if (!c || c->numel() != out) return false;
  for (size_t i = 0; i + 1 < c->shape.size(); ++i)
    if (c->shape[i] != 1) return false;
  return true;
}

int64_t out_features(const Graph& g, const std::string& w, bool in_out) {
  const Tensor* c = g.constant(w);
  return in_out ? c->shape[1] : c->shape[0];
}

}  // namespace

int pass_fuse_linear(Graph& g, const PassContext& ctx) {
  int rewrites = 0;
  Pat p(g);
  for (auto& np : g.nodes) {
    Node& n = *np;
    if (n.is("MatMul") && n.inputs.size() == 2) {
      auto w = p.weight(n.inputs[1]);
      // A [1, n] or [n, 1] constant is an outer product (rotary inv_freq), not a projection.
      if (!w || g.constant(w->first)->shape[0] < 2 || g.constant(w->first)->shape[1] < 2) continue;
      // MatMul(x, W[in,out]): in_out unless we crossed a transpose.
      const bool in_out = !w->second;
      n.op = "Linear";
      n.domain = "tsc";
      n.inputs = {n.inputs[0], w->first};
      n.attrs = {{"w_in_out", int_attr(in_out)}};
      ++rewrites;
    } else if (n.is("Gemm")) {
      if (n.attr_i("transA", 0) != 0 || n.attr_f("alpha", 1.f) != 1.f || (n.inputs.size() > 2 && n.attr_f("beta", 1.f) != 1.f)) {
        ctx.note("fuse-linear", n.describe() + ": transA/alpha/beta other than 0/1/1");
        continue;
      }
      auto w = p.weight(n.inputs[1]);
      if (!w) { ctx.note("fuse-linear", n.describe() + ": B is not a constant weight"); continue; }
      const bool in_out = (n.attr_i("transB", 0) == 0) != w->second;
      std::vector<std::string> ins = {n.inputs[0], w->first};
      if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
        if (!is_bias(g, p, n.inputs[2], out_features(g, w->first, in_out))) {
          ctx.note("fuse-linear", n.describe() + ": C is not a bias vector");
          continue;
        }
        ins.push_back(p.skip_casts(n.inputs[2]));
      }
      n.op = "Linear";
      n.domain = "tsc";
      n.inputs = ins;
      n.attrs = {{"w_in_out", int_attr(in_out)}};
      ++rewrites;
    }
  }
  // Bias adds: Add(Linear(x, W), b) -> Linear(x, W, b) when the Linear has no bias and one use.
  p.refresh();
  for (auto& np : g.nodes) {
    Node& n = *np;
    if (!n.is("Add") || n.inputs.size() != 2) continue;
    for (int side = 0; side < 2; ++side) {
      Node* lin = p.def(n.inputs[side]);
      if (!lin || !lin->is_tsc("Linear") || !lin->input(2).empty() || p.uses(lin->outputs[0]) != 1) continue;
      const std::string& b = n.inputs[1 - side];
      if (!is_bias(g, p, b, out_features(g, lin->inputs[1], lin->attr_i("w_in_out", 1)))) continue;
      // The Add now computes the Linear with bias; the old Linear becomes dead. Quantized Linears keep their
      // scales and zero points after the bias slot.
      n.op = "Linear";
      n.domain = "tsc";
      n.attrs = lin->attrs;
      std::vector<std::string> ins = lin->inputs;
      if (ins.size() < 3) ins.resize(3);
      ins[2] = p.skip_casts(b);
      n.inputs = std::move(ins);
      ++rewrites;
      break;
    }
  }
  return rewrites;
}

int pass_unflatten_linear(Graph& g, const PassContext&) {
  int rewrites = 0;
  Pat p(g);
  // Flatten/unflatten around 2-D Gemm: Reshape([b,s,in] -> [b*s,in]) -> Linear -> Reshape(-> [b,s,out]).
  for (auto& np : g.nodes) {
    Node& n = *np;
    if (!n.is("Reshape")) continue;
    Node* lin = p.def(n.inputs[0]);
    if (!lin || !lin->is_tsc("Linear") || p.uses(lin->outputs[0]) != 1) continue;
    Node* flat = p.def(lin->inputs[0], "Reshape");
    if (!flat) continue;
    auto src = g.shape(flat->inputs[0]), out = g.shape(n.outputs[0]), lin_out = g.shape(lin->outputs[0]);
    if (!src || !out || !lin_out || src->size() != out->size() || src->empty() || lin_out->size() != 2) continue;
    bool same_lead = true;
    for (size_t i = 0; i + 1 < src->size(); ++i) same_lead = same_lead && (*src)[i] == (*out)[i];
    if (!same_lead || out->back() != lin_out->back()) continue;
    n.op = "Linear";
    n.domain = "tsc";
    n.attrs = lin->attrs;
    n.inputs = lin->inputs;
    n.inputs[0] = flat->inputs[0];
    ++rewrites;
  }
  return rewrites;
}

}  // namespace tsc
