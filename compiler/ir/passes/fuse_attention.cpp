// fuse-attention: softmax(Q K^T * scale + mask) V, whatever head reshapes, GQA repeat and KV-cache concat
// surround it, -> one tsc.Attention on token-major q/k/v (fuse-rope has already made rotary a tsc.Rope on
// the token-major q and k):
//   tsc.Attention(q: [b, s, Hq*D], k: [b, s, Hkv*D], v: [b, s, Hkv*D], past_k?, past_v?)
//       {num_heads, num_kv_heads, head_dim, scale, softcap?} -> out [b, s, Hq*D], present_k?, present_v? [b, Hkv, past+s, D]
// Gemma 2's soft-capped scores c * tanh(scale' * Q K^T / c) (Mul/Div, Tanh, Mul between the MatMul and the mask)
// become softcap = c with scale the score's scale before capping; a mask applied before the cap is refused.
// Causal masks are verified (probed: exactly the keys after each query hidden) and dropped: the runtime
// provides causality; a non-causal attention is an error.
#include <cmath>
#include <set>
#include <sstream>

#include "compiler/ir/infer.h"
#include "compiler/ir/passes/axis_labels.h"
#include "compiler/ir/passes/model_inputs.h"
#include "compiler/ir/passes/pass.h"
#include "compiler/ir/probe.h"

