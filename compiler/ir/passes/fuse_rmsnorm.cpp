// fuse-rmsnorm: decomposed RMSNorm -> tsc.RMSNorm(x, gamma){epsilon}; also ONNX RMSNormalization (opset 23).
//   r = Reciprocal(Sqrt(ReduceMean(x^2) + eps)); y = gamma * (x * r)      [or x / Sqrt(...)]
// with optional Casts (HF computes the statistic in float32 and casts back before gamma).
#include "compiler/ir/passes/norm_util.h"

namespace tsc {
namespace {

// s = Sqrt(ReduceMean(x^2) + eps); returns (x before any Cast, eps).
std::optional<std::pair<std::string, double>> rms_of(const Pat& p, const std::string& s) {
  auto m = sqrt_mean_square(p, s);
  if (!m) return std::nullopt;
  return std::make_pair(p.skip_casts(m->first), m->second);
}

}  // namespace

int pass_fuse_rmsnorm(Graph& g, const PassContext& ctx) {
  int rewrites = 0;
  Pat p(g);
  for (auto& np : g.nodes) {
    Node& n = *np;
    if (n.is("RMSNormalization")) {
      auto rank = g.rank(n.inputs[0]);
      int64_t ax = n.attr_i("axis", -1);
      if (!rank || !(ax == -1 || ax == static_cast<int64_t>(*rank) - 1)) continue;
      n.op = "RMSNorm";
      n.domain = "tsc";
      n.inputs.resize(2);
      n.attrs = {{"epsilon", float_attr(n.attr_f("epsilon", 1e-5f))}};
      ++rewrites;
      continue;
    }
    std::optional<std::pair<std::string, double>> m;
    std::string xin;
    if (n.is("Div")) {
      m = rms_of(p, n.inputs[1]);
      xin = n.inputs[0];
    } else if (n.is("Mul")) {
      for (int side = 0; side < 2 && !m; ++side) {
        Node* rc = p.def(n.inputs[1 - side], "Reciprocal");
        if (!rc) continue;
        m = rms_of(p, rc->inputs[0]);
        xin = n.inputs[side];
      }
    }
    if (!m || p.skip_casts(xin) != m->first) continue;
    const std::string x = m->first;
    auto shape = g.shape(x);
    if (!shape || shape->empty() || !shape->back().is_const()) continue;
    const int64_t C = *shape->back().as_const();
    std::string gamma;
    Node* scale = scale_consumer(p, skip_casts_forward(p, n.outputs[0]), C, &gamma);
    if (!scale) { ctx.note("fuse-rmsnorm", n.describe() + ": normalized value is not scaled by a [" + std::to_string(C) + "] constant"); continue; }
    // Keep the output's element type: if the pattern ends in another dtype than x, a Cast follows the fused node.
    scale->op = "RMSNorm";
    scale->domain = "tsc";
    scale->inputs = {x, gamma};
    scale->attrs = {{"epsilon", float_attr(static_cast<float>(m->second))}};
    ++rewrites;
    p.refresh();
  }
  return rewrites;
}

}  // namespace tsc
