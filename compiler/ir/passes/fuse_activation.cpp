// fuse-activation: elementwise subgraphs around Tanh/Erf/Sigmoid recognized by what they compute, not by
// their arrangement: the region (the Tanh/Erf/Sigmoid's single input x, and the elementwise nodes between x
// and a candidate exit downstream of it) is evaluated on sample inputs and compared with GELU (tanh), GELU
// (erf) and SiLU. Exporters order the same formula many ways (0.5*x*(1+tanh(..)), x*(0.5+0.5*tanh(..)),
// x*sigmoid(1.5958*(..)), ...); other uses of x are no part of the region.
#include <cmath>
#include <set>

#include "compiler/ir/passes/pass.h"
#include "compiler/ir/probe.h"

namespace tsc {
namespace {

const std::set<std::string>& elementwise() {
  static const std::set<std::string> s = {"Add", "Sub", "Mul", "Div", "Pow", "Tanh", "Erf", "Sigmoid", "Neg",
                                          "Cast", "Sqrt", "Exp", "Reciprocal", "Identity"};
  return s;
}

bool is_ew(const Node* n) { return n && n->domain.empty() && elementwise().count(n->op); }

double gelu_tanh(double x) { return 0.5 * x * (1 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))); }
double gelu_erf(double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }
double silu(double x) { return x / (1 + std::exp(-x)); }

// The single non-constant value the elementwise cone of v reads.
std::string cone_source(const Pat& p, const std::string& v) {
  std::set<std::string> leaves, seen;
  std::vector<std::string> stack = {v};
  while (!stack.empty()) {
    std::string cur = stack.back();
    stack.pop_back();
    if (!seen.insert(cur).second || p.g.is_const(cur)) continue;
    Node* n = p.def(cur);
    if (!is_ew(n)) { leaves.insert(cur); continue; }
    for (auto& i : n->inputs) if (!i.empty()) stack.push_back(i);
    if (seen.size() > 64) return {};
  }
  return leaves.size() == 1 ? *leaves.begin() : std::string();
}

}  // namespace

int pass_fuse_activation(Graph& g, const PassContext& ctx) {
  int rewrites = 0;
  Pat p(g);
  for (size_t idx = 0; idx < g.nodes.size(); ++idx) {
    Node& t = *g.nodes[idx];
    if (t.is("Gelu")) {  // opset 20
      const std::string approx = t.attr_s("approximate", "none");
      t.op = "Gelu";
      t.domain = "tsc";
      t.attrs = {{"approximate", string_attr(approx)}};
      ++rewrites;
      continue;
    }
    if (!(t.is("Tanh") || t.is("Erf") || t.is("Sigmoid"))) continue;
    const std::string x = cone_source(p, t.outputs[0]);
    if (x.empty()) continue;
    // Grow the region forward from x through elementwise nodes that read only x, the region and constants.
    std::set<Node*> region;
    std::set<std::string> vals = {x};
    for (bool grew = true; grew;) {
      grew = false;
      for (auto& np : g.nodes) {
        Node* n = np.get();
        if (region.count(n) || !is_ew(n)) continue;
        bool reads = false, ok = true;
        for (auto& i : n->inputs) {
          if (i.empty() || g.is_const(i)) continue;
          if (vals.count(i)) reads = true;
          else ok = false;
        }
        if (reads && ok) {
          region.insert(n);
          vals.insert(n->outputs[0]);
          grew = true;
        }
      }
    }
    if (!region.count(&t)) continue;
    // Candidate exits: t and the region nodes downstream of it. A candidate's own region is its ancestors in
    // `region` (so other uses of x, such as Mul(x, 3) beside x * Sigmoid(x), stay outside); the furthest
    // downstream candidate that computes a known activation of x is rewritten.
    std::vector<Node*> downstream;  // topological order (g.nodes is)
    {
      std::set<Node*> reach = {&t};
      for (auto& np : g.nodes) {
        Node* n = np.get();
        if (!region.count(n) || reach.count(n)) continue;
        for (auto& i : n->inputs)
          if (Node* d = p.def(i); d && reach.count(d)) { reach.insert(n); break; }
      }
      for (auto& np : g.nodes) if (reach.count(np.get())) downstream.push_back(np.get());
    }
    // Probe on [-8, 8] in x's element type.
    const ValueType* xt = g.type(x);
    DType dt = xt && xt->dtype != DType::kUndefined ? xt->dtype : DType::kF32;
    const int K = 161;
    Tensor sample = Tensor::alloc(dt, {K});
    for (int k = 0; k < K; ++k) sample.set_f64(k, -8.0 + 0.1 * k);
    const double tol = dt == DType::kF32 || dt == DType::kF64 ? 1e-4 : 3e-2;
    // Every region is compared with every reference, the transcendental op's own first: a Sigmoid region may
    // be SiLU or GELU-tanh (x*sigmoid(1.5958*(x + 0.044715x^3)) = 0.5x(1 + tanh(..))), a Tanh one SiLU.
    struct Ref { const char* op; const char* approximate; double (*f)(double); };
    const Ref silu_ref{"Silu", "", silu}, tanh_ref{"Gelu", "tanh", gelu_tanh}, erf_ref{"Gelu", "none", gelu_erf};
    const std::vector<Ref> refs = t.is("Tanh") ? std::vector<Ref>{tanh_ref, erf_ref, silu_ref}
                                  : t.is("Erf") ? std::vector<Ref>{erf_ref, tanh_ref, silu_ref}
                                                : std::vector<Ref>{silu_ref, tanh_ref, erf_ref};
    Node* e = nullptr;
    const Ref* match = nullptr;
    std::string why;
    for (auto it = downstream.rbegin(); it != downstream.rend() && !e; ++it) {
      auto y = probe_value(g, (*it)->outputs[0], {{x, sample}});
      if (!y || y->numel() != K) {
        if (why.empty()) why = (*it)->describe() + ": could not evaluate the region";
        continue;
      }
      double best = INFINITY;
      for (const Ref& r : refs) {
        double err = 0;
        for (int k = 0; k < K; ++k) err = std::max(err, std::fabs(y->f64(k) - r.f(sample.f64(k))));
        if (err <= tol) { e = *it; match = &r; break; }
        best = std::min(best, err);
      }
      if (!e && why.empty()) why = (*it)->describe() + ": computes no known activation (max error " + std::to_string(best) + ")";
    }
    if (!e) { ctx.note("fuse-activation", why); continue; }
    e->inputs = {x};
    e->domain = "tsc";
    e->op = match->op;
    e->attrs.clear();
    if (e->op == "Gelu") e->attrs = {{"approximate", string_attr(match->approximate)}};
    ++rewrites;
    p.refresh();
  }
  return rewrites;
}

}  // namespace tsc
