// Reference evaluation of ONNX ops on constant tensors. Integers are computed in int64 (Slice ends of
// INT64_MAX must survive), floats in double; results are stored in the op's output element type.
#include "compiler/ir/eval.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <set>

#include "runtime/core/error.h"

namespace tsc {
namespace {

bool is_int_type(DType t) { return !dtype_is_float(t); }

// A dense array in computation form.
struct Arr {
  DType dt = DType::kF32;
  std::vector<int64_t> shape;
  std::vector<double> f;   // when !isint
  std::vector<int64_t> i;  // when isint
  bool isint = false;

  int64_t numel() const {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
  double getf(int64_t k) const { return isint ? static_cast<double>(i[k]) : f[k]; }
  int64_t geti(int64_t k) const { return isint ? i[k] : saturating_i64(f[k]); }
};

Arr load(const Tensor& t) {
  Arr a;
  a.dt = t.dtype;
  a.shape = t.shape;
  a.isint = is_int_type(t.dtype);
  const int64_t n = t.numel();
  if (a.isint) {
    a.i.resize(n);
    for (int64_t k = 0; k < n; ++k) a.i[k] = t.i64(k);
  } else {
    a.f.resize(n);
    for (int64_t k = 0; k < n; ++k) a.f[k] = t.f64(k);
  }
  return a;
}

Arr make(DType dt, std::vector<int64_t> shape) {
  Arr a;
  a.dt = dt;
  a.shape = std::move(shape);
  a.isint = is_int_type(dt);
  if (a.isint) a.i.assign(a.numel(), 0);
  else a.f.assign(a.numel(), 0.0);
  return a;
}

Tensor store(const Arr& a) {
  Tensor t = Tensor::alloc(a.dt, a.shape);
  const int64_t n = a.numel();
  if (a.dt == DType::kI64) {
    std::copy(a.i.begin(), a.i.end(), static_cast<int64_t*>(t.mutable_data()));
  } else {
    for (int64_t k = 0; k < n; ++k) t.set_f64(k, a.isint ? static_cast<double>(a.i[k]) : a.f[k]);
  }
  return t;
}

std::vector<int64_t> strides_of(const std::vector<int64_t>& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (int k = static_cast<int>(s.size()) - 2; k >= 0; --k) st[k] = st[k + 1] * s[k + 1];
  return st;
}

[[noreturn]] void fail(const Node& n, const std::string& why) {
  throw Error(n.describe() + ": " + why, "the graph is inconsistent; re-export the model");
}

std::string dims_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t k = 0; k < s.size(); ++k) r += (k ? "," : "") + std::to_string(s[k]);
  return r + "]";
}

// Element count of a shape the graph asks for (ConstantOfShape, Expand, Tile, Reshape targets): a negative
// size or a count past int64 is an inconsistent graph, reported at the node before anything is allocated.
int64_t checked_count(const Node& n, const std::vector<int64_t>& s) {
  int64_t c = 1;
  for (auto d : s) {
    if (d < 0) fail(n, "negative size " + std::to_string(d) + " in shape " + dims_str(s));
    if (__builtin_mul_overflow(c, d, &c)) fail(n, "shape " + dims_str(s) + " has more elements than int64 can count");
  }
  return c;
}

// Scalar operand k (Range bounds, CumSum axis, Trilu k): exactly one element.
const Tensor& scalar_input(const Node& n, const std::vector<const Tensor*>& in, size_t k) {
  if (k >= in.size() || !in[k]) fail(n, "missing input " + std::to_string(k));
  if (in[k]->numel() != 1) fail(n, "input " + std::to_string(k) + " must hold one value, not " + std::to_string(in[k]->numel()));
  return *in[k];
}

// Integer arithmetic of folded values is checked: int64 overflow is undefined behaviour in C++ and means a
// corrupt graph here.
int64_t iadd(const Node& n, int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) fail(n, "integer overflow in constant folding");
  return r;
}
int64_t isub(const Node& n, int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) fail(n, "integer overflow in constant folding");
  return r;
}
int64_t imul(const Node& n, int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) fail(n, "integer overflow in constant folding");
  return r;
}

std::vector<int64_t> broadcast(const Node& n, const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  size_t r = std::max(a.size(), b.size());
  std::vector<int64_t> out(r);
  for (size_t k = 0; k < r; ++k) {
    int64_t da = k < r - a.size() ? 1 : a[k - (r - a.size())];
    int64_t db = k < r - b.size() ? 1 : b[k - (r - b.size())];
    if (da != db && da != 1 && db != 1) fail(n, "cannot broadcast shapes");
    out[k] = da == 1 ? db : da;
  }
  return out;
}

