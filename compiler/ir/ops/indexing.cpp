// Indexing and data movement: Gather, GatherND, Slice, Concat, Split, Trilu (plus the arity of
// GatherElements, Scatter*, Pad, which tsc types as unknown and never folds).
#include <algorithm>
#include <limits>
#include <tuple>

#include "compiler/ir/ops/eval_kit.h"
#include "compiler/ir/ops/families.h"
#include "compiler/ir/ops/infer_ctx.h"

namespace tsc::ops {
namespace {

std::optional<std::vector<Tensor>> eval_gather(const Node& n, const std::vector<const Tensor*>& in) {
  Arr a = load(need(n, in, 0));
  Arr idx = load(need(n, in, 1));
  const int64_t rank = static_cast<int64_t>(a.shape.size());
  if (rank == 0) fail(n, "Gather from a scalar");
  const int64_t ax = norm_axis(n, n.attr_i("axis", 0), rank);
  std::vector<int64_t> os(a.shape.begin(), a.shape.begin() + ax);
  os.insert(os.end(), idx.shape.begin(), idx.shape.end());
  os.insert(os.end(), a.shape.begin() + ax + 1, a.shape.end());
  Arr r = make(a.dt, os);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < ax; ++d) outer *= a.shape[d];
  for (int64_t d = ax + 1; d < rank; ++d) inner *= a.shape[d];
  const int64_t dim = a.shape[ax], ni = idx.numel();
  int64_t o = 0;
  for (int64_t x = 0; x < outer; ++x)
    for (int64_t j = 0; j < ni; ++j) {
      int64_t id = idx.geti(j);
      if (id < 0) id += dim;
      if (id < 0 || id >= dim) fail(n, "index " + std::to_string(idx.geti(j)) + " out of range [0, " + std::to_string(dim) + ")");
      for (int64_t k = 0; k < inner; ++k) copy_el(r, o++, a, (x * dim + id) * inner + k);
    }
  return one(r);
}

std::optional<std::vector<Tensor>> eval_gather_nd(const Node& n, const std::vector<const Tensor*>& in) {
  if (n.attr_i("batch_dims", 0) != 0) return std::nullopt;
  Arr a = load(need(n, in, 0)), idx = load(need(n, in, 1));
  if (idx.shape.empty()) fail(n, "GatherND indices must have rank >= 1");
  const int64_t q = static_cast<int64_t>(idx.shape.size()), m = idx.shape.back();
  if (m < 1 || m > static_cast<int64_t>(a.shape.size())) fail(n, "index depth " + std::to_string(m) + " is not in [1, data rank]");
  std::vector<int64_t> os(idx.shape.begin(), idx.shape.end() - 1);
  os.insert(os.end(), a.shape.begin() + m, a.shape.end());
  Arr r = make(a.dt, os);
  auto st = strides_of(a.shape);
  int64_t inner = 1;
  for (size_t d = m; d < a.shape.size(); ++d) inner *= a.shape[d];
  int64_t nidx = 1;
  for (int64_t d = 0; d < q - 1; ++d) nidx *= idx.shape[d];
  for (int64_t j = 0; j < nidx; ++j) {
    int64_t base = 0;
    for (int64_t k = 0; k < m; ++k) {
      int64_t v = idx.geti(j * m + k);
      if (v < 0) v += a.shape[k];
      if (v < 0 || v >= a.shape[k]) fail(n, "index out of range");
      base += v * st[k];
    }
    for (int64_t k = 0; k < inner; ++k) copy_el(r, j * inner + k, a, base + k);
  }
  return one(r);
}

std::optional<std::vector<Tensor>> eval_slice(const Node& n, const std::vector<const Tensor*>& in) {
  Arr a = load(need(n, in, 0));
  std::vector<int64_t> starts, ends, axes, steps;
  if (in.size() >= 3 && in[1] && in[2]) {
    starts = in[1]->to_i64();
    ends = in[2]->to_i64();
    if (in.size() > 3 && in[3]) axes = in[3]->to_i64();
    if (in.size() > 4 && in[4]) steps = in[4]->to_i64();
  } else {
    starts = n.attr_ints("starts");
    ends = n.attr_ints("ends");
    axes = n.attr_ints("axes");
  }
  const int64_t rank = static_cast<int64_t>(a.shape.size());
  if (rank == 0) fail(n, "Slice of a scalar");
  if (axes.empty()) for (size_t k = 0; k < starts.size(); ++k) axes.push_back(static_cast<int64_t>(k));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (starts.size() != ends.size() || axes.size() != starts.size() || steps.size() != starts.size()) fail(n, "starts/ends/axes/steps lengths differ");
  std::vector<int64_t> st(rank, 0), sp(rank, 1), os = a.shape;
  for (size_t k = 0; k < axes.size(); ++k) {
    int64_t ax = norm_axis(n, axes[k], rank), dim = a.shape[ax], step = steps[k];
    if (step == 0) fail(n, "slice step 0");
    step = std::clamp<int64_t>(step, -(dim + 1), dim + 1);  // a longer step takes one element all the same
    int64_t s = starts[k], e = ends[k];
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    if (dim == 0) os[ax] = 0;
    else if (step > 0) { s = std::clamp<int64_t>(s, 0, dim); e = std::clamp<int64_t>(e, 0, dim); os[ax] = e > s ? (e - s + step - 1) / step : 0; }
    else { s = std::clamp<int64_t>(s, 0, dim - 1); e = std::clamp<int64_t>(e, -1, dim - 1); os[ax] = s > e ? (s - e - step - 1) / (-step) : 0; }
    st[ax] = s;
    sp[ax] = step;
  }
  Arr r = make(a.dt, os);
  auto ist = strides_of(a.shape);
  std::vector<int64_t> idx(rank, 0);
  for (int64_t flat = 0; flat < r.numel(); ++flat) {
    int64_t src = 0;
    for (int64_t d = 0; d < rank; ++d) src += (st[d] + idx[d] * sp[d]) * ist[d];
    copy_el(r, flat, a, src);
    for (int64_t d = rank - 1; d >= 0; --d) { if (++idx[d] < os[d]) break; idx[d] = 0; }
  }
  return one(r);
}

std::optional<std::vector<Tensor>> eval_concat(const Node& n, const std::vector<const Tensor*>& in) {
  if (in.empty()) fail(n, "Concat needs at least one input");
  std::vector<Arr> parts;
  for (size_t k = 0; k < in.size(); ++k) parts.push_back(load(need(n, in, k)));
  const int64_t rank = static_cast<int64_t>(parts[0].shape.size());
  if (rank == 0) fail(n, "Concat of scalars (inputs must have rank >= 1)");
  const int64_t ax = norm_axis(n, n.attr_i("axis", 0), rank);
  std::vector<int64_t> os = parts[0].shape;
  os[ax] = 0;
  for (auto& p : parts) {
    if (static_cast<int64_t>(p.shape.size()) != rank) fail(n, "inputs have different ranks");
    for (int64_t d = 0; d < rank; ++d)
      if (d != ax && p.shape[d] != os[d]) fail(n, "input shapes differ outside the concat axis");
    os[ax] += p.shape[ax];
  }
  Arr r = make(parts[0].dt, os);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < ax; ++d) outer *= os[d];
  for (int64_t d = ax + 1; d < rank; ++d) inner *= os[d];
  int64_t o = 0;
  for (int64_t a = 0; a < outer; ++a)
    for (auto& p : parts) {
      int64_t chunk = p.shape[ax] * inner;
      for (int64_t k = 0; k < chunk; ++k) copy_el(r, o++, p, a * chunk + k);
    }
  return one(r);
}

