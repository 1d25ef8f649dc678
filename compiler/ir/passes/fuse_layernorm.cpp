// fuse-layernorm: LayerNormalization (last axis) or its decomposition -> tsc.LayerNorm(x, gamma, beta?){epsilon}.
// Decomposed form (TorchScript opset < 17):
//   m = ReduceMean(x); d = x - m; v = ReduceMean(d^2); n = d / Sqrt(v + eps)   [or d * Reciprocal(Sqrt(..))]
//   y = n * gamma + beta
#include "compiler/ir/passes/norm_util.h"

namespace tsc {
namespace {

// d = Sub(x, ReduceMean(x)); returns x.
std::string centered_source(const Pat& p, const std::string& d) {
  Node* sub = p.def(d, "Sub");
  if (!sub) return {};
  Node* mean = p.def(sub->inputs[1], "ReduceMean");
  if (!mean || !reduces_last_axis(p.g, *mean) || mean->inputs[0] != sub->inputs[0]) return {};
  return sub->inputs[0];
}

// s = Sqrt(ReduceMean(d^2) + eps) with d the centered x. Returns eps.
std::optional<double> variance_eps(const Pat& p, const std::string& s, const std::string& x) {
  auto m = sqrt_mean_square(p, s);
  if (!m || centered_source(p, m->first) != x) return std::nullopt;
  return m->second;
}

}  // namespace

int pass_fuse_layernorm(Graph& g, const PassContext& ctx) {
  int rewrites = 0;
  Pat p(g);
  for (auto& np : g.nodes) {
    Node& n = *np;
    if (n.is("LayerNormalization")) {
      auto rank = g.rank(n.inputs[0]);
      int64_t ax = n.attr_i("axis", -1);
      if (!rank || !(ax == -1 || ax == static_cast<int64_t>(*rank) - 1)) {
        ctx.note("fuse-layernorm", n.describe() + ": normalizes an axis other than the last");
        continue;
      }
      bool extra_used = false;
      for (size_t k = 1; k < n.outputs.size(); ++k) extra_used = extra_used || (!n.outputs[k].empty() && p.uses(n.outputs[k]));
      if (extra_used) { ctx.note("fuse-layernorm", n.describe() + ": mean/inv_std outputs are used"); continue; }
      float eps = n.attr_f("epsilon", 1e-5f);
      n.op = "LayerNorm";
      n.domain = "tsc";
      n.outputs.resize(1);
      n.inputs.resize(std::min<size_t>(n.inputs.size(), 3));
      n.attrs = {{"epsilon", float_attr(eps)}};
      ++rewrites;
      continue;
    }
    // Decomposed: start at the normalization node (Div or Mul by reciprocal).
    std::string d, x;
    std::optional<double> eps;
    if (n.is("Div")) {
      d = n.inputs[0];
      x = centered_source(p, d);
      if (!x.empty()) eps = variance_eps(p, n.inputs[1], x);
    } else if (n.is("Mul")) {
      for (int side = 0; side < 2 && !eps; ++side) {
        Node* rc = p.def(n.inputs[1 - side], "Reciprocal");
        if (!rc) continue;
        d = n.inputs[side];
        x = centered_source(p, d);
        if (!x.empty()) eps = variance_eps(p, rc->inputs[0], x);
      }
    }
    if (!eps) continue;
    auto shape = g.shape(x);
    if (!shape || shape->empty() || !shape->back().is_const()) continue;
    const int64_t C = *shape->back().as_const();
    std::string gamma, beta;
    Node* scale = scale_consumer(p, skip_casts_forward(p, n.outputs[0]), C, &gamma);
    if (!scale) { ctx.note("fuse-layernorm", n.describe() + ": normalized value is not scaled by a [" + std::to_string(C) + "] constant"); continue; }
    Node* root = scale;
    Node* shift = shift_consumer(p, scale->outputs[0], C, &beta);
    if (shift) root = shift;
    root->op = "LayerNorm";
    root->domain = "tsc";
    root->inputs = {x, gamma};
    if (shift) root->inputs.push_back(beta);
    root->attrs = {{"epsilon", float_attr(static_cast<float>(*eps))}};
    ++rewrites;
    p.refresh();
  }
  return rewrites;
}

}  // namespace tsc
