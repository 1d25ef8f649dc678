// Element-wise ops of one input: unary math, activations, casts, Not/IsNaN/IsInf, Identity, Dropout.
// Output shape = input shape; only the unary math ops, Not/IsNaN/IsInf and the casts are evaluated.
#include <cmath>

#include "compiler/ir/ops/eval_kit.h"
#include "compiler/ir/ops/families.h"
#include "compiler/ir/ops/infer_ctx.h"

namespace tsc::ops {
namespace {

void infer_identity(InferCtx& c, Node& n) {
  infer_same_shape(c, n);
  if (auto* s = c.sym(n.input(0))) c.set_sym(InferCtx::out0(n), *s);
}

void infer_neg(InferCtx& c, Node& n) {
  infer_same_shape(c, n);
  if (auto* s = c.sym(n.input(0))) {
    SymVec r;
    for (auto& e : *s) r.push_back(SymExpr(0) - e);
    c.set_sym(InferCtx::out0(n), r);
  }
}

void infer_dropout(InferCtx& c, Node& n) {
  infer_same_shape(c, n);
  if (n.outputs.size() > 1) c.set(n.outputs[1], DType::kBool, c.in_shape(n, 0));  // the mask
}

void infer_to_bool(InferCtx& c, Node& n) { c.set(InferCtx::out0(n), DType::kBool, c.in_shape(n, 0)); }

void infer_cast(InferCtx& c, Node& n) {
  DType to = n.op == "Cast" ? static_cast<DType>(n.attr_i("to", 1)) : c.in_dt(n, 1);
  c.set(InferCtx::out0(n), to, c.in_shape(n, 0));
  if (!dtype_is_float(to)) if (auto* s = c.sym(n.input(0))) c.set_sym(InferCtx::out0(n), *s);
}

// Float math through f, rounded to the input's type; integer inputs are declined (folding never needs them).
EvalFn eval_float_unary(double (*f)(double)) {
  return [f](const Node& n, const std::vector<const Tensor*>& in) -> std::optional<std::vector<Tensor>> {
    Arr a = load(need(n, in, 0));
    if (a.isint) return std::nullopt;
    for (auto& v : a.f) v = f(v);
    return one(cast(a, a.dt));
  };
}

// Neg and Abs also fold integers (shape arithmetic), with overflow checked.
EvalFn eval_signed_unary(double (*f)(double), bool neg) {
  return [f, neg](const Node& n, const std::vector<const Tensor*>& in) -> std::optional<std::vector<Tensor>> {
    Arr a = load(need(n, in, 0));
    if (!a.isint) {
      for (auto& v : a.f) v = f(v);
      return one(cast(a, a.dt));
    }
    for (auto& v : a.i)
      if (neg || v < 0) v = isub(n, 0, v);
    return one(a);
  };
}

std::optional<std::vector<Tensor>> eval_identity(const Node& n, const std::vector<const Tensor*>& in) {
  return one(load(need(n, in, 0)));
}

std::optional<std::vector<Tensor>> eval_not(const Node& n, const std::vector<const Tensor*>& in) {
  Arr a = load(need(n, in, 0));
  Arr r = make(DType::kBool, a.shape);
  for (int64_t k = 0; k < a.numel(); ++k) r.i[k] = a.getf(k) == 0;
  return one(r);
}

EvalFn eval_float_test(bool (*f)(double)) {
  return [f](const Node& n, const std::vector<const Tensor*>& in) -> std::optional<std::vector<Tensor>> {
    Arr a = load(need(n, in, 0));
    Arr r = make(DType::kBool, a.shape);
    for (int64_t k = 0; k < a.numel(); ++k) r.i[k] = f(a.getf(k));
    return one(r);
  };
}

std::optional<std::vector<Tensor>> eval_cast(const Node& n, const std::vector<const Tensor*>& in) {
  return one(cast(load(need(n, in, 0)), static_cast<DType>(n.attr_i("to", 1))));
}

std::optional<std::vector<Tensor>> eval_cast_like(const Node& n, const std::vector<const Tensor*>& in) {
  return one(cast(load(need(n, in, 0)), need(n, in, 1).dtype));
}

}  // namespace

void add_elementwise_ops(OpTable& t) {
  auto op = [&](const char* name, int min_inputs, InferFn infer, EvalFn eval = {}) {
    t.add({.domain = "", .op = name, .min_inputs = min_inputs, .min_outputs = min_inputs ? 1 : 0, .infer = std::move(infer), .eval = std::move(eval)});
  };
  using F = double (*)(double);
  op("Identity", 1, infer_identity, eval_identity);
  op("Neg", 1, infer_neg, eval_signed_unary([](double x) { return -x; }, true));
  op("Abs", 1, infer_same_shape, eval_signed_unary(static_cast<F>(std::fabs), false));
  op("Sqrt", 1, infer_same_shape, eval_float_unary(static_cast<F>(std::sqrt)));
  op("Reciprocal", 1, infer_same_shape, eval_float_unary([](double x) { return 1.0 / x; }));
  op("Exp", 1, infer_same_shape, eval_float_unary(static_cast<F>(std::exp)));
  op("Log", 1, infer_same_shape, eval_float_unary(static_cast<F>(std::log)));
  op("Cos", 1, infer_same_shape, eval_float_unary(static_cast<F>(std::cos)));
  op("Sin", 1, infer_same_shape, eval_float_unary(static_cast<F>(std::sin)));
  op("Tanh", 1, infer_same_shape, eval_float_unary(static_cast<F>(std::tanh)));
  op("Erf", 1, infer_same_shape, eval_float_unary(static_cast<F>(std::erf)));
  op("Floor", 1, infer_same_shape, eval_float_unary(static_cast<F>(std::floor)));
  op("Ceil", 1, infer_same_shape, eval_float_unary(static_cast<F>(std::ceil)));
  op("Round", 1, infer_same_shape, eval_float_unary(static_cast<F>(std::nearbyint)));  // half to even
  op("Sigmoid", 1, infer_same_shape, eval_float_unary([](double x) { return 1.0 / (1.0 + std::exp(-x)); }));
  op("Relu", 1, infer_same_shape, eval_float_unary([](double x) { return std::max(0.0, x); }));
  op("Sign", 1, infer_same_shape, eval_float_unary([](double x) { return static_cast<double>((x > 0) - (x < 0)); }));
  op("Not", 1, infer_to_bool, eval_not);
  op("IsNaN", 1, infer_to_bool, eval_float_test([](double x) -> bool { return std::isnan(x); }));
  op("IsInf", 1, infer_to_bool, eval_float_test([](double x) -> bool { return std::isinf(x); }));
  op("Cast", 1, infer_cast, eval_cast);
  t.add({.domain = "", .op = "CastLike", .min_inputs = 2, .min_outputs = 1, .infer = infer_cast, .eval = eval_cast_like});
  op("Dropout", 1, infer_dropout);
  // Typed, never evaluated: the simplify passes recognize the activations (fuse-activation) or keep them.
  for (const char* name : {"Gelu", "HardSigmoid", "Softplus", "Clip"}) op(name, 1, infer_same_shape);
  t.add({.domain = "", .op = "PRelu", .min_inputs = 2, .min_outputs = 1, .infer = infer_same_shape});
  for (const char* name : {"HardSwish", "Softsign", "Mish", "Elu", "LeakyRelu", "Selu", "Celu", "ThresholdedRelu", "Shrink",
                           "Swish", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Tan", "BitwiseNot"})
    op(name, 0, infer_same_shape);  // arity not checked (as before the registry)
}

}  // namespace tsc::ops
