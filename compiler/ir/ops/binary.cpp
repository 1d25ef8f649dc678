// Element-wise ops of several inputs with multidirectional broadcasting: arithmetic, comparison and logic,
// Where, variadic Max/Min/Sum. Integers fold exactly (overflow is an error), floats in double; integer
// vectors are also computed symbolically (shape arithmetic such as seq + past, batch * heads).
#include <algorithm>
#include <cmath>
#include <optional>
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

// What integers and floats compute alike: order, comparison and logic (nullopt for the arithmetic ops).
template <typename T>
std::optional<T> order_or_logic(const std::string& op, T x, T y) {
  if (op == "Max") return std::max(x, y);
  if (op == "Min") return std::min(x, y);
  if (op == "Equal") return T(x == y);
  if (op == "Less") return T(x < y);
  if (op == "Greater") return T(x > y);
  if (op == "LessOrEqual") return T(x <= y);
  if (op == "GreaterOrEqual") return T(x >= y);
  if (op == "And") return T((x != 0) && (y != 0));
  if (op == "Or") return T((x != 0) || (y != 0));
  if (op == "Xor") return T((x != 0) != (y != 0));
  return std::nullopt;
}

// Integer arithmetic is exact: overflow and division by zero are errors naming the node.
int64_t int_op(const Node& n, int64_t x, int64_t y) {
  const std::string& op = n.op;
  if (auto v = order_or_logic(op, x, y)) return *v;
  if (op == "Add") return iadd(n, x, y);
  if (op == "Sub") return isub(n, x, y);
  if (op == "Mul") return imul(n, x, y);
  if (op == "Div" || op == "Mod") {
    if (y == 0) fail(n, "integer division by zero");
    if (y == -1) return op == "Div" ? isub(n, 0, x) : 0;  // (INT64_MIN / -1 overflows)
    if (op == "Div") return x / y;
    return n.attr_i("fmod", 0) || x % y == 0 || (x % y < 0) == (y < 0) ? x % y : x % y + y;
  }
  if (op == "Pow") return saturating_i64(std::pow(static_cast<double>(x), static_cast<double>(y)));
  return 0;
}

double float_op(const std::string& op, double x, double y) {
  if (auto v = order_or_logic(op, x, y)) return *v;
  if (op == "Add") return x + y;
  if (op == "Sub") return x - y;
  if (op == "Mul") return x * y;
  if (op == "Div") return x / y;
  if (op == "Mod") return std::fmod(x, y);
  if (op == "Pow") return std::pow(x, y);
  return 0;
}

Arr binary(const Node& n, const Arr& a, const Arr& b) {
  DType odt = is_comparison(n.op) ? DType::kBool : a.dt;
  Arr r = make(odt, broadcast(n, a.shape, b.shape));
  const int64_t N = r.numel();
  const bool ints = a.isint && b.isint;
  for (int64_t o = 0; o < N; ++o) {
    int64_t ia = bindex(r.shape, a.shape, o), ib = bindex(r.shape, b.shape, o);
    if (ints) {
      const int64_t v = int_op(n, a.i[ia], b.i[ib]);
      if (r.isint) r.i[o] = v; else r.f[o] = static_cast<double>(v);
    } else {
      const double v = float_op(n.op, a.getf(ia), b.getf(ib));
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
