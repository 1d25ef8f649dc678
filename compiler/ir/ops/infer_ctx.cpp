// InferCtx: the graph's types and symbolic values as op inference reads and writes them.
#include "compiler/ir/ops/infer_ctx.h"

#include "contract/error.h"

namespace tsc {

void InferCtx::fail(const Node& n, const std::string& why) {
  throw Error(n.describe() + ": " + why, "the graph's shapes are inconsistent; re-export the model");
}

std::optional<SymShape> InferCtx::shape_of(const std::string& v) const { return v.empty() ? std::nullopt : g.shape(v); }

DType InferCtx::dtype_of(const std::string& v) const {
  if (v.empty()) return DType::kUndefined;
  if (auto* c = g.constant(v)) return c->dtype;
  if (auto* t = g.type(v)) return t->dtype;
  return DType::kUndefined;
}

const SymVec* InferCtx::sym(const std::string& v) const {
  auto it = g.sym_values.find(v);
  return it == g.sym_values.end() ? nullptr : &it->second;
}

std::optional<std::vector<int64_t>> InferCtx::const_ints(const std::string& v) const {
  if (v.empty()) return std::nullopt;
  if (auto* c = g.constant(v)) return c->to_i64();
  return std::nullopt;
}

void InferCtx::set(const std::string& o, DType dt, std::optional<SymShape> s) {
  if (o.empty()) return;
  g.types[o] = ValueType{dt, std::move(s)};
}

void InferCtx::set_sym(const std::string& o, SymVec v) {
  if (!o.empty() && v.size() <= kMaxSymElems) g.sym_values[o] = std::move(v);
}

void InferCtx::set_unknown(const Node& n) {
  for (auto& o : n.outputs) {
    const ValueType* known = o.empty() ? nullptr : g.type(o);
    set(o, known && known->dtype != DType::kUndefined ? known->dtype : in_dt(n, 0), std::nullopt);
  }
}

std::optional<SymShape> InferCtx::broadcast(const Node& n, const std::vector<std::optional<SymShape>>& shapes) const {
  SymShape out;
  for (auto& s : shapes) {
    if (!s) return std::nullopt;
    if (s->size() > out.size()) out.insert(out.begin(), s->size() - out.size(), SymExpr(1));
    size_t off = out.size() - s->size();
    for (size_t k = 0; k < s->size(); ++k) {
      const SymExpr& d = (*s)[k];
      SymExpr& o = out[off + k];
      if (o == d || d.as_const() == 1) continue;
      if (o.as_const() == 1) { o = d; continue; }
      auto oc = o.as_const(), dc = d.as_const();
      if (oc && dc) fail(n, "cannot broadcast " + shape_str(out) + " with " + shape_str(*s));
      if (dc) o = d;  // a static size wins over a symbol (the symbol must equal it)
    }
  }
  return out;
}

int64_t InferCtx::norm_axis(const Node& n, int64_t ax, size_t rank) {
  int64_t r = static_cast<int64_t>(rank);
  if (ax < -r || ax >= std::max<int64_t>(r, 1)) fail(n, "axis " + std::to_string(ax) + " out of range for rank " + std::to_string(r));
  return ax < 0 ? ax + r : ax;
}

void infer_same_shape(InferCtx& c, Node& n) { c.set(InferCtx::out0(n), c.in_dt(n, 0), c.in_shape(n, 0)); }

}  // namespace tsc