// Split: one Slice per output along axis.
std::optional<std::vector<Tensor>> eval_split(const Node& n, const std::vector<const Tensor*>& in) {
  Arr a = load(need(n, in, 0));
  const int64_t rank = static_cast<int64_t>(a.shape.size());
  if (rank == 0) fail(n, "Split of a scalar");
  const int64_t ax = norm_axis(n, n.attr_i("axis", 0), rank);
  std::vector<int64_t> sizes = ints_input_or_attr(n, in, 1, "split");
  const int64_t nout = static_cast<int64_t>(n.outputs.size());
  if (nout == 0) fail(n, "Split has no outputs");
  if (sizes.empty()) {
    int64_t dim = a.shape[ax], chunk = (dim + nout - 1) / nout;
    for (int64_t k = 0; k < nout; ++k) sizes.push_back(std::min(chunk, dim - k * chunk));
  }
  if (static_cast<int64_t>(sizes.size()) != nout) fail(n, "split sizes do not match the number of outputs");
  std::vector<Tensor> outs;
  int64_t off = 0;
  for (auto sz : sizes) {
    Node sl;
    sl.op = "Slice";
    Tensor s0 = Tensor::from_i64({off}, {1}), e0 = Tensor::from_i64({off + sz}, {1}), a0 = Tensor::from_i64({ax}, {1});
    Tensor src = store(a);
    auto r = eval_slice(sl, {&src, &s0, &e0, &a0});
    outs.push_back((*r)[0]);
    off += sz;
  }
  return outs;
}

