// Shape ops: Shape, Size, Reshape, Flatten, Unsqueeze/Squeeze, Transpose, Expand, Tile, ConstantOfShape, Range.
// Inference tracks shape vectors symbolically (Shape -> ... -> Reshape chains); evaluation folds them.
#include <algorithm>
#include <cmath>
#include <limits>

#include "compiler/ir/ops/eval_kit.h"
#include "compiler/ir/ops/families.h"
#include "compiler/ir/ops/infer_ctx.h"

namespace tsc::ops {
namespace {

std::optional<std::vector<Tensor>> eval_shape(const Node& n, const std::vector<const Tensor*>& in) {
  const auto& s = need(n, in, 0).shape;
  int64_t r = static_cast<int64_t>(s.size());
  int64_t start = n.attr_i("start", 0), end = n.attr_i("end", r);
  if (start < 0) start += r;
  if (end < 0) end += r;
  start = std::clamp<int64_t>(start, 0, r);
  end = std::clamp<int64_t>(end, 0, r);
  std::vector<int64_t> v(s.begin() + start, s.begin() + std::max(start, end));
  return std::vector<Tensor>{Tensor::from_i64(v, {static_cast<int64_t>(v.size())})};
}

std::optional<std::vector<Tensor>> eval_size(const Node& n, const std::vector<const Tensor*>& in) {
  return std::vector<Tensor>{Tensor::scalar_i64(need(n, in, 0).numel())};
}

// Reshape and Flatten: same data, new shape [l, r] (Flatten) or the target with 0 and -1 resolved (Reshape).
std::optional<std::vector<Tensor>> eval_reshape(const Node& n, const std::vector<const Tensor*>& in) {
  const std::string& op = n.op;
  Arr a = load(need(n, in, 0));
  std::vector<int64_t> s;
  if (op == "Flatten") {
    // axis in [-r, r]; a negative one counts from the back of the input's rank (-1 on [2,3,4,5] -> [24,5]).
    const int64_t rank = static_cast<int64_t>(a.shape.size());
    int64_t ax = n.attr_i("axis", 1);
    if (ax < -rank || ax > rank) fail(n, "axis " + std::to_string(ax) + " out of range for rank " + std::to_string(rank));
    if (ax < 0) ax += rank;
    int64_t l = 1, r = 1;
    for (int64_t d = 0; d < static_cast<int64_t>(a.shape.size()); ++d) (d < ax ? l : r) *= a.shape[d];
    s = {l, r};
  } else {
    s = need(n, in, 1).to_i64();
    const bool allowzero = n.attr_i("allowzero", 0) != 0;
    int64_t known = 1, neg = -1;
    for (size_t k = 0; k < s.size(); ++k) {
      if (s[k] == 0 && !allowzero) { if (k >= a.shape.size()) fail(n, "0 in shape past input rank"); s[k] = a.shape[k]; }
      if (s[k] == -1) { if (neg >= 0) fail(n, "two -1 in target shape"); neg = static_cast<int64_t>(k); }
      else if (s[k] < 0) fail(n, "negative size " + std::to_string(s[k]) + " in target shape " + dims_str(s));
      else if (__builtin_mul_overflow(known, s[k], &known)) fail(n, "target shape " + dims_str(s) + " has more elements than int64 can count");
    }
    if (neg >= 0) { if (known == 0 || a.numel() % known) fail(n, "cannot infer -1 dimension"); s[neg] = a.numel() / known; }
  }
  if (checked_count(n, s) != a.numel()) fail(n, "reshape changes the number of elements");
  a.shape = s;
  return one(a);
}

std::optional<std::vector<Tensor>> eval_unsqueeze(const Node& n, const std::vector<const Tensor*>& in) {
  const std::string& op = n.op;
  Arr a = load(need(n, in, 0));
  auto axes = ints_input_or_attr(n, in, 1, "axes");
  std::vector<int64_t> s = a.shape;
  if (op == "Unsqueeze") {
    const int64_t r = static_cast<int64_t>(s.size() + axes.size());
    for (auto& ax : axes) ax = norm_axis(n, ax, r);
    std::sort(axes.begin(), axes.end());
    for (auto ax : axes) s.insert(s.begin() + ax, 1);
  } else {
    const int64_t r = static_cast<int64_t>(s.size());
    if (axes.empty()) { s.erase(std::remove(s.begin(), s.end(), 1), s.end()); }
    else {
      for (auto& ax : axes) ax = norm_axis(n, ax, r);
      std::sort(axes.rbegin(), axes.rend());
      if (std::adjacent_find(axes.begin(), axes.end()) != axes.end()) fail(n, "an axis is squeezed twice");
      for (auto ax : axes) { if (s[ax] != 1) fail(n, "squeezed axis is not 1"); s.erase(s.begin() + ax); }
    }
  }
  a.shape = s;
  return one(a);
}

std::optional<std::vector<Tensor>> eval_transpose(const Node& n, const std::vector<const Tensor*>& in) {
  const Tensor& x = need(n, in, 0);
  auto perm = n.attr_ints("perm");
  if (!perm.empty()) {
    std::vector<bool> seen(x.shape.size(), false);
    if (perm.size() != x.shape.size()) fail(n, "perm has " + std::to_string(perm.size()) + " entries for rank " + std::to_string(x.shape.size()));
    for (auto p : perm) {
      if (p < 0 || p >= static_cast<int64_t>(perm.size()) || seen[p]) fail(n, "perm is not a permutation of the axes");
      seen[p] = true;
    }
  }
  return one(transpose(load(x), perm));
}

std::optional<std::vector<Tensor>> eval_expand_tile(const Node& n, const std::vector<const Tensor*>& in) {
  const std::string& op = n.op;
  Arr a = load(need(n, in, 0));
  auto t = need(n, in, 1).to_i64();
  std::vector<int64_t> os;
  checked_count(n, t);  // Expand's shape and Tile's repeats are sizes: none negative
  if (op == "Expand") os = broadcast(n, a.shape, t);
  else {
    if (t.size() != a.shape.size()) fail(n, "repeats length differs from rank");
    os = a.shape;
    for (size_t k = 0; k < os.size(); ++k)
      if (__builtin_mul_overflow(os[k], t[k], &os[k])) fail(n, "tiled shape has more elements than int64 can count");
  }
  checked_count(n, os);
  Arr r = make(a.dt, os);
  if (op == "Expand") {
    for (int64_t o = 0; o < r.numel(); ++o) copy_el(r, o, a, bindex(os, a.shape, o));
  } else {
    auto ist = strides_of(a.shape);
    std::vector<int64_t> idx(os.size(), 0);
    for (int64_t o = 0; o < r.numel(); ++o) {
      int64_t src = 0;
      for (size_t d = 0; d < os.size(); ++d) src += (idx[d] % a.shape[d]) * ist[d];
      copy_el(r, o, a, src);
      for (int d = static_cast<int>(os.size()) - 1; d >= 0; --d) { if (++idx[d] < os[d]) break; idx[d] = 0; }
    }
  }
  return one(r);
}

std::optional<std::vector<Tensor>> eval_constant_of_shape(const Node& n, const std::vector<const Tensor*>& in) {
  auto s = need(n, in, 0).to_i64();
  checked_count(n, s);
  Tensor v = n.has_attr("value") && n.attrs.at("value").tensor ? *n.attrs.at("value").tensor : Tensor::from_f32({0.f}, {1});
  if (v.numel() != 1) fail(n, "value must hold one element, not " + std::to_string(v.numel()));
  Arr va = load(v);
  Arr r = make(va.dt, s);
  for (int64_t o = 0; o < r.numel(); ++o) copy_el(r, o, va, 0);
  return one(r);
}

std::optional<std::vector<Tensor>> eval_range(const Node& n, const std::vector<const Tensor*>& in) {
  Arr s = load(scalar_input(n, in, 0)), l = load(scalar_input(n, in, 1)), d = load(scalar_input(n, in, 2));
  double start = s.getf(0), limit = l.getf(0), delta = d.getf(0);
  if (delta == 0) fail(n, "range delta 0");
  // The count is compared in double before any conversion: (1e30 - 0) / 1 does not fit int64.
  const double count = std::ceil((limit - start) / delta);
  if (!(count <= (1 << 24))) return std::nullopt;  // too long to fold (or NaN bounds): stays a node
  // Clamped in double too: a range running away from its limit gives -1e30, which int64 cannot hold.
  const int64_t cnt = static_cast<int64_t>(std::max(0.0, count));
  Arr r = make(s.dt, {cnt});
  for (int64_t k = 0; k < cnt; ++k) {
    if (r.isint) {
      r.i[k] = iadd(n, s.geti(0), imul(n, k, d.geti(0)));
    } else {
      r.f[k] = start + static_cast<double>(k) * delta;
    }
  }
  return one(r.isint ? r : cast(r, r.dt));
}

std::optional<int64_t> elems_shape(const Node&, const std::vector<const Tensor*>& in) {
  return in.empty() ? 0 : static_cast<int64_t>(in[0]->shape.size());
}

std::optional<int64_t> elems_constant_of_shape(const Node&, const std::vector<const Tensor*>& in) {
  return in.empty() ? std::nullopt : sat_count(in[0]->to_i64());
}

std::optional<int64_t> elems_expand(const Node&, const std::vector<const Tensor*>& in) {
  if (in.size() != 2) return largest_input(in);
  auto t = in[1]->to_i64();
  if (!sat_count(t)) return std::nullopt;
  auto b = try_broadcast({&in[0]->shape, &t});
  return b ? sat_count(*b) : std::nullopt;
}

std::optional<int64_t> elems_tile(const Node&, const std::vector<const Tensor*>& in) {
  if (in.size() != 2) return largest_input(in);
  auto t = in[1]->to_i64();
  if (t.size() != in[0]->shape.size()) return std::nullopt;
  for (size_t k = 0; k < t.size(); ++k) {
    if (t[k] < 0) return std::nullopt;
    if (__builtin_mul_overflow(t[k], in[0]->shape[k], &t[k])) return std::numeric_limits<int64_t>::max();
  }
  return sat_count(t);
}

std::optional<int64_t> elems_range(const Node&, const std::vector<const Tensor*>& in) {
  if (in.size() != 3) return largest_input(in);
  if (in[0]->numel() != 1 || in[1]->numel() != 1 || in[2]->numel() != 1 || in[2]->f64(0) == 0) return std::nullopt;
  const double c = std::ceil((in[1]->f64(0) - in[0]->f64(0)) / in[2]->f64(0));
  if (std::isnan(c)) return std::nullopt;
  return c <= 0 ? 0 : c >= 9.2e18 ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(c);
}

void infer_shape(InferCtx& c, Node& n) {
  const std::string out0 = InferCtx::out0(n);
  auto s = c.in_shape(n, 0);
  if (!s) { c.set(out0, DType::kI64, SymShape{SymExpr::symbol(c.fresh_dim())}); return; }
  int64_t r = static_cast<int64_t>(s->size());
  int64_t start = n.attr_i("start", 0), end = n.attr_i("end", r);
  if (start < 0) start += r;
  if (end < 0) end += r;
  start = std::clamp<int64_t>(start, 0, r);
  end = std::clamp<int64_t>(end, start, r);
  SymVec v(s->begin() + start, s->begin() + end);
  c.set(out0, DType::kI64, SymShape{SymExpr(static_cast<int64_t>(v.size()))});
  c.set_sym(out0, v);
}

void infer_size(InferCtx& c, Node& n) {
  const std::string out0 = InferCtx::out0(n);
  c.set(out0, DType::kI64, SymShape{});
  if (auto s = c.in_shape(n, 0)) { SymExpr p(1); for (auto& d : *s) p = p * d; c.set_sym(out0, {p}); }
}

void infer_reshape(InferCtx& c, Node& n) {
  const std::string out0 = InferCtx::out0(n);
  auto s = c.in_shape(n, 0);
  const SymVec* t = c.sym(n.input(1));
  auto tshape = c.in_shape(n, 1);
  if (!t) {
    // Unknown target values but known length: rank is known.
    if (tshape && tshape->size() == 1 && (*tshape)[0].is_const()) {
      SymShape r;
      for (int64_t k = 0; k < *(*tshape)[0].as_const(); ++k) r.push_back(SymExpr::symbol(c.fresh_dim()));
      c.set(out0, c.in_dt(n, 0), r);
    } else c.set(out0, c.in_dt(n, 0), std::nullopt);
    return;
  }
  const bool allowzero = n.attr_i("allowzero", 0) != 0;
  SymShape r(t->begin(), t->end());
  int neg = -1;
  SymExpr known(1);
  for (size_t k = 0; k < r.size(); ++k) {
    auto v = r[k].as_const();
    if (v && *v == 0 && !allowzero) {
      if (!s || k >= s->size()) { c.set(out0, c.in_dt(n, 0), std::nullopt); return; }
      r[k] = (*s)[k];
    }
    if (v && *v == -1) { if (neg >= 0) c.fail(n, "two -1 entries in the target shape"); neg = static_cast<int>(k); continue; }
    if (v && *v < 0) c.fail(n, "negative size " + std::to_string(*v) + " in the target shape " + shape_str(r));
    known = known * r[k];
  }
  if (neg >= 0) {
    if (!s) { r[neg] = SymExpr::symbol(c.fresh_dim()); }
    else {
      // Cancel equal factors first ([b,4,past+seq,16] / [past+seq,16] = b*4) so that only
      // monomial divisions remain.
      std::vector<SymExpr> num(s->begin(), s->end()), den;
      for (size_t k = 0; k < r.size(); ++k) {
        if (static_cast<int>(k) == neg) continue;
        auto it = std::find(num.begin(), num.end(), r[k]);
        if (it != num.end()) num.erase(it);
        else den.push_back(r[k]);
      }
      SymExpr top(1), bottom(1);
      for (auto& d : num) top = top * d;
      for (auto& d : den) bottom = bottom * d;
      auto q = top.div(bottom);
      r[neg] = q ? *q : SymExpr::symbol(c.fresh_dim());
    }
  } else if (s) {
    SymExpr total(1);
    for (auto& d : *s) total = total * d;
    // Without a -1 the counts must be equal: provably different (for dims >= 1) when their difference has
    // coefficients of one sign, e.g. batch*seq*16 vs batch*seq*24 (not only when both are constants).
    if ((total - known).provably_nonzero())
      c.fail(n, "reshape of " + shape_str(*s) + " to " + shape_str(r) + " changes the number of elements");
  }
  c.set(out0, c.in_dt(n, 0), r);
  if (auto* v = c.sym(n.input(0))) c.set_sym(out0, *v);
}

void infer_flatten(InferCtx& c, Node& n) {
  const std::string out0 = InferCtx::out0(n);
  auto s = c.in_shape(n, 0);
  if (!s) { c.set(out0, c.in_dt(n, 0), std::nullopt); return; }
  // axis in [-r, r]; a negative one counts from the back of the rank (-1 on [2,3,4,5] -> [24,5]).
  const int64_t rank = static_cast<int64_t>(s->size());
  int64_t ax = n.attr_i("axis", 1);
  if (ax < -rank || ax > rank) c.fail(n, "axis " + std::to_string(ax) + " out of range for rank " + std::to_string(rank));
  if (ax < 0) ax += rank;
  SymExpr l(1), r(1);
  for (int64_t k = 0; k < static_cast<int64_t>(s->size()); ++k) (k < ax ? l : r) = (k < ax ? l : r) * (*s)[k];
  c.set(out0, c.in_dt(n, 0), SymShape{l, r});
}

void infer_unsqueeze(InferCtx& c, Node& n) {
  const std::string& op = n.op;
  const std::string out0 = InferCtx::out0(n);
  auto s = c.in_shape(n, 0);
  std::optional<std::vector<int64_t>> axes = n.inputs.size() > 1 ? c.const_ints(n.input(1)) : std::optional<std::vector<int64_t>>(n.attr_ints("axes"));
  if (!s || !axes) { c.set(out0, c.in_dt(n, 0), std::nullopt); return; }
  SymShape r = *s;
  if (op == "Unsqueeze") {
    auto ax = *axes;
    for (auto& a : ax) a = c.norm_axis(n, a, r.size() + ax.size());
    std::sort(ax.begin(), ax.end());
    for (auto a : ax) r.insert(r.begin() + a, SymExpr(1));
  } else {
    auto ax = *axes;
    if (ax.empty()) {
      SymShape t;
      for (auto& d : r) if (d.as_const() != 1) t.push_back(d);
      r = t;
    } else {
      for (auto& a : ax) a = c.norm_axis(n, a, r.size());
      std::sort(ax.rbegin(), ax.rend());
      for (auto a : ax) r.erase(r.begin() + a);
    }
  }
  c.set(out0, c.in_dt(n, 0), r);
  if (auto* v = c.sym(n.input(0))) c.set_sym(out0, *v);
}

void infer_transpose(InferCtx& c, Node& n) {
  const std::string out0 = InferCtx::out0(n);
  auto s = c.in_shape(n, 0);
  if (!s) { c.set(out0, c.in_dt(n, 0), std::nullopt); return; }
  auto perm = n.attr_ints("perm");
  if (perm.empty()) for (int64_t k = static_cast<int64_t>(s->size()) - 1; k >= 0; --k) perm.push_back(k);
  if (perm.size() != s->size()) c.fail(n, "perm has " + std::to_string(perm.size()) + " entries for rank " + std::to_string(s->size()));
  SymShape r;
  for (auto p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(s->size())) c.fail(n, "perm entry out of range");
    r.push_back((*s)[p]);
  }
  c.set(out0, c.in_dt(n, 0), r);
}

void infer_expand(InferCtx& c, Node& n) {
  const std::string out0 = InferCtx::out0(n);
  const SymVec* t = c.sym(n.input(1));
  auto s = c.in_shape(n, 0);
  if (!t || !s) { c.set(out0, c.in_dt(n, 0), std::nullopt); return; }
  auto r = c.broadcast(n, {s, SymShape(t->begin(), t->end())});
  c.set(out0, c.in_dt(n, 0), r);
  if (auto* v = c.sym(n.input(0)); v && r && r->size() == 1 && r->front().is_const() && v->size() == 1)
    c.set_sym(out0, SymVec(*r->front().as_const(), (*v)[0]));
}

void infer_tile(InferCtx& c, Node& n) {
  const std::string out0 = InferCtx::out0(n);
  auto s = c.in_shape(n, 0);
  auto rep = c.const_ints(n.input(1));
  if (!s || !rep || rep->size() != s->size()) { c.set(out0, c.in_dt(n, 0), std::nullopt); return; }
  SymShape r = *s;
  for (size_t k = 0; k < r.size(); ++k) r[k] = r[k] * SymExpr((*rep)[k]);
  c.set(out0, c.in_dt(n, 0), r);
}

void infer_constant_of_shape(InferCtx& c, Node& n) {
  const std::string out0 = InferCtx::out0(n);
  DType dt = DType::kF32;
  if (n.has_attr("value") && n.attrs.at("value").tensor) dt = n.attrs.at("value").tensor->dtype;
  const SymVec* t = c.sym(n.input(0));
  c.set(out0, dt, t ? std::optional<SymShape>(SymShape(t->begin(), t->end())) : std::nullopt);
  if (t && t->size() == 1 && (*t)[0].is_const() && !dtype_is_float(dt) && *(*t)[0].as_const() >= 0 &&
      *(*t)[0].as_const() <= static_cast<int64_t>(kMaxSymElems)) {
    int64_t fill = n.has_attr("value") ? n.attrs.at("value").tensor->i64(0) : 0;
    c.set_sym(out0, SymVec(*(*t)[0].as_const(), SymExpr(fill)));
  }
}

void infer_range(InferCtx& c, Node& n) {
  const std::string out0 = InferCtx::out0(n);
  const SymVec *a = c.sym(n.input(0)), *b = c.sym(n.input(1));
  auto d = c.const_ints(n.input(2));
  DType dt = c.in_dt(n, 0);
  if (a && b && d && d->size() == 1 && (*d)[0] == 1 && !dtype_is_float(dt)) c.set(out0, dt, SymShape{(*b)[0] - (*a)[0]});
  else c.set(out0, dt, SymShape{SymExpr::symbol(c.fresh_dim())});
}

}  // namespace

