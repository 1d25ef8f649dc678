// Reductions and scans: Reduce*, CumSum, Softmax/LogSoftmax (plus the arity of ArgMax/ArgMin and TopK).
// Evaluated: ReduceMean/Sum/Max/Min, CumSum, and Softmax along the last axis of a float tensor.
#include <algorithm>
#include <cmath>

#include "compiler/ir/ops/eval_kit.h"
#include "compiler/ir/ops/families.h"
#include "compiler/ir/ops/infer_ctx.h"

namespace tsc::ops {
namespace {

std::optional<std::vector<Tensor>> eval_reduce(const Node& n, const std::vector<const Tensor*>& in) {
  const std::string& op = n.op;
  Arr a = load(need(n, in, 0));
  const int64_t rank = static_cast<int64_t>(a.shape.size());
  auto axes = ints_input_or_attr(n, in, 1, "axes");
  const bool keep = n.attr_i("keepdims", 1) != 0;
  if (axes.empty()) {
    if (n.attr_i("noop_with_empty_axes", 0)) return one(a);
    for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
  }
  std::vector<bool> red(rank, false);
  for (auto ax : axes) red[norm_axis(n, ax, rank)] = true;
  std::vector<int64_t> ks = a.shape;
  for (int64_t d = 0; d < rank; ++d) if (red[d]) ks[d] = 1;
  Arr r = make(a.dt, ks);
  std::vector<double> acc(r.numel(), op == "ReduceMax" ? -INFINITY : (op == "ReduceMin" ? INFINITY : 0.0));
  std::vector<int64_t> idx(rank, 0);
  auto kst = strides_of(ks);
  for (int64_t o = 0; o < a.numel(); ++o) {
    int64_t dst = 0;
    for (int64_t d = 0; d < rank; ++d) dst += (red[d] ? 0 : idx[d]) * kst[d];
    double v = a.getf(o);
    if (op == "ReduceMax") acc[dst] = std::max(acc[dst], v);
    else if (op == "ReduceMin") acc[dst] = std::min(acc[dst], v);
    else acc[dst] += v;
    for (int64_t d = rank - 1; d >= 0; --d) { if (++idx[d] < a.shape[d]) break; idx[d] = 0; }
  }
  int64_t cnt = a.numel() / std::max<int64_t>(1, r.numel());
  for (int64_t o = 0; o < r.numel(); ++o) {
    double v = op == "ReduceMean" ? acc[o] / static_cast<double>(cnt) : acc[o];
    if (r.isint) r.i[o] = saturating_i64(v); else r.f[o] = v;
  }
  if (!keep) {
    std::vector<int64_t> s;
    for (int64_t d = 0; d < rank; ++d) if (!red[d]) s.push_back(a.shape[d]);
    r.shape = s;
  }
  return one(r);
}

std::optional<std::vector<Tensor>> eval_cumsum(const Node& n, const std::vector<const Tensor*>& in) {
  Arr a = load(need(n, in, 0));
  const int64_t rank = static_cast<int64_t>(a.shape.size());
  if (rank == 0) fail(n, "CumSum of a scalar");
  const int64_t ax = norm_axis(n, scalar_input(n, in, 1).i64(0), rank);
  const bool excl = n.attr_i("exclusive", 0), rev = n.attr_i("reverse", 0);
  int64_t outer = 1, inner = 1, dim = a.shape[ax];
  for (int64_t d = 0; d < ax; ++d) outer *= a.shape[d];
  for (int64_t d = ax + 1; d < rank; ++d) inner *= a.shape[d];
  Arr r = make(a.dt, a.shape);
  for (int64_t x = 0; x < outer; ++x)
    for (int64_t k = 0; k < inner; ++k) {
      double acc = 0;
      for (int64_t j0 = 0; j0 < dim; ++j0) {
        int64_t j = rev ? dim - 1 - j0 : j0;
        int64_t at = (x * dim + j) * inner + k;
        double v = a.getf(at);
        if (!excl) acc += v;
        if (r.isint) r.i[at] = saturating_i64(acc); else r.f[at] = acc;
        if (excl) acc += v;
      }
    }
  return one(r);
}

std::optional<std::vector<Tensor>> eval_softmax(const Node& n, const std::vector<const Tensor*>& in) {
  Arr a = load(need(n, in, 0));
  const int64_t rank = static_cast<int64_t>(a.shape.size());
  const int64_t ax = norm_axis(n, n.attr_i("axis", -1), rank);
  if (ax != rank - 1 || a.isint) return std::nullopt;
  int64_t C = a.shape.back();
  for (int64_t row = 0; row < a.numel() / std::max<int64_t>(C, 1); ++row) {
    double m = -INFINITY, s = 0;
    for (int64_t c = 0; c < C; ++c) m = std::max(m, a.f[row * C + c]);
    for (int64_t c = 0; c < C; ++c) s += std::exp(a.f[row * C + c] - m);
    for (int64_t c = 0; c < C; ++c) a.f[row * C + c] = std::exp(a.f[row * C + c] - m) / s;
  }
  return one(cast(a, a.dt));
}

void infer_reduce(InferCtx& c, Node& n) {
  const std::string out0 = InferCtx::out0(n);
  auto s = c.in_shape(n, 0);
  std::optional<std::vector<int64_t>> axes = n.inputs.size() > 1 && !n.input(1).empty() ? c.const_ints(n.input(1)) : std::optional<std::vector<int64_t>>(n.attr_ints("axes"));
  if (!s || !axes) { c.set(out0, c.in_dt(n, 0), std::nullopt); return; }
  const bool keep = n.attr_i("keepdims", 1) != 0;
  std::vector<bool> red(s->size(), axes->empty() && !n.attr_i("noop_with_empty_axes", 0));
  for (auto a : *axes) red[c.norm_axis(n, a, s->size())] = true;
  SymShape r;
  for (size_t d = 0; d < s->size(); ++d) {
    if (!red[d]) r.push_back((*s)[d]);
    else if (keep) r.push_back(SymExpr(1));
  }
  c.set(out0, c.in_dt(n, 0), r);
}

}  // namespace

void add_reduction_ops(OpTable& t) {
  for (const char* name : {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin"})
    t.add({.domain = "", .op = name, .min_inputs = 1, .min_outputs = 1, .infer = infer_reduce, .eval = eval_reduce, .eval_optional_inputs = true});
  for (const char* name : {"ReduceProd", "ReduceL2", "ReduceSumSquare"})
    t.add({.domain = "", .op = name, .min_inputs = 1, .min_outputs = 1, .infer = infer_reduce});
  t.add({.domain = "", .op = "CumSum", .min_inputs = 2, .min_outputs = 1, .infer = infer_same_shape, .eval = eval_cumsum});
  t.add({.domain = "", .op = "Softmax", .min_inputs = 1, .min_outputs = 1, .infer = infer_same_shape, .eval = eval_softmax});
  t.add({.domain = "", .op = "LogSoftmax", .min_inputs = 1, .min_outputs = 1, .infer = infer_same_shape});
  t.add({.domain = "", .op = "ArgMax", .min_inputs = 1, .min_outputs = 1});
  t.add({.domain = "", .op = "ArgMin", .min_inputs = 1, .min_outputs = 1});
  t.add({.domain = "", .op = "TopK", .min_inputs = 2, .min_outputs = 2});
}

}  // namespace tsc::ops