std::optional<std::vector<Tensor>> eval_trilu(const Node& n, const std::vector<const Tensor*>& in) {
  Arr a = load(need(n, in, 0));
  int64_t k = in.size() > 1 && in[1] ? scalar_input(n, in, 1).i64(0) : 0;
  const bool upper = n.attr_i("upper", 1) != 0;
  const size_t r = a.shape.size();
  if (r < 2) fail(n, "Trilu needs rank >= 2");
  int64_t R = a.shape[r - 2], C = a.shape[r - 1];
  for (int64_t o = 0; o < a.numel(); ++o) {
    int64_t j = o % C, i = (o / C) % R;
    bool keep = upper ? (j - i >= k) : (j - i <= k);
    if (!keep) { if (a.isint) a.i[o] = 0; else a.f[o] = 0; }
  }
  return one(a);
}

std::optional<int64_t> elems_gather(const Node& n, const std::vector<const Tensor*>& in) {
  if (in.size() != 2) return largest_input(in);
  const auto& s = in[0]->shape;
  int64_t ax = n.attr_i("axis", 0);
  const int64_t r = static_cast<int64_t>(s.size());
  if (r == 0 || ax < -r || ax >= r) return std::nullopt;
  std::vector<int64_t> os = s;
  os[ax < 0 ? ax + r : ax] = in[1]->numel();
  return sat_count(os);
}

std::optional<int64_t> elems_gather_nd(const Node&, const std::vector<const Tensor*>& in) {
  if (in.size() != 2) return largest_input(in);
  const auto &s = in[0]->shape, &i = in[1]->shape;
  if (i.empty() || i.back() < 0 || i.back() > static_cast<int64_t>(s.size())) return std::nullopt;
  std::vector<int64_t> os(i.begin(), i.end() - 1);
  os.insert(os.end(), s.begin() + i.back(), s.end());
  return sat_count(os);
}

std::optional<int64_t> elems_concat(const Node&, const std::vector<const Tensor*>& in) {
  int64_t c = 0;
  for (auto* t : in) if (__builtin_add_overflow(c, t->numel(), &c)) return std::numeric_limits<int64_t>::max();
  return c;
}

bool is_big_int(int64_t v) { return v >= (std::numeric_limits<int64_t>::max() >> 2) || v <= (std::numeric_limits<int64_t>::min() >> 2); }

// Output length of a 1-step slice of a dim, symbolically. start/end may be huge sentinels.
std::optional<SymExpr> slice_len(const SymExpr& dim, const SymExpr& start, const SymExpr& end, int64_t step) {
  auto resolve = [&](const SymExpr& e, bool is_end) -> std::optional<SymExpr> {
    if (auto c = e.as_const()) {
      if (is_big_int(*c)) return *c > 0 ? dim : SymExpr(step > 0 ? 0 : -1);
      if (*c < 0) {
        if (auto dc = dim.as_const()) return SymExpr(std::max<int64_t>(*dc + *c, is_end && step < 0 ? -1 : 0));
        return dim + SymExpr(*c);
      }
      if (auto dc = dim.as_const()) return SymExpr(std::min(*c, *dc));
      return SymExpr(*c);
    }
    return e;  // symbolic: assume in range
  };
  auto s = resolve(start, false), e = resolve(end, true);
  if (!s || !e) return std::nullopt;
  if (step == 1) {
    SymExpr len = *e - *s;
    if (auto c = len.as_const()) return SymExpr(std::max<int64_t>(*c, 0));
    return len;
  }
  auto sc = s->as_const(), ec = e->as_const();
  if (sc && ec && (is_big_int(*sc) || is_big_int(*ec))) return std::nullopt;
  if (sc && ec) {
    step = std::clamp<int64_t>(step, -(int64_t{1} << 62), int64_t{1} << 62);  // no overflow below
    if (step > 0) return SymExpr(*ec > *sc ? (*ec - *sc + step - 1) / step : 0);
    return SymExpr(*sc > *ec ? (*sc - *ec - step - 1) / (-step) : 0);
  }
  return std::nullopt;
}


