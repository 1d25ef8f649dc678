// Axis labeling through Reshape/Transpose/Unsqueeze/Squeeze/Expand.
#include "compiler/ir/passes/axis_labels.h"

#include <deque>

namespace tsc {
namespace {

bool is_one(const SymExpr& e) { return e.as_const() == 1; }

SymExpr axis_size(const Axis& a) {
  SymExpr s(1);
  for (auto& f : a) s = s * f.size;
  return s;
}

std::optional<Layout> reshape(const Layout& in, const SymShape& target) {
  std::deque<Factor> f;
  for (auto& a : in)
    for (auto& x : a)
      if (!is_one(x.size)) f.push_back(x);
  Layout out;
  for (const SymExpr& t : target) {
    Axis ax;
    if (is_one(t)) { out.push_back(ax); continue; }
    SymExpr acc(1);
    while (acc != t) {
      if (f.empty()) return std::nullopt;
      Factor x = f.front();
      SymExpr next = acc * x.size;
      if (next == t) { ax.push_back(x); f.pop_front(); acc = next; break; }
      if (t.div(next)) { ax.push_back(x); f.pop_front(); acc = next; continue; }
      // The target dim ends inside x: split x (only static sizes split).
      auto need = t.div(acc);
      auto xs = x.size.as_const();
      if (!need || !need->as_const() || !xs || *need->as_const() <= 0 || *xs % *need->as_const() != 0) return std::nullopt;
      int64_t hi = *need->as_const();
      ax.push_back({x.label + ".0", SymExpr(hi)});
      f.front() = {x.label + ".1", SymExpr(*xs / hi)};
      acc = t;
    }
    out.push_back(ax);
  }
  if (!f.empty()) return std::nullopt;
  return out;
}

}  // namespace

bool is_movement(const Node& n) {
  return n.domain.empty() && (n.op == "Reshape" || n.op == "Transpose" || n.op == "Unsqueeze" || n.op == "Squeeze" ||
                              n.op == "Expand" || n.op == "Identity" || n.op == "Cast" || n.op == "Flatten");
}

std::optional<Layout> apply_movement(const Graph& g, const Node& n, const Layout& in) {
  if (n.op == "Identity" || n.op == "Cast") return in;
  auto out = g.shape(n.outputs[0]);
  if (!out) return std::nullopt;
  if (n.op == "Transpose") {
    auto perm = n.attr_ints("perm");
    if (perm.empty()) for (int64_t k = static_cast<int64_t>(in.size()) - 1; k >= 0; --k) perm.push_back(k);
    if (perm.size() != in.size()) return std::nullopt;
    Layout r;
    for (auto p : perm) r.push_back(in[p]);
    return r;
  }
  if (n.op == "Expand") {
    if (out->size() < in.size()) return std::nullopt;
    Layout r(out->size() - in.size());  // new leading axes, size 1 unless expanded
    for (size_t k = 0; k < out->size() - in.size(); ++k)
      if (!is_one((*out)[k])) r[k] = {{"R", (*out)[k]}};
    for (size_t k = 0; k < in.size(); ++k) {
      const SymExpr& t = (*out)[k + out->size() - in.size()];
      SymExpr s = axis_size(in[k]);
      if (s == t) r.push_back(in[k]);
      else if (is_one(s)) r.push_back({{"R", t}});
      else return std::nullopt;
    }
    return r;
  }
  // Reshape, Unsqueeze, Squeeze, Flatten: all regroup factors in order.
  return reshape(in, *out);
}

std::vector<std::vector<std::string>> labels(const Layout& l) {
  std::vector<std::vector<std::string>> r;
  for (auto& a : l) {
    std::vector<std::string> ax;
    for (auto& f : a)
      if (!is_one(f.size)) ax.push_back(f.label);
    r.push_back(ax);
  }
  return r;
}

std::string layout_str(const Layout& l) {
  std::string s = "[";
  for (size_t i = 0; i < l.size(); ++i) {
    s += i ? "," : "";
    if (l[i].empty()) s += "1";
    for (size_t j = 0; j < l[i].size(); ++j) s += (j ? "*" : "") + l[i][j].label + "(" + l[i][j].size.str() + ")";
  }
  return s + "]";
}

SymExpr factor_size(const Layout& l, const std::string& label) {
  for (auto& a : l)
    for (auto& f : a)
      if (f.label == label) return f.size;
  return SymExpr(1);
}

std::vector<std::vector<std::string>> head_labels(const Layout& l) {
  auto lb = labels(l);
  bool split = false;
  for (auto& a : lb) for (auto& x : a) split = split || x == "F.0";
  if (!split)
    for (auto& a : lb) for (auto& x : a) if (x == "F") x = "F.1";
  // A static batch of 1 leaves no "B" factor: the leading unit axis is the batch.
  if (lb.size() >= 3 && lb[0].empty()) lb[0] = {"B"};
  return lb;
}

}  // namespace tsc