namespace tsc {
namespace {

struct Operand {
  std::string source;
  Layout layout;
  double scale = 1.0;
  std::string past;       // graph input concatenated on the sequence axis
  Node* concat = nullptr;  // that Concat
};

// Walks back from an attention operand to its token-major source, then labels axes forward.
std::optional<Operand> trace_operand(const Pat& p, const std::string& v0, std::string* why) {
  struct Step { Node* n; int kind; };  // 0 move, 1 scale, 3 past concat
  std::vector<Step> steps;
  Operand op;
  std::string v = v0;
  std::set<std::string> inputs(p.g.inputs.begin(), p.g.inputs.end());
  for (int guard = 0; guard < 64; ++guard) {
    Node* n = p.def(v);
    if (!n) break;
    if (is_movement(*n)) { steps.push_back({n, 0}); v = n->inputs[0]; continue; }
    if ((n->is("Mul") || n->is("Div")) && n->inputs.size() == 2) {
      auto c = p.scalar(n->inputs[1]);
      int idx = 0;
      if (!c && n->is("Mul")) { c = p.scalar(n->inputs[0]); idx = 1; }
      if (c) {
        op.scale *= n->is("Mul") ? *c : 1.0 / *c;
        steps.push_back({n, 1});
        v = n->inputs[idx];
        continue;
      }
    }
    if (n->is("Concat") && n->inputs.size() == 2 && inputs.count(n->inputs[0]) && op.past.empty()) {
      op.past = n->inputs[0];
      op.concat = n;
      steps.push_back({n, 3});
      v = n->inputs[1];
      continue;
    }
    break;
  }
  op.source = v;
  auto s = p.g.shape(v);
  if (!s || s->size() != 3 || !(*s)[2].as_const()) { *why = "operand source '" + v + "' is not a [batch, seq, features] tensor"; return std::nullopt; }
  Layout l = {{{"B", (*s)[0]}}, {{"S", (*s)[1]}}, {{"F", (*s)[2]}}};
  for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
    Node* n = it->n;
    if (it->kind == 0) {
      auto nl = apply_movement(p.g, *n, l);
      if (!nl) { *why = n->describe() + " moves data across heads or tokens (layout " + layout_str(l) + ")"; return std::nullopt; }
      l = *nl;
    } else if (it->kind == 3) {
      auto lb = labels(l);
      int64_t ax = n->attr_i("axis", 0);
      if (ax < 0) ax += static_cast<int64_t>(l.size());
      if (ax < 0 || ax >= static_cast<int64_t>(l.size()) || lb[ax] != std::vector<std::string>{"S"}) { *why = "KV-cache concat is not along the sequence axis"; return std::nullopt; }
      auto os = p.g.shape(n->outputs[0]);
      if (!os) { *why = "KV-cache concat has unknown shape"; return std::nullopt; }
      l[ax] = {{"S", (*os)[ax]}};
    }
  }
  op.layout = l;
  return op;
}


// [B][heads][x][y] where heads is one of F.0, F.0*R, R or nothing (a single head).
bool head_layout(const Layout& l, const std::vector<std::string>& x, const std::vector<std::string>& y) {
  auto lb = head_labels(l);
  if (lb.size() != 4 || lb[0] != std::vector<std::string>{"B"} || lb[2] != x || lb[3] != y) return false;
  using V = std::vector<std::string>;
  return lb[1] == V{"F.0"} || lb[1] == V{"F.0", "R"} || lb[1] == V{"R"} || lb[1].empty();
}

struct Match {
  Node* qk = nullptr;  // MatMul(Q, K^T): the scores before scaling and masking
  bool masked = false;  // an Add or Where on the way from the scores to the softmax
  Operand q, k, v;
  double scale = 1.0;
  double softcap = 0;  // c of c * tanh(s / c) applied to the scaled scores (0: none)
  std::string out;  // token-major output value
  bool flat = false;  // out is [batch*seq, heads*head_dim] (the exporter flattened rows for a 2-D Gemm)
  SymExpr batch, seq;
  int64_t hq = 0, hkv = 0, d = 0;
};

// Matches the attention around one Softmax node.
std::optional<Match> match_attention(const Pat& p, Node* sm, std::string* why) {
  auto rank = p.g.rank(sm->outputs[0]);
  int64_t ax = sm->attr_i("axis", -1);
  if (!(ax == -1 || (rank && ax == static_cast<int64_t>(*rank) - 1))) { *why = "softmax is not over the last axis"; return std::nullopt; }
  Match m;
  // Scores: back through mask adds, Where, scalings, casts to MatMul(Q, K^T).
  std::string v = sm->inputs[0];
  Node* qk = nullptr;
  for (int guard = 0; guard < 16 && !qk; ++guard) {
    Node* n = p.def(v);
    if (!n) break;
    if (n->is("MatMul")) { qk = n; break; }
    if (n->is("Cast") || n->is("Identity")) { v = n->inputs[0]; continue; }
    if (n->is("Tanh") && m.softcap == 0) {
      // Soft-capping: what multiplies tanh is the cap c; the factors met from here on scale the scores inside it.
      if (m.scale <= 0) { *why = "the scores' tanh is scaled by a non-positive factor"; return std::nullopt; }
      m.softcap = m.scale;
      m.scale = 1.0;
      v = n->inputs[0];
      continue;
    }
    if (m.softcap != 0 && (n->is("Add") || n->is("Where"))) { *why = "the scores are masked before their soft-cap (tanh)"; return std::nullopt; }
    if ((n->is("Mul") || n->is("Div")) && p.scalar(n->inputs[1])) {
      m.scale *= n->is("Mul") ? *p.scalar(n->inputs[1]) : 1.0 / *p.scalar(n->inputs[1]);
      v = n->inputs[0];
      continue;
    }
    if (n->is("Mul") && p.scalar(n->inputs[0])) { m.scale *= *p.scalar(n->inputs[0]); v = n->inputs[1]; continue; }
    if (n->is("Add")) {
      // The score path is the side whose chain reaches a MatMul of two non-constant operands.
      auto reaches = [&](std::string x) {
        for (int i = 0; i < 8; ++i) {
          Node* k = p.def(x);
          if (!k) return false;
          if (k->is("MatMul")) return !p.g.is_const(k->inputs[0]) && !p.g.is_const(k->inputs[1]);
          if (k->inputs.empty()) return false;
          x = k->inputs[0];
        }
        return false;
      };
      if (reaches(n->inputs[0])) { v = n->inputs[0]; m.masked = true; continue; }
      if (reaches(n->inputs[1])) { v = n->inputs[1]; m.masked = true; continue; }
      break;
    }
    if (n->is("Where") && n->inputs.size() == 3) {
      v = p.g.is_const(n->inputs[1]) ? n->inputs[2] : n->inputs[1];
      m.masked = true;
      continue;
    }
    break;
  }
  if (!qk) { *why = "softmax input does not come from a Q*K^T MatMul"; return std::nullopt; }
  m.qk = qk;
  // Probabilities: forward through NaN guards and casts to MatMul(P, V).
  std::string pv = sm->outputs[0];
  Node* av = nullptr;
  for (int guard = 0; guard < 8 && !av; ++guard) {
    auto cs = p.data_consumers(pv);
    if (cs.size() == 1 && cs[0]->is("MatMul") && cs[0]->inputs[0] == pv) { av = cs[0]; break; }
    if (cs.size() == 1 && (cs[0]->is("Cast") || cs[0]->is("Identity") || cs[0]->is("Dropout"))) { pv = cs[0]->outputs[0]; continue; }
    if (cs.size() == 2) {  // Where(IsNaN(p), 0, p)
      Node *isnan = nullptr, *where = nullptr;
      for (Node* c : cs) { if (c->is("IsNaN")) isnan = c; if (c->is("Where")) where = c; }
      if (isnan && where && where->inputs[0] == isnan->outputs[0] && where->inputs[2] == pv) { pv = where->outputs[0]; continue; }
    }
    break;
  }
  if (!av) { *why = "softmax output does not feed a MatMul with V"; return std::nullopt; }
  auto q = trace_operand(p, qk->inputs[0], why);
  if (!q) return std::nullopt;
  auto k = trace_operand(p, qk->inputs[1], why);
  if (!k) return std::nullopt;
  auto vv = trace_operand(p, av->inputs[1], why);
  if (!vv) return std::nullopt;
  m.q = *q;
  m.k = *k;
  m.v = *vv;
  using V = std::vector<std::string>;
  auto qh = head_labels(q->layout);
  if (!head_layout(q->layout, V{"S"}, V{"F.1"}) || (qh[1] != V{"F.0"} && !qh[1].empty())) { *why = "Q operand layout " + layout_str(q->layout) + " is not [batch, heads, seq, head_dim]"; return std::nullopt; }
  if (!head_layout(k->layout, V{"F.1"}, V{"S"})) { *why = "K operand layout " + layout_str(k->layout) + " is not [batch, heads, head_dim, seq]"; return std::nullopt; }
  if (!head_layout(vv->layout, V{"S"}, V{"F.1"})) { *why = "V operand layout " + layout_str(vv->layout) + " is not [batch, heads, seq, head_dim]"; return std::nullopt; }
  auto cint = [](const SymExpr& e) { return e.as_const().value_or(-1); };
  // Sizes: a single head has no F.0 factor and its head_dim is the whole F.
  auto heads = [&](const Layout& l) { return cint(factor_size(l, "F.0")); };
  auto hdim = [&](const Layout& l) { SymExpr d = factor_size(l, "F.1"); return cint(d.as_const() == 1 ? factor_size(l, "F") : d); };
  m.hq = heads(q->layout);
  m.d = hdim(q->layout);
  m.hkv = heads(k->layout);
  const int64_t rep = cint(factor_size(k->layout, "R"));
  if (m.hq <= 0 || m.d <= 0 || m.hkv <= 0 || m.hkv * rep != m.hq || hdim(k->layout) != m.d || hdim(vv->layout) != m.d ||
      heads(vv->layout) != m.hkv || cint(factor_size(vv->layout, "R")) != rep) {
    *why = "head counts disagree between Q, K and V";
    return std::nullopt;
  }
  auto roped = [&](const Operand& o) { Node* n = p.def(o.source); return n && n->is_tsc("Rope"); };
  if (roped(*q) != roped(*k)) { *why = "rotary is applied to only one of Q and K"; return std::nullopt; }
  if (!q->past.empty() || k->past.empty() != vv->past.empty()) { *why = "KV-cache concat on only some of K and V"; return std::nullopt; }
  m.scale *= q->scale * k->scale;
  if (m.softcap != 0) m.scale *= m.softcap;  // c * tanh(x * qk) = c * tanh((x c) * qk / c)
  if (vv->scale != 1.0) { *why = "V is scaled"; return std::nullopt; }
  // Output: forward through movement ops until [batch, seq, heads*head_dim].
  auto os = p.g.shape(av->outputs[0]);
  if (!os || os->size() != 4) { *why = "attention output is not rank 4"; return std::nullopt; }
  Layout l = {{{"B", (*os)[0]}}, {{"H", (*os)[1]}}, {{"S", (*os)[2]}}, {{"D", (*os)[3]}}};
  std::string out = av->outputs[0];
  auto merged = [&] {
    auto lb = labels(l);
    if (lb.size() == 3 && lb[0].empty()) lb[0] = {"B"};  // static batch 1
    using V = std::vector<std::vector<std::string>>;
    return lb == V{{"B"}, {"S"}, {"H", "D"}} || lb == V{{"B", "S"}, {"H", "D"}} || lb == V{{"S"}, {"H", "D"}};
  };
  for (int guard = 0; guard < 8; ++guard) {
    if (merged()) break;
    auto cs = p.data_consumers(out);
    if (cs.size() != 1 || !is_movement(*cs[0])) { *why = "attention output is not merged back to [batch, seq, heads*head_dim]"; return std::nullopt; }
    auto nl = apply_movement(p.g, *cs[0], l);
    if (!nl) { *why = cs[0]->describe() + " does not merge heads"; return std::nullopt; }
    l = *nl;
    out = cs[0]->outputs[0];
  }
  if (!merged()) { *why = "attention output is not merged back to [batch, seq, heads*head_dim]"; return std::nullopt; }
  m.out = out;
  m.flat = l.size() == 2;
  m.batch = (*os)[0];
  m.seq = (*os)[2];
  return m;
}

// The runtime always attends causally, so the mask the graph applies to the scores must be exactly causal: an
// encoder's attention (no mask) or a mask tsc does not understand would be served as something else. Decided
// numerically from the mask subgraph alone: with Q*K^T bound to zeros, the softmax input for P new tokens
// after L cached ones (attention_mask all ones) must be <= -1e3 (or -inf: weight e^-1000 = 0) exactly where
// key j > L + i, and 0 elsewhere (a bias such as ALiBi on kept keys is no causal mask). Returns why not.
std::optional<std::string> not_causal(const Graph& g, const ModelInputs& mi, const Match& m, const Node& sm) {
  auto qs = g.shape(m.qk->outputs[0]);
  if (!qs || qs->size() < 2) return "the scores Q*K^T have unknown rank";
  if ((*qs)[qs->size() - 2].as_const() == 1) return std::nullopt;  // one query per step: nothing to mask
  if (!m.masked) return "its scores reach the softmax without a mask (every token would see the tokens after it)";
  const int64_t P = 4;
  std::vector<int64_t> pasts = {0};
  if (!mi.past.empty()) pasts.push_back(3);
  for (int64_t L : pasts) {
    auto in = probe_inputs(g, mi, P, L);
    const auto symbols = bound_symbols(g, in);
    std::vector<int64_t> shape;
    for (size_t k = 0; k < qs->size(); ++k) {
      auto d = (*qs)[k].eval(symbols);
      shape.push_back(k == qs->size() - 2 ? P : k == qs->size() - 1 ? L + P : d && *d > 0 ? *d : 1);
    }
    const ValueType* qt = g.type(m.qk->outputs[0]);
    in[m.qk->outputs[0]] = Tensor::alloc(qt && qt->dtype != DType::kUndefined ? qt->dtype : DType::kF32, shape);
    auto r = probe_value(g, sm.inputs[0], in);
    std::ostringstream o;
    o << P << " tokens after " << L << " cached";
    if (!r) return "cannot evaluate its mask for " + o.str() + " (the mask subgraph has ops tsc cannot evaluate)";
    const auto& rs = r->shape;
    if (rs.size() < 2 || rs[rs.size() - 2] != P || rs.back() != L + P)
      return "the masked scores for " + o.str() + " are not [.., " + std::to_string(P) + ", " + std::to_string(L + P) + "]";
    for (int64_t e = 0; e < r->numel(); ++e) {
      const int64_t j = e % (L + P), i = (e / (L + P)) % P;
      const double v = r->f64(e);
      const bool masked = v <= -1e3, kept = std::isfinite(v) && std::fabs(v) <= 1e-3;
      if (j > L + i ? !masked : !kept) {
        std::ostringstream w;
        if (j > L + i) w << "its mask lets query " << L + i << " see key " << j << ", a later token (mask " << v << ")";
        else w << "its mask hides key " << j << " from query " << L + i << " (mask " << v << "; only later tokens may be hidden, by <= -1e3)";
        w << ", for " << o.str();
        return w.str();
      }
    }
  }
  return std::nullopt;
}

// The graph output holding a KV-cache concat (through Identity/Cast), or "".
std::string present_of(const Pat& p, Node* concat) {
  if (!concat) return {};
  std::string v = concat->outputs[0];
  for (int i = 0; i < 4; ++i) {
    if (p.ud.is_graph_output(v)) return v;
    bool next = false;
    for (Node* c : p.ud.consumers(v))
      if (c->is("Identity") || c->is("Cast")) { v = c->outputs[0]; next = true; break; }
    if (!next) break;
  }
  return {};
}

}  // namespace