void infer_gather(InferCtx& c, Node& n) {
  const std::string out0 = InferCtx::out0(n);
  auto s = c.in_shape(n, 0), is = c.in_shape(n, 1);
  if (!s || !is) { c.set(out0, c.in_dt(n, 0), std::nullopt); return; }
  int64_t ax = c.norm_axis(n, n.attr_i("axis", 0), s->size());
  SymShape r(s->begin(), s->begin() + ax);
  r.insert(r.end(), is->begin(), is->end());
  r.insert(r.end(), s->begin() + ax + 1, s->end());
  c.set(out0, c.in_dt(n, 0), r);
  auto* v = c.sym(n.input(0));
  auto idx = c.const_ints(n.input(1));
  if (v && idx && s->size() == 1) {
    SymVec o;
    for (auto i : *idx) {
      int64_t j = i < 0 ? i + static_cast<int64_t>(v->size()) : i;
      if (j < 0 || j >= static_cast<int64_t>(v->size())) c.fail(n, "index " + std::to_string(i) + " out of range");
      o.push_back((*v)[j]);
    }
    c.set_sym(out0, o);
  }
}

void infer_gather_nd(InferCtx& c, Node& n) {
  const std::string out0 = InferCtx::out0(n);
  auto s = c.in_shape(n, 0), is = c.in_shape(n, 1);
  if (!s || !is || is->empty() || !is->back().is_const() || n.attr_i("batch_dims", 0) != 0) { c.set(out0, c.in_dt(n, 0), std::nullopt); return; }
  int64_t m = *is->back().as_const();
  SymShape r(is->begin(), is->end() - 1);
  r.insert(r.end(), s->begin() + std::min<int64_t>(m, s->size()), s->end());
  c.set(out0, c.in_dt(n, 0), r);
}

void infer_slice(InferCtx& c, Node& n) {
  const std::string out0 = InferCtx::out0(n);
  auto s = c.in_shape(n, 0);
  if (!s) { c.set(out0, c.in_dt(n, 0), std::nullopt); return; }
  const SymVec *st = c.sym(n.input(1)), *en = c.sym(n.input(2));
  std::optional<std::vector<int64_t>> axes = n.inputs.size() > 3 && !n.input(3).empty() ? c.const_ints(n.input(3)) : std::optional<std::vector<int64_t>>(std::vector<int64_t>{});
  std::optional<std::vector<int64_t>> steps = n.inputs.size() > 4 && !n.input(4).empty() ? c.const_ints(n.input(4)) : std::optional<std::vector<int64_t>>(std::vector<int64_t>{});
  SymVec stv, env;
  if (n.inputs.size() < 2) {  // opset < 10: attributes
    for (auto v : n.attr_ints("starts")) stv.push_back(SymExpr(v));
    for (auto v : n.attr_ints("ends")) env.push_back(SymExpr(v));
    axes = n.attr_ints("axes");
  } else {
    if (!st || !en || !axes || !steps) { c.set(out0, c.in_dt(n, 0), std::nullopt); return; }
    stv = *st;
    env = *en;
  }
  if (axes->empty()) for (size_t k = 0; k < stv.size(); ++k) axes->push_back(static_cast<int64_t>(k));
  if (steps->empty()) steps->assign(stv.size(), 1);
  if (stv.size() != env.size() || axes->size() != stv.size() || steps->size() != stv.size()) c.fail(n, "starts/ends/axes/steps lengths differ");
  SymShape r = *s;
  std::vector<std::tuple<int64_t, SymExpr, SymExpr, int64_t>> per_axis;
  for (size_t k = 0; k < stv.size(); ++k) {
    int64_t ax = c.norm_axis(n, (*axes)[k], s->size());
    if ((*steps)[k] == 0) c.fail(n, "slice step is 0");
    auto len = slice_len((*s)[ax], stv[k], env[k], (*steps)[k]);
    r[ax] = len ? *len : SymExpr::symbol(c.fresh_dim());
    per_axis.emplace_back(ax, stv[k], env[k], (*steps)[k]);
  }
  c.set(out0, c.in_dt(n, 0), r);
  // Slicing a symbolic 1-D vector with constant bounds.
  auto* v = c.sym(n.input(0));
  if (v && s->size() == 1 && per_axis.size() == 1) {
    auto [ax, a, b, step] = per_axis[0];
    auto ac = a.as_const(), bc = b.as_const();
    if (ac && bc && step == 1) {
      int64_t len = static_cast<int64_t>(v->size());
      int64_t lo = *ac < 0 ? *ac + len : *ac, hi = *bc < 0 ? *bc + len : *bc;
      lo = std::clamp<int64_t>(lo, 0, len);
      hi = std::clamp<int64_t>(hi, lo, len);
      c.set_sym(out0, SymVec(v->begin() + lo, v->begin() + hi));
    }
  }
}