// Index into an array of shape `s` for flat output index `o` of broadcast shape `out`.
int64_t bindex(const std::vector<int64_t>& out, const std::vector<int64_t>& s, int64_t o) {
  int64_t idx = 0, mul = 1;
  size_t off = out.size() - s.size();
  for (int k = static_cast<int>(out.size()) - 1; k >= 0; --k) {
    int64_t c = o % out[k];
    o /= out[k];
    if (k >= static_cast<int>(off)) {
      size_t j = k - off;
      if (s[j] != 1) idx += c * mul;
      mul *= s[j];
    }
  }
  return idx;
}

int64_t norm_axis(const Node& n, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1)) fail(n, "axis " + std::to_string(axis) + " out of range for rank " + std::to_string(rank));
  return axis < 0 ? axis + rank : axis;
}

std::vector<int64_t> ints_input_or_attr(const Node& n, const std::vector<const Tensor*>& in, size_t idx, const char* attr) {
  if (idx < in.size() && in[idx]) return in[idx]->to_i64();
  return n.attr_ints(attr);
}

Arr binary(const Node& n, const Arr& a, const Arr& b) {
  const std::string& op = n.op;
  static const std::set<std::string> cmp = {"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor"};
  DType odt = cmp.count(op) ? DType::kBool : a.dt;
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

double unary_f(const std::string& op, double x) {
  if (op == "Neg") return -x;
  if (op == "Abs") return std::fabs(x);
  if (op == "Sqrt") return std::sqrt(x);
  if (op == "Reciprocal") return 1.0 / x;
  if (op == "Exp") return std::exp(x);
  if (op == "Log") return std::log(x);
  if (op == "Cos") return std::cos(x);
  if (op == "Sin") return std::sin(x);
  if (op == "Tanh") return std::tanh(x);
  if (op == "Erf") return std::erf(x);
  if (op == "Floor") return std::floor(x);
  if (op == "Ceil") return std::ceil(x);
  if (op == "Round") return std::nearbyint(x);
  if (op == "Sigmoid") return 1.0 / (1.0 + std::exp(-x));
  if (op == "Relu") return std::max(0.0, x);
  if (op == "Sign") return (x > 0) - (x < 0);
  if (op == "Identity") return x;
  return x;
}

const std::set<std::string>& unary_ops() {
  static const std::set<std::string> s = {"Neg", "Abs", "Sqrt", "Reciprocal", "Exp", "Log", "Cos", "Sin", "Tanh", "Erf",
                                          "Floor", "Ceil", "Round", "Sigmoid", "Relu", "Sign", "Identity"};
  return s;
}
const std::set<std::string>& binary_ops() {
  static const std::set<std::string> s = {"Add", "Sub", "Mul", "Div", "Mod", "Pow", "Equal", "Less", "Greater",
                                          "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor"};
  return s;
}
const std::set<std::string>& other_ops() {
  static const std::set<std::string> s = {"Max", "Min", "Sum", "Not", "IsNaN", "IsInf", "Cast", "CastLike", "Where", "Shape",
                                          "Size", "Concat", "Unsqueeze", "Squeeze", "Reshape", "Flatten", "Transpose", "Gather",
                                          "GatherND", "Slice", "Range", "Expand", "ConstantOfShape", "MatMul", "CumSum", "Trilu",
                                          "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "Split", "Tile", "Softmax"};
  return s;
}

Arr cast(const Arr& a, DType to) {
  Arr r = make(to, a.shape);
  for (int64_t k = 0; k < a.numel(); ++k) {
    if (to == DType::kBool) r.i[k] = a.getf(k) != 0;
    else if (r.isint) r.i[k] = a.geti(k);
    else r.f[k] = a.getf(k);
  }
  // Round through the narrow float type so folding matches what the runtime would compute.
  if (to == DType::kF32) for (auto& v : r.f) v = static_cast<float>(v);
  if (to == DType::kF16) for (auto& v : r.f) v = f16_to_f32(f32_to_f16(static_cast<float>(v)));
  if (to == DType::kBF16) for (auto& v : r.f) v = bf16_to_f32(f32_to_bf16(static_cast<float>(v)));
  return r;
}

// Copies element src_k of a into element dst_k of r (same isint-ness assumed after make(a.dt)).
inline void copy_el(Arr& r, int64_t dk, const Arr& a, int64_t sk) {
  if (r.isint) r.i[dk] = a.geti(sk); else r.f[dk] = a.getf(sk);
}

Arr transpose(const Arr& a, std::vector<int64_t> perm) {
  const size_t r = a.shape.size();
  if (perm.empty()) { perm.resize(r); for (size_t k = 0; k < r; ++k) perm[k] = static_cast<int64_t>(r - 1 - k); }
  std::vector<int64_t> os(r);
  for (size_t k = 0; k < r; ++k) os[k] = a.shape[perm[k]];
  Arr o = make(a.dt, os);
  auto ist = strides_of(a.shape);
  const int64_t N = o.numel();
  std::vector<int64_t> idx(r, 0);
  for (int64_t flat = 0; flat < N; ++flat) {
    int64_t src = 0;
    for (size_t k = 0; k < r; ++k) src += idx[k] * ist[perm[k]];
    copy_el(o, flat, a, src);
    for (int k = static_cast<int>(r) - 1; k >= 0; --k) { if (++idx[k] < os[k]) break; idx[k] = 0; }
  }
  return o;
}

}  // namespace

bool is_evaluable(const Node& n) {
  if (!n.domain.empty()) return false;
  return unary_ops().count(n.op) || binary_ops().count(n.op) || other_ops().count(n.op);
}

namespace {

// Product of sizes, saturating at INT64_MAX (a prediction, not an allocation); nullopt if one is negative.
std::optional<int64_t> sat_count(const std::vector<int64_t>& s) {
  int64_t c = 1;
  bool big = false;
  for (auto d : s) {
    if (d < 0) return std::nullopt;
    if (d == 0) return 0;
    big = big || __builtin_mul_overflow(c, d, &c);
  }
  return big ? std::numeric_limits<int64_t>::max() : c;
}

// Broadcast of shapes without failing (nullopt where they do not broadcast: eval_node reports it).
std::optional<std::vector<int64_t>> try_broadcast(const std::vector<const std::vector<int64_t>*>& shapes) {
  std::vector<int64_t> out;
  for (auto* s : shapes) {
    if (s->size() > out.size()) out.insert(out.begin(), s->size() - out.size(), 1);
    const size_t off = out.size() - s->size();
    for (size_t k = 0; k < s->size(); ++k) {
      int64_t& o = out[off + k];
      const int64_t d = (*s)[k];
      if (d == o || d == 1) continue;
      if (o != 1) return std::nullopt;
      o = d;
    }
  }
  return out;
}

}  // namespace

std::optional<int64_t> eval_output_elems(const Node& n, const std::vector<const Tensor*>& in) {
  if (!is_evaluable(n)) return std::nullopt;
  const std::string& op = n.op;
  int64_t largest_in = 0;
  for (auto* t : in) if (t) largest_in = std::max(largest_in, t->numel());
  // Absent optional inputs are no size input of the ops below: those need every input (eval_node says so).
  for (auto* t : in) if (!t && !(op == "Slice" || op == "Split" || op == "Trilu" || op.rfind("Reduce", 0) == 0)) return std::nullopt;
  if (binary_ops().count(op) || op == "Max" || op == "Min" || op == "Sum" || op == "Where") {
    std::vector<const std::vector<int64_t>*> shapes;
    for (auto* t : in) shapes.push_back(&t->shape);
    auto b = try_broadcast(shapes);
    return b ? sat_count(*b) : std::nullopt;
  }
  if (op == "Concat") {
    int64_t c = 0;
    for (auto* t : in) if (__builtin_add_overflow(c, t->numel(), &c)) return std::numeric_limits<int64_t>::max();
    return c;
  }
  if (op == "ConstantOfShape") return in.empty() ? std::nullopt : sat_count(in[0]->to_i64());
  if (op == "Expand" && in.size() == 2) {
    auto t = in[1]->to_i64();
    if (!sat_count(t)) return std::nullopt;
    auto b = try_broadcast({&in[0]->shape, &t});
    return b ? sat_count(*b) : std::nullopt;
  }
  if (op == "Tile" && in.size() == 2) {
    auto t = in[1]->to_i64();
    if (t.size() != in[0]->shape.size()) return std::nullopt;
    for (size_t k = 0; k < t.size(); ++k) {
      if (t[k] < 0) return std::nullopt;
      if (__builtin_mul_overflow(t[k], in[0]->shape[k], &t[k])) return std::numeric_limits<int64_t>::max();
    }
    return sat_count(t);
  }
  if (op == "Range" && in.size() == 3) {
    if (in[0]->numel() != 1 || in[1]->numel() != 1 || in[2]->numel() != 1 || in[2]->f64(0) == 0) return std::nullopt;
    const double c = std::ceil((in[1]->f64(0) - in[0]->f64(0)) / in[2]->f64(0));
    if (std::isnan(c)) return std::nullopt;
    return c <= 0 ? 0 : c >= 9.2e18 ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(c);
  }
  if (op == "MatMul" && in.size() == 2) {
    const auto &a = in[0]->shape, &b = in[1]->shape;
    if (a.size() < 2 || b.size() < 2) return largest_in;
    std::vector<int64_t> ba(a.begin(), a.end() - 2), bb(b.begin(), b.end() - 2);
    auto bs = try_broadcast({&ba, &bb});
    if (!bs) return std::nullopt;
    bs->push_back(a[a.size() - 2]);
    bs->push_back(b.back());
    return sat_count(*bs);
  }
  if (op == "Gather" && in.size() == 2) {
    const auto& s = in[0]->shape;
    int64_t ax = n.attr_i("axis", 0);
    const int64_t r = static_cast<int64_t>(s.size());
    if (r == 0 || ax < -r || ax >= r) return std::nullopt;
    std::vector<int64_t> os = s;
    os[ax < 0 ? ax + r : ax] = in[1]->numel();
    return sat_count(os);
  }
  if (op == "GatherND" && in.size() == 2) {
    const auto &s = in[0]->shape, &i = in[1]->shape;
    if (i.empty() || i.back() < 0 || i.back() > static_cast<int64_t>(s.size())) return std::nullopt;
    std::vector<int64_t> os(i.begin(), i.end() - 1);
    os.insert(os.end(), s.begin() + i.back(), s.end());
    return sat_count(os);
  }
  if (op == "Shape") return in.empty() ? 0 : static_cast<int64_t>(in[0]->shape.size());
  if (op == "Size") return 1;
  // Everything else (unary, casts, movement, Slice, reductions, Split, CumSum, Trilu, Softmax) is no larger
  // than its largest input.
  return largest_in;
}

std::optional<std::vector<Tensor>> eval_node(const Node& n, const std::vector<const Tensor*>& in) {
  if (!is_evaluable(n)) return std::nullopt;
  // Declined before anything is allocated: results this large are never folded or probed.
  if (auto e = eval_output_elems(n, in); e && *e > kMaxEvalElems) return std::nullopt;
  auto need = [&](size_t k) -> const Tensor& {
    if (k >= in.size() || !in[k]) fail(n, "missing input " + std::to_string(k));
    return *in[k];
  };
  const std::string& op = n.op;
  auto one = [](Arr a) { return std::vector<Tensor>{store(a)}; };

  if (unary_ops().count(op)) {
    Arr a = load(need(0));
    if (op == "Identity") return one(a);
    if (a.isint) {
      if (op == "Neg" || op == "Abs")
        for (auto& v : a.i)
          if (op == "Neg" || v < 0) v = isub(n, 0, v);
      if (op == "Neg" || op == "Abs") return one(a);
      return std::nullopt;
    }
    for (auto& v : a.f) v = unary_f(op, v);
    return one(cast(a, a.dt));
  }
  if (binary_ops().count(op)) {
    Arr r = binary(n, load(need(0)), load(need(1)));
    return one(r.isint ? r : cast(r, r.dt));
  }
  if (op == "Max" || op == "Min" || op == "Sum") {
    Node b = n;
    b.op = op == "Sum" ? "Add" : op;
    Arr acc = load(need(0));
    for (size_t k = 1; k < in.size(); ++k) acc = binary(b, acc, load(need(k)));
    return one(acc);
  }
  if (op == "Not") {
    Arr a = load(need(0));
    Arr r = make(DType::kBool, a.shape);
    for (int64_t k = 0; k < a.numel(); ++k) r.i[k] = a.getf(k) == 0;
    return one(r);
  }
  if (op == "IsNaN" || op == "IsInf") {
    Arr a = load(need(0));
    Arr r = make(DType::kBool, a.shape);
    for (int64_t k = 0; k < a.numel(); ++k) {
      double v = a.getf(k);
      r.i[k] = op == "IsNaN" ? std::isnan(v) : std::isinf(v);
    }
    return one(r);
  }
  if (op == "Cast") return one(cast(load(need(0)), static_cast<DType>(n.attr_i("to", 1))));
  if (op == "CastLike") return one(cast(load(need(0)), need(1).dtype));
  if (op == "Where") {
    Arr c = load(need(0)), x = load(need(1)), y = load(need(2));
    Arr r = make(x.dt, broadcast(n, broadcast(n, c.shape, x.shape), y.shape));
    for (int64_t o = 0; o < r.numel(); ++o) {
      bool cv = c.getf(bindex(r.shape, c.shape, o)) != 0;
      if (cv) copy_el(r, o, x, bindex(r.shape, x.shape, o));
      else copy_el(r, o, y, bindex(r.shape, y.shape, o));
    }
    return one(r);
  }
  if (op == "Shape") {
    const auto& s = need(0).shape;
    int64_t r = static_cast<int64_t>(s.size());
    int64_t start = n.attr_i("start", 0), end = n.attr_i("end", r);
    if (start < 0) start += r;
    if (end < 0) end += r;
    start = std::clamp<int64_t>(start, 0, r);
    end = std::clamp<int64_t>(end, 0, r);
    std::vector<int64_t> v(s.begin() + start, s.begin() + std::max(start, end));
    return std::vector<Tensor>{Tensor::from_i64(v, {static_cast<int64_t>(v.size())})};
  }
  if (op == "Size") return std::vector<Tensor>{Tensor::scalar_i64(need(0).numel())};
  if (op == "Concat") {
    if (in.empty()) fail(n, "Concat needs at least one input");
    std::vector<Arr> parts;
    for (size_t k = 0; k < in.size(); ++k) parts.push_back(load(need(k)));
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
  if (op == "Unsqueeze" || op == "Squeeze") {
    Arr a = load(need(0));
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
  if (op == "Reshape" || op == "Flatten") {
    Arr a = load(need(0));
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
      s = need(1).to_i64();
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
  if (op == "Transpose") {
    const Tensor& x = need(0);
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
  if (op == "Gather") {
    Arr a = load(need(0));
    Arr idx = load(need(1));
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
  if (op == "GatherND") {
    if (n.attr_i("batch_dims", 0) != 0) return std::nullopt;
    Arr a = load(need(0)), idx = load(need(1));
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
  if (op == "Slice") {
    Arr a = load(need(0));
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
  if (op == "Range") {
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
  if (op == "Expand" || op == "Tile") {
    Arr a = load(need(0));
    auto t = need(1).to_i64();
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
  if (op == "ConstantOfShape") {
    auto s = need(0).to_i64();
    checked_count(n, s);
    Tensor v = n.has_attr("value") && n.attrs.at("value").tensor ? *n.attrs.at("value").tensor : Tensor::from_f32({0.f}, {1});
    if (v.numel() != 1) fail(n, "value must hold one element, not " + std::to_string(v.numel()));
    Arr va = load(v);
    Arr r = make(va.dt, s);
    for (int64_t o = 0; o < r.numel(); ++o) copy_el(r, o, va, 0);
    return one(r);
  }
  if (op == "MatMul") {
    Arr a = load(need(0)), b = load(need(1));
    if (a.shape.size() < 1 || b.shape.size() < 1) fail(n, "MatMul of a scalar");
    if (a.shape.size() == 1 || b.shape.size() == 1) return std::nullopt;  // rare in folding
    int64_t M = a.shape[a.shape.size() - 2], K = a.shape.back(), K2 = b.shape[b.shape.size() - 2], N = b.shape.back();
    if (K != K2) fail(n, "inner dimensions differ");
    std::vector<int64_t> ba(a.shape.begin(), a.shape.end() - 2), bb(b.shape.begin(), b.shape.end() - 2);
    auto bs = broadcast(n, ba, bb);
    std::vector<int64_t> os = bs;
    os.push_back(M);
    os.push_back(N);
    Arr r = make(a.dt, os);
    int64_t nb = 1;
    for (auto d : bs) nb *= d;
    for (int64_t bi = 0; bi < nb; ++bi) {
      int64_t ia = bindex(bs, ba, bi), ib = bindex(bs, bb, bi);
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
          double acc = 0;
          for (int64_t k = 0; k < K; ++k) acc += a.getf((ia * M + i) * K + k) * b.getf((ib * K + k) * N + j);
          if (r.isint) r.i[(bi * M + i) * N + j] = saturating_i64(acc); else r.f[(bi * M + i) * N + j] = acc;
        }
    }
    return one(r.isint ? r : cast(r, r.dt));
  }
  if (op == "CumSum") {
    Arr a = load(need(0));
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
  if (op == "Trilu") {
    Arr a = load(need(0));
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
  if (op == "ReduceMean" || op == "ReduceSum" || op == "ReduceMax" || op == "ReduceMin") {
    Arr a = load(need(0));
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
  if (op == "Softmax") {
    Arr a = load(need(0));
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
  if (op == "Split") {
    Arr a = load(need(0));
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
      auto r = eval_node(sl, {&src, &s0, &e0, &a0});
      outs.push_back((*r)[0]);
      off += sz;
    }
    return outs;
  }
  return std::nullopt;
}

}  // namespace tsc