void add_shape_ops(OpTable& t) {
  t.add({.domain = "", .op = "Shape", .min_inputs = 1, .min_outputs = 1, .infer = infer_shape, .eval = eval_shape, .eval_elems = elems_shape});
  t.add({.domain = "", .op = "Size", .min_inputs = 1, .min_outputs = 1, .infer = infer_size, .eval = eval_size,
         .eval_elems = [](const Node&, const std::vector<const Tensor*>&) -> std::optional<int64_t> { return 1; }});
  t.add({.domain = "", .op = "Reshape", .min_inputs = 2, .min_outputs = 1, .infer = infer_reshape, .eval = eval_reshape});
  t.add({.domain = "", .op = "Flatten", .min_inputs = 1, .min_outputs = 1, .infer = infer_flatten, .eval = eval_reshape});
  // axes became an input in opset 13
  t.add({.domain = "", .op = "Unsqueeze", .min_inputs = 1, .min_outputs = 1, .more_inputs_since = 13, .min_inputs_later = 2,
         .infer = infer_unsqueeze, .eval = eval_unsqueeze});
  t.add({.domain = "", .op = "Squeeze", .min_inputs = 1, .min_outputs = 1, .infer = infer_unsqueeze, .eval = eval_unsqueeze});
  t.add({.domain = "", .op = "Transpose", .min_inputs = 1, .min_outputs = 1, .infer = infer_transpose, .eval = eval_transpose});
  t.add({.domain = "", .op = "Expand", .min_inputs = 2, .min_outputs = 1, .infer = infer_expand, .eval = eval_expand_tile, .eval_elems = elems_expand});
  t.add({.domain = "", .op = "Tile", .min_inputs = 2, .min_outputs = 1, .infer = infer_tile, .eval = eval_expand_tile, .eval_elems = elems_tile});
  t.add({.domain = "", .op = "ConstantOfShape", .min_inputs = 1, .min_outputs = 1, .infer = infer_constant_of_shape,
         .eval = eval_constant_of_shape, .eval_elems = elems_constant_of_shape});
  t.add({.domain = "", .op = "Range", .min_inputs = 3, .min_outputs = 1, .infer = infer_range, .eval = eval_range, .eval_elems = elems_range});
}

}  // namespace tsc::ops