void infer_concat(InferCtx& c, Node& n) {
  const std::string out0 = InferCtx::out0(n);
  if (n.inputs.empty()) c.fail(n, "Concat needs at least one input");
  std::optional<SymShape> out;
  int64_t ax = 0;
  bool ok = true;
  SymVec sv;
  bool sym_ok = true;
  for (size_t k = 0; k < n.inputs.size(); ++k) {
    auto s = c.in_shape(n, k);
    if (!s) { ok = false; break; }
    if (k == 0) {
      if (s->empty()) c.fail(n, "Concat of scalars (inputs must have rank >= 1)");
      out = s;
      ax = c.norm_axis(n, n.attr_i("axis", 0), s->size());
    }
    else {
      if (s->size() != out->size()) c.fail(n, "inputs have different ranks (" + shape_str(*out) + " vs " + shape_str(*s) + ")");
      (*out)[ax] = (*out)[ax] + (*s)[ax];
    }
    if (auto* v = c.sym(n.inputs[k])) sv.insert(sv.end(), v->begin(), v->end());
    else sym_ok = false;
  }
  c.set(out0, c.in_dt(n, 0), ok ? out : std::nullopt);
  if (sym_ok && ok && out->size() == 1) c.set_sym(out0, sv);
}

void infer_split(InferCtx& c, Node& n) {
  auto s = c.in_shape(n, 0);
  if (!s) { for (auto& o : n.outputs) c.set(o, c.in_dt(n, 0), std::nullopt); return; }
  int64_t ax = c.norm_axis(n, n.attr_i("axis", 0), s->size());
  std::optional<std::vector<int64_t>> sizes = n.inputs.size() > 1 && !n.input(1).empty() ? c.const_ints(n.input(1)) : std::optional<std::vector<int64_t>>(n.attr_ints("split"));
  const size_t nout = n.outputs.size();
  for (size_t k = 0; k < nout; ++k) {
    SymShape r = *s;
    if (sizes && sizes->size() == nout) r[ax] = SymExpr((*sizes)[k]);
    else if (auto q = (*s)[ax].div(SymExpr(static_cast<int64_t>(nout)))) r[ax] = *q;
    else r[ax] = SymExpr::symbol(c.fresh_dim());
    c.set(n.outputs[k], c.in_dt(n, 0), r);
  }
}

}  // namespace

void add_indexing_ops(OpTable& t) {
  t.add({.domain = "", .op = "Gather", .min_inputs = 2, .min_outputs = 1, .infer = infer_gather, .eval = eval_gather, .eval_elems = elems_gather});
  t.add({.domain = "", .op = "GatherND", .min_inputs = 2, .min_outputs = 1, .infer = infer_gather_nd, .eval = eval_gather_nd, .eval_elems = elems_gather_nd});
  // starts and ends became inputs in opset 10
  t.add({.domain = "", .op = "Slice", .min_inputs = 1, .min_outputs = 1, .more_inputs_since = 10, .min_inputs_later = 3,
         .infer = infer_slice, .eval = eval_slice, .eval_optional_inputs = true});
  t.add({.domain = "", .op = "Concat", .min_inputs = 1, .min_outputs = 1, .infer = infer_concat, .eval = eval_concat, .eval_elems = elems_concat});
  t.add({.domain = "", .op = "Split", .min_inputs = 1, .min_outputs = 1, .infer = infer_split, .eval = eval_split, .eval_optional_inputs = true});
  t.add({.domain = "", .op = "Trilu", .min_inputs = 1, .min_outputs = 1, .infer = infer_same_shape, .eval = eval_trilu, .eval_optional_inputs = true});
  t.add({.domain = "", .op = "GatherElements", .min_inputs = 2, .min_outputs = 1});
  t.add({.domain = "", .op = "ScatterND", .min_inputs = 3, .min_outputs = 1});
  t.add({.domain = "", .op = "ScatterElements", .min_inputs = 3, .min_outputs = 1});
  t.add({.domain = "", .op = "Pad", .min_inputs = 1, .min_outputs = 1});
}

}  // namespace tsc::ops
