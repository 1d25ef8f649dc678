// Element-wise ops of several inputs with multidirectional broadcasting: arithmetic, comparison and logic,
// Where, variadic Max/Min/Sum. Integers fold exactly (overflow is an error), floats in double; integer
// vectors are also computed symbolically (shape arithmetic such as seq + past, batch * heads).
#include <algorithm>
#include <cmath>
#include <set>

#include "compiler/ir/ops/eval_kit.h"
#include "compiler/ir/ops/families.h"
#include "compiler/ir/ops/infer_ctx.h"

namespace tsc::ops {
namespace {

bool is_comparison(const std::string& op) {
  static const std::set<std::string> cmp = {"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor"};
  return cmp.count(op) > 0;
}

Arr binary(const Node& n, const Arr& a, const Arr& b) {
  const std::string& op = n.op;
  DType odt = is_comparison(op) ? DType::kBool : a.dt;
  Arr r = make(odt, broadcast(n, a.shape, b.shape));
  const int64_t N = r.numel();
  const bool ints = a.isint && b.isint;
  for (int64_t o = 0; o < N; ++o) {
    int64_t ia = bindex(r.shape, a.shape, o), ib = bindex(r.shape, b.shape, o);
    if (ints) {
      int64_t x = a.i[ia], y = b.i[ib], v = 0;
      if (op == "Add") v = iadd(n, x, y);
      else if (op == "Sub") v = isub(n, x, y);
      else if (op == "Mul") v = imul(n, x, y);
      else if (op == "Div" || op == "Mod") {
        if (y == 0) fail(n, "integer division by zero");
        if (y == -1) v = op == "Div" ? isub(n, 0, x) : 0;  // (INT64_MIN / -1 overflows)
        else if (op == "Div") v = x / y;
        else v = n.attr_i("fmod", 0) || x % y == 0 || (x % y < 0) == (y < 0) ? x % y : x % y + y;
      }
      else if (op == "Max") v = std::max(x, y);
      else if (op == "Min") v = std::min(x, y);
      else if (op == "Pow") v = saturating_i64(std::pow(static_cast<double>(x), static_cast<double>(y)));
      else if (op == "Equal") v = x == y;
      else if (op == "Less") v = x < y;
      else if (op == "Greater") v = x > y;
      else if (op == "LessOrEqual") v = x <= y;
      else if (op == "GreaterOrEqual") v = x >= y;
      else if (op == "And") v = (x != 0) && (y != 0);
      else if (op == "Or") v = (x != 0) || (y != 0);
      else if (op == "Xor") v = (x != 0) != (y != 0);
      if (r.isint) r.i[o] = v; else r.f[o] = static_cast<double>(v);
    } else {
      double x = a.getf(ia), y = b.getf(ib), v = 0;
      if (op == "Add") v = x + y;
      else if (op == "Sub") v = x - y;
      else if (op == "Mul") v = x * y;
      else if (op == "Div") v = x / y;
      else if (op == "Mod") v = std::fmod(x, y);
      else if (op == "Max") v = std::max(x, y);
      else if (op == "Min") v = std::min(x, y);
      else if (op == "Pow") v = std::pow(x, y);
      else if (op == "Equal") v = x == y;
      else if (op == "Less") v = x < y;
      else if (op == "Greater") v = x > y;
      else if (op == "LessOrEqual") v = x <= y;
      else if (op == "GreaterOrEqual") v = x >= y;
      else if (op == "And") v = (x != 0) && (y != 0);
      else if (op == "Or") v = (x != 0) || (y != 0);
      else if (op == "Xor") v = (x != 0) != (y != 0);
      if (r.isint) r.i[o] = saturating_i64(v); else r.f[o] = v;
    }
  }
  return r;
}


std::optional<std::vector<Tensor>> eval_binary(const Node& n, const std::vector<const Tensor*>& in) {
  Arr r = binary(n, load(need(n, in, 0)), load(need(n, in, 1)));
  return one(r.isint ? r : cast(r, r.dt));
}

// Max, Min, Sum: a left fold of the binary op.
std::optional<std::vector<Tensor>> eval_variadic(const Node& n, const std::vector<const Tensor*>& in) {
  const std::string& op = n.op;
  Node b = n;
  b.op = op == "Sum" ? "Add" : op;
  Arr acc = load(need(n, in, 0));
  for (size_t k = 1; k < in.size(); ++k) acc = binary(b, acc, load(need(n, in, k)));
  return one(acc);
}

std::optional<std::vector<Tensor>> eval_where(const Node& n, const std::vector<const Tensor*>& in) {
  Arr c = load(need(n, in, 0)), x = load(need(n, in, 1)), y = load(need(n, in, 2));
  Arr r = make(x.dt, broadcast(n, broadcast(n, c.shape, x.shape), y.shape));
  for (int64_t o = 0; o < r.numel(); ++o) {
    bool cv = c.getf(bindex(r.shape, c.shape, o)) != 0;
    if (cv) copy_el(r, o, x, bindex(r.shape, x.shape, o));
    else copy_el(r, o, y, bindex(r.shape, y.shape, o));
  }
  return one(r);
}

std::optional<int64_t> elems_broadcast(const Node&, const std::vector<const Tensor*>& in) {
  std::vector<const std::vector<int64_t>*> shapes;
  for (auto* t : in) shapes.push_back(&t->shape);
  auto b = try_broadcast(shapes);
  return b ? sat_count(*b) : std::nullopt;
}

std::optional<SymVec> sym_binary(const std::string& op, const SymVec& a, const SymVec& b) {
  size_t len = std::max(a.size(), b.size());
  if (a.size() != len && a.size() != 1) return std::nullopt;
  if (b.size() != len && b.size() != 1) return std::nullopt;
  SymVec r;
  for (size_t k = 0; k < len; ++k) {
    const SymExpr& x = a[a.size() == 1 ? 0 : k];
    const SymExpr& y = b[b.size() == 1 ? 0 : k];
    if (op == "Add") r.push_back(x + y);
    else if (op == "Sub") r.push_back(x - y);
    else if (op == "Mul") r.push_back(x * y);
    else if (op == "Div") {
      auto q = x.div(y);
      if (!q) return std::nullopt;
      r.push_back(*q);
    } else if (op == "Equal" && x.is_const() && y.is_const()) r.push_back(SymExpr(x == y ? 1 : 0));
    else if (op == "Equal" && ((x.is_const() && *x.as_const() < 0) || (y.is_const() && *y.as_const() < 0)))
      r.push_back(SymExpr(0));  // a dimension is never negative (the "-1 means keep" idiom of Expand shapes)
    else if ((op == "Max" || op == "Min") && x.is_const() && y.is_const()) {
      int64_t xv = *x.as_const(), yv = *y.as_const();
      r.push_back(SymExpr(op == "Max" ? std::max(xv, yv) : std::min(xv, yv)));
    } else if ((op == "Max" || op == "Min") && x == y) r.push_back(x);
    else return std::nullopt;
  }
  return r;
}


void infer_broadcast(InferCtx& c, Node& n) {
  const std::string& op = n.op;
  const std::string out0 = InferCtx::out0(n);
  std::vector<std::optional<SymShape>> shapes;
  for (size_t k = 0; k < n.inputs.size(); ++k) shapes.push_back(c.in_shape(n, k));
  DType dt = is_comparison(op) ? DType::kBool : c.in_dt(n, 0);
  c.set(out0, dt, c.broadcast(n, shapes));
  if (n.inputs.size() == 2) {
    auto *a = c.sym(n.input(0)), *b = c.sym(n.input(1));
    if (a && b && !dtype_is_float(dt))
      if (auto r = sym_binary(op, *a, *b)) c.set_sym(out0, *r);
  }
}

void infer_where(InferCtx& c, Node& n) {
  const std::string out0 = InferCtx::out0(n);
  std::vector<std::optional<SymShape>> shapes;
  for (size_t k = 0; k < n.inputs.size(); ++k) shapes.push_back(c.in_shape(n, k));
  c.set(out0, c.in_dt(n, 1), c.broadcast(n, shapes));
  // Element-wise choice between two symbolic vectors with a known condition.
  const SymVec *cond = c.sym(n.input(0)), *x = c.sym(n.input(1)), *y = c.sym(n.input(2));
  if (cond && x && y) {
    size_t len = std::max({cond->size(), x->size(), y->size()});
    auto at = [&](const SymVec* v, size_t k) { return (*v)[v->size() == 1 ? 0 : k]; };
    SymVec r;
    bool ok = (cond->size() == len || cond->size() == 1) && (x->size() == len || x->size() == 1) && (y->size() == len || y->size() == 1);
    for (size_t k = 0; ok && k < len; ++k) {
      auto cv = at(cond, k).as_const();
      if (!cv) ok = false;
      else r.push_back(*cv ? at(x, k) : at(y, k));
    }
    if (ok) c.set_sym(out0, r);
  }
}

}  // namespace

void add_binary_ops(OpTable& t) {
  for (const char* name : {"Add", "Sub", "Mul", "Div", "Mod", "Pow", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual",
                           "And", "Or", "Xor"})
    t.add({.domain = "", .op = name, .min_inputs = 2, .min_outputs = 1, .infer = infer_broadcast, .eval = eval_binary, .eval_elems = elems_broadcast});
  for (const char* name : {"Max", "Min", "Sum"})
    t.add({.domain = "", .op = name, .min_inputs = 1, .min_outputs = 1, .infer = infer_broadcast, .eval = eval_variadic, .eval_elems = elems_broadcast});
  t.add({.domain = "", .op = "Where", .min_inputs = 3, .min_outputs = 1, .infer = infer_where, .eval = eval_where, .eval_elems = elems_broadcast});
  t.add({.domain = "", .op = "BitShift", .min_inputs = 2, .min_outputs = 1, .infer = infer_broadcast});
  t.add({.domain = "", .op = "Mean", .min_inputs = 1, .min_outputs = 1});
}

}  // namespace tsc::ops