int pass_fuse_attention(Graph& g, const PassContext& ctx) {
  int rewrites = 0;
  ModelInputs mi = classify_inputs(g);
  std::vector<Node*> softmaxes;
  for (auto& n : g.nodes)
    if (n->is("Softmax")) softmaxes.push_back(n.get());
  std::vector<std::unique_ptr<Node>> added;
  for (Node* sm : softmaxes) {
    Pat p(g);
    std::string why;
    auto m = match_attention(p, sm, &why);
    if (!m) { ctx.note("fuse-attention", sm->describe() + ": " + why); continue; }
    if (auto nc = not_causal(g, mi, *m, *sm))
      throw Error(sm->describe() + ": attention is not causal: " + *nc,
                  "tsc compiles decoder-only LMs, whose attention is causal (the runtime always masks later tokens); "
                  "export the model with its causal mask");
    // Replace the node producing the merged output by tsc.Attention.
    Node* root = p.def(m->out);
    std::vector<std::string> ins = {m->q.source, m->k.source, m->v.source}, outs = {m->out};
    if (!m->k.past.empty()) {
      std::string pk = present_of(p, m->k.concat), pv = present_of(p, m->v.concat);
      ins.push_back(m->k.past);
      ins.push_back(m->v.past);
      // The old concats stop producing the graph outputs; tsc.Attention produces them.
      outs.push_back(pk.empty() ? g.fresh_name("present_k") : pk);
      outs.push_back(pv.empty() ? g.fresh_name("present_v") : pv);
      for (auto& n : g.nodes)
        for (auto& o : n->outputs)
          if (!o.empty() && (o == outs[1] || o == outs[2]) && n.get() != root) o = g.fresh_name(o + "_dead");
    }
    if (m->flat) {
      // tsc.Attention is token-major 3-D; re-flatten for the consumer (fuse-linear unflattens it again).
      std::string a3 = g.fresh_name(m->out + "_attn");
      g.types[a3] = ValueType{g.type(m->out) ? g.type(m->out)->dtype : DType::kF32, SymShape{m->batch, m->seq, SymExpr(m->hq * m->d)}};
      auto flat = std::make_unique<Node>();
      flat->op = "Reshape";
      flat->name = root->name + "/flatten";
      std::string shp = g.fresh_name("flat_shape");
      g.constants[shp] = Tensor::from_i64({-1, m->hq * m->d}, {2});
      flat->inputs = {a3, shp};
      flat->outputs = {m->out};
      added.push_back(std::move(flat));
      outs[0] = a3;
    }
    // Exporters split the scale as sqrt(scale) on Q and on K; the float32 product is 1/sqrt(d) up to rounding.
    const double canonical = 1.0 / std::sqrt(static_cast<double>(m->d));
    if (std::fabs(m->scale - canonical) <= 1e-6 * canonical) m->scale = canonical;
    root->op = "Attention";
    root->domain = "tsc";
    root->inputs = ins;
    root->outputs = outs;
    root->attrs = {{"num_heads", int_attr(m->hq)}, {"num_kv_heads", int_attr(m->hkv)}, {"head_dim", int_attr(m->d)}, {"scale", float_attr(static_cast<float>(m->scale))}};
    if (m->softcap != 0) root->attrs["softcap"] = float_attr(static_cast<float>(m->softcap));
    ++rewrites;
  }
  for (auto& n : added) g.nodes.push_back(std::move(n));
  if (rewrites) topo_sort(g);
  return rewrites;
}

}  // namespace tsc
