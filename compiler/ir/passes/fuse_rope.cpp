// fuse-rope: rotary embeddings, x*cos + rotate_half(x)*sin on the head layout of q or k (or on its first
// rotary_dim channels, Concat with the rest), -> tsc.Rope on the token-major tensor the heads were split from,
// followed by the same head split:
//   tsc.Rope(x: [b, s, H*D], inv_freq: [rotary_dim/2]){num_heads, head_dim, rotary_dim, interleaved} -> [b, s, H*D]
// inv_freq is learned by evaluating the cos/sin tables (or the angles they are taken of) for concrete
// positions and checked at every position. fuse-attention then finds the Rope as its q/k operand's source.
#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "compiler/ir/infer.h"
#include "compiler/ir/passes/axis_labels.h"
#include "compiler/ir/passes/head_split.h"
#include "compiler/ir/passes/model_inputs.h"
#include "compiler/ir/passes/pass.h"
#include "compiler/ir/probe.h"

namespace tsc {
namespace {

struct RopeMatch {
  std::string x, cos, sin;  // x in head layout; cos/sin broadcastable tables
  int64_t rotary_dim = 0;
  Node* root = nullptr;
};

// Last-axis Slice of x with constant bounds; returns [start, end) resolved against dim.
std::optional<std::pair<int64_t, int64_t>> last_axis_slice(const Pat& p, const Node* n, int64_t dim, std::string* src) {
  if (!n || !n->is("Slice") || n->inputs.size() < 3) return std::nullopt;
  const Tensor *st = p.g.constant(n->input(1)), *en = p.g.constant(n->input(2));
  if (!st || !en || st->numel() != 1 || en->numel() != 1) return std::nullopt;
  auto rank = p.g.rank(n->inputs[0]);
  if (!rank) return std::nullopt;
  int64_t axis = -1;
  if (!n->input(3).empty()) {
    const Tensor* ax = p.g.constant(n->input(3));
    if (!ax || ax->numel() != 1) return std::nullopt;
    axis = ax->i64(0);
  }
  if (axis < 0) axis += static_cast<int64_t>(*rank);
  if (axis != static_cast<int64_t>(*rank) - 1) return std::nullopt;
  if (!n->input(4).empty()) {
    const Tensor* sp = p.g.constant(n->input(4));
    if (!sp || sp->numel() != 1 || sp->i64(0) != 1) return std::nullopt;
  }
  int64_t s = st->i64(0), e = en->i64(0);
  if (s < 0) s += dim;
  if (e < 0) e += dim;
  s = std::clamp<int64_t>(s, 0, dim);
  e = std::clamp<int64_t>(e, 0, dim);
  *src = n->inputs[0];
  return std::make_pair(s, e);
}

// rotate_half(x) = Concat(-x[..., d/2:], x[..., :d/2]) on the last axis.
bool is_rotate_half(const Pat& p, const std::string& r, const std::string& x, int64_t d) {
  Node* cat = p.def(r, "Concat");
  if (!cat || cat->inputs.size() != 2) return false;
  auto rank = p.g.rank(r);
  int64_t ax = cat->attr_i("axis", 0);
  if (!rank || !(ax == -1 || ax == static_cast<int64_t>(*rank) - 1)) return false;
  Node* neg = p.def(cat->inputs[0], "Neg");
  std::string s1, s2;
  auto hi = neg ? last_axis_slice(p, p.def(neg->inputs[0]), d, &s1) : std::nullopt;
  auto lo = last_axis_slice(p, p.def(cat->inputs[1]), d, &s2);
  return hi && lo && s1 == x && s2 == x && hi->first == d / 2 && hi->second == d && lo->first == 0 && lo->second == d / 2;
}

// x*cos + rotate_half(x)*sin in either operand order.
std::optional<RopeMatch> match_rope(const Pat& p, Node* add) {
  if (!add || !add->is("Add")) return std::nullopt;
  for (int side = 0; side < 2; ++side) {
    Node* m1 = p.def(add->inputs[side], "Mul");
    Node* m2 = p.def(add->inputs[1 - side], "Mul");
    if (!m1 || !m2) continue;
    for (int a = 0; a < 2; ++a)
      for (int b = 0; b < 2; ++b) {
        const std::string& x = m1->inputs[a];
        auto s = p.g.shape(x);
        if (!s || s->empty() || !s->back().as_const()) continue;
        const int64_t d = *s->back().as_const();
        if (is_rotate_half(p, m2->inputs[b], x, d)) return RopeMatch{x, m1->inputs[1 - a], m2->inputs[1 - b], d, add};
      }
  }
  return std::nullopt;
}

// Partial rotary (Phi-4-mini's partial_rotary_factor): the rotation acts on x[..., :rd] of the head and
// Concat(rotated, x[..., rd:]) on the last axis rebuilds it. Returns that Concat (which the Rope replaces) and
// sets r.x to the whole head; nullptr when r is not such a part.
Node* partial_rotary(const Pat& p, RopeMatch& r) {
  auto& cs = p.ud.consumers(r.root->outputs[0]);
  if (cs.size() != 1 || !cs[0]->is("Concat") || cs[0]->inputs.size() != 2 || cs[0]->inputs[0] != r.root->outputs[0]) return nullptr;
  Node* cat = cs[0];
  auto rank = p.g.rank(cat->outputs[0]);
  const int64_t ax = cat->attr_i("axis", 0);
  if (!rank || !(ax == -1 || ax == static_cast<int64_t>(*rank) - 1)) return nullptr;
  std::string head, rest;
  Node* lo = p.def(r.x);
  auto hs = lo && !lo->inputs.empty() ? p.g.shape(lo->inputs[0]) : std::nullopt;
  if (!hs || hs->empty() || !hs->back().as_const()) return nullptr;
  const int64_t d = *hs->back().as_const();
  auto a = last_axis_slice(p, lo, d, &head);
  auto b = last_axis_slice(p, p.def(cat->inputs[1]), d, &rest);
  if (!a || !b || head != rest || a->first != 0 || a->second != r.rotary_dim || b->first != r.rotary_dim || b->second != d) return nullptr;
  r.x = head;
  return cat;
}

// The angle table cos/sin are taken of: the input of the Cos in table's producer cone ("" if none: tables
// that are initializers, or computed from constants and folded).
std::string angle_of(const Graph& g, const std::string& table) {
  UseDef ud(g);
  std::vector<std::string> stack = {table};
  std::set<std::string> seen;
  while (!stack.empty() && seen.size() < 64) {
    std::string v = stack.back();
    stack.pop_back();
    if (!seen.insert(v).second) continue;
    Node* n = ud.producer(v);
    if (!n) continue;
    if (n->is("Cos")) return n->inputs[0];
    for (auto& i : n->inputs) if (!i.empty() && !g.is_const(i)) stack.push_back(i);
  }
  return {};
}

// inv_freq as the graph computes it: the angles cos/sin are taken of, angle[p][j] = position_p *
// inv_freq[j % half], read at position 1 and checked at every position. Reading it back from the tables
// instead loses precision where they are float16 (atan2 of fp16 cos/sin at position 1 gives 0.999723 for 1).
std::optional<std::vector<double>> inv_freq_from_angles(const Graph& g, const ModelInputs& mi, const RopeMatch& r,
                                                        const std::vector<int64_t>& pasts, int64_t P) {
  const std::string angle = angle_of(g, r.cos);
  if (angle.empty()) return std::nullopt;
  const int64_t rd = r.rotary_dim, half = rd / 2;
  std::vector<double> inv(half, 0.0);
  for (int64_t L : pasts) {
    auto a = probe_value(g, angle, probe_inputs(g, mi, P, L));
    if (!a || a->numel() != P * rd) return std::nullopt;
    const double rel = a->dtype == DType::kF32 || a->dtype == DType::kF64 ? 1e-5 : 1e-2;
    if (L == 0)
      for (int64_t j = 0; j < half; ++j) inv[j] = a->f64(rd + j);
    for (int64_t p = 0; p < P; ++p)
      for (int64_t j = 0; j < rd; ++j) {
        const double want = static_cast<double>(L + p) * inv[j % half];
        if (std::fabs(a->f64(p * rd + j) - want) > rel * std::max(1.0, std::fabs(want))) return std::nullopt;
      }
  }
  return inv;
}

// Learns inv_freq for concrete positions: from the angles the graph computes when it computes them, else from
// the cos/sin tables (atan2 at position 1); either way the tables are checked against it at every position.
std::optional<std::vector<float>> rope_inv_freq(const Graph& g, const ModelInputs& mi, const RopeMatch& r, std::string* why) {
  const int64_t P = 8, rd = r.rotary_dim, half = rd / 2;
  std::vector<int64_t> pasts = {0};
  if (!mi.past.empty()) pasts.push_back(3);
  auto from_angles = inv_freq_from_angles(g, mi, r, pasts, P);
  std::vector<double> inv = from_angles ? *from_angles : std::vector<double>(half, 0.0);
  for (int64_t L : pasts) {
    auto in = probe_inputs(g, mi, P, L);
    auto c = probe_value(g, r.cos, in), s = probe_value(g, r.sin, in);
    if (!c || !s) { *why = "cannot evaluate the cos/sin tables for concrete positions"; return std::nullopt; }
    if (c->numel() != P * rd || s->numel() != P * rd) { *why = "cos/sin tables are not [positions, rotary_dim]"; return std::nullopt; }
    const double tol = c->dtype == DType::kF32 || c->dtype == DType::kF64 ? 2e-4 : 2e-2;
    if (L == 0 && !from_angles)
      for (int64_t j = 0; j < half; ++j) inv[j] = std::atan2(s->f64(rd + j), c->f64(rd + j));
    for (int64_t p = 0; p < P; ++p)
      for (int64_t j = 0; j < rd; ++j) {
        double ang = static_cast<double>(L + p) * inv[j % half];
        if (std::fabs(c->f64(p * rd + j) - std::cos(ang)) > tol || std::fabs(s->f64(p * rd + j) - std::sin(ang)) > tol) {
          std::ostringstream o;
          o << "cos/sin at position " << L + p << " channel " << j << " are not cos/sin(position * inv_freq) with halves repeated";
          *why = o.str();
          return std::nullopt;
        }
      }
  }
  return std::vector<float>(inv.begin(), inv.end());
}

}  // namespace

int pass_fuse_rope(Graph& g, const PassContext& ctx) {
  int rewrites = 0;
  ModelInputs mi = classify_inputs(g);
  Pat p(g);
  std::vector<Node*> adds;
  for (auto& n : g.nodes)
    if (n->is("Add")) adds.push_back(n.get());
  // Each rewritten Add's replacement (the Rope and the re-applied head split), put in its place so that the
  // graph keeps the exporter's order (q's Rope before k's).
  Replacements replaced;
  for (Node* add : adds) {
    auto r = match_rope(p, add);
    if (!r) continue;
    // The node whose output the rotated head split replaces: the Add, or the Concat of a partial rotary.
    Node* root = add;
    if (Node* cat = partial_rotary(p, *r)) root = cat;
    std::string why;
    auto src = head_source(p, r->x, /*scalings=*/true, &why);
    std::optional<std::vector<float>> inv;
    if (src) inv = rope_inv_freq(g, mi, *r, &why);
    if (!src || !inv) { ctx.note("fuse-rope", add->describe() + ": " + why); continue; }
    const int64_t heads = src->heads, head_dim = src->head_dim;
    if (heads <= 0 || head_dim <= 0) { ctx.note("fuse-rope", add->describe() + ": head count or head_dim is not static"); continue; }
    std::string inv_name = g.fresh_name("rope_inv_freq");
    g.constants[inv_name] = Tensor::from_f32(*inv, {static_cast<int64_t>(inv->size())});
    auto rope = std::make_unique<Node>();
    rope->op = "Rope";
    rope->domain = "tsc";
    rope->name = add->name;
    rope->inputs = {src->value, inv_name};
    rope->attrs = {{"num_heads", int_attr(heads)}, {"head_dim", int_attr(head_dim)}, {"rotary_dim", int_attr(r->rotary_dim)}, {"interleaved", int_attr(0)}};
    // The same head split (and scalings), now of the rotated tensor; its end replaces the Add's output.
    replace_on_token_major(g, *src, std::move(rope), root, "rope", replaced);
    ++rewrites;
  }
  if (rewrites) splice_replacements(g, replaced);  // in the Add's place: the graph keeps the exporter's order
  return rewrites;
}

}  // namespace tsc
