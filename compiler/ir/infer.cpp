// Type/shape inference over symbolic dims, symbolic evaluation of shape arithmetic, and constant folding.
#include "compiler/ir/infer.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "compiler/ir/eval.h"
#include "runtime/core/error.h"

namespace tsc {
namespace {

using SymVec = std::vector<SymExpr>;
constexpr size_t kMaxSymElems = 64;

[[noreturn]] void fail(const Node& n, const std::string& why) {
  throw Error(n.describe() + ": " + why, "the graph's shapes are inconsistent; re-export the model");
}

bool is_big_int(int64_t v) { return v >= (std::numeric_limits<int64_t>::max() >> 2) || v <= (std::numeric_limits<int64_t>::min() >> 2); }

class Inferer {
 public:
  Inferer(Graph& g, const InferOptions& o) : g_(g), opt_(o) {}

  InferStats run() {
    for (auto& [name, t] : g_.constants) remember_const(name, t);
    std::vector<std::unique_ptr<Node>> kept;
    for (auto& np : g_.nodes) {
      Node& n = *np;
      try {
        if (try_fold(n)) { ++stats_.folded; continue; }
        infer_node(n);
      } catch (const SymOverflow& e) {
        fail(n, e.what());  // shape arithmetic past int64: name the node it came from
      }
      // Outputs fully known symbolically become constants (e.g. Shape of a static tensor).
      bool all_const = !n.outputs.empty();
      for (auto& o : n.outputs) {
        auto it = g_.sym_values.find(o);
        if (o.empty() || it == g_.sym_values.end()) { all_const = false; break; }
        for (auto& e : it->second) if (!e.is_const()) { all_const = false; break; }
      }
      if (all_const && n.domain.empty()) {
        for (auto& o : n.outputs) materialize(o);
        ++stats_.folded;
        continue;
      }
      for (auto& o : n.outputs) {
        if (o.empty()) continue;
        auto* t = g_.type(o);
        if (!t || !t->shape) ++stats_.unknown;
        if (g_.sym_values.count(o)) ++stats_.symbolic;
      }
      kept.push_back(std::move(np));
    }
    g_.nodes = std::move(kept);
    return stats_;
  }

 private:
  Graph& g_;
  InferOptions opt_;
  InferStats stats_;
  std::unordered_set<std::string> weights_;  // large initializers

  void remember_const(const std::string& name, const Tensor& t) {
    if (t.numel() > opt_.weight_threshold) weights_.insert(name);
    if (!dtype_is_float(t.dtype) && t.shape.size() <= 1 && static_cast<size_t>(t.numel()) <= kMaxSymElems) {
      SymVec v;
      for (int64_t i = 0; i < t.numel(); ++i) v.push_back(SymExpr(t.i64(i)));
      g_.sym_values[name] = v;
    }
  }

  void materialize(const std::string& o) {
    auto& sv = g_.sym_values[o];
    const ValueType* t = g_.type(o);
    std::vector<int64_t> shape;
    if (t && t->shape && t->shape->size() <= 1) {
      for (auto& d : *t->shape) shape.push_back(d.as_const().value_or(static_cast<int64_t>(sv.size())));
    } else {
      shape = {static_cast<int64_t>(sv.size())};
    }
    std::vector<int64_t> vals;
    for (auto& e : sv) vals.push_back(*e.as_const());
    Tensor c = Tensor::from_i64(vals, shape);
    DType dt = t && t->dtype != DType::kUndefined ? t->dtype : DType::kI64;
    if (dt != DType::kI64) {
      Tensor d = Tensor::alloc(dt, shape);
      for (size_t i = 0; i < vals.size(); ++i) d.set_f64(static_cast<int64_t>(i), static_cast<double>(vals[i]));
      c = d;
    }
    g_.constants[o] = c;
  }

  bool try_fold(Node& n) {
    if (!is_evaluable(n)) return false;
    std::vector<const Tensor*> in;
    for (auto& i : n.inputs) {
      if (i.empty()) { in.push_back(nullptr); continue; }
      const Tensor* c = g_.constant(i);
      // Shape/Size only need the input's shape.
      if (!c && (n.op == "Shape" || n.op == "Size")) return false;
      if (!c) return false;
      if (weights_.count(i) && n.op != "Shape" && n.op != "Size") return false;
      // A matrix initializer seen through a Transpose/Cast/Identity stays that node's operand whatever its size:
      // fuse-linear binds through them (Pat::weight), and bindings must name the file's initializer, not a
      // folded copy (a tied LM head Transpose(wte) of a small table became a constant no file holds).
      if (g_.initializers.count(i) && c->shape.size() == 2 && dtype_is_float(c->dtype) &&
          (n.is("Transpose") || n.is("Cast") || n.is("Identity")))
        return false;
      if (c->numel() > opt_.fold_limit) return false;
      in.push_back(c);
    }
    // Range, ConstantOfShape, Expand, Tile, MatMul and broadcasts make big outputs from small inputs: the
    // output size is checked from the inputs' shapes and size values before anything is evaluated.
    if (auto e = eval_output_elems(n, in); e && *e > opt_.fold_limit) return false;
    auto out = eval_node(n, in);
    if (!out) return false;
    for (auto& t : *out)
      if (t.numel() > opt_.fold_limit) return false;
    for (size_t k = 0; k < n.outputs.size() && k < out->size(); ++k) {
      if (n.outputs[k].empty()) continue;
      g_.constants[n.outputs[k]] = (*out)[k];
      g_.types[n.outputs[k]] = ValueType{(*out)[k].dtype, SymShape((*out)[k].shape.begin(), (*out)[k].shape.end())};
      remember_const(n.outputs[k], (*out)[k]);
    }
    return true;
  }

  // ---- helpers over input info ----
  std::optional<SymShape> shape_of(const std::string& v) { return v.empty() ? std::nullopt : g_.shape(v); }
  DType dtype_of(const std::string& v) {
    if (v.empty()) return DType::kUndefined;
    if (auto* c = g_.constant(v)) return c->dtype;
    if (auto* t = g_.type(v)) return t->dtype;
    return DType::kUndefined;
  }
  const SymVec* sym(const std::string& v) {
    auto it = g_.sym_values.find(v);
    return it == g_.sym_values.end() ? nullptr : &it->second;
  }
  std::optional<std::vector<int64_t>> const_ints(const std::string& v) {
    if (v.empty()) return std::nullopt;
    if (auto* c = g_.constant(v)) return c->to_i64();
    return std::nullopt;
  }
  void set(const std::string& o, DType dt, std::optional<SymShape> s) {
    if (o.empty()) return;
    g_.types[o] = ValueType{dt, std::move(s)};
  }
  void set_sym(const std::string& o, SymVec v) {
    if (!o.empty() && v.size() <= kMaxSymElems) g_.sym_values[o] = std::move(v);
  }

  std::optional<SymShape> broadcast(const Node& n, const std::vector<std::optional<SymShape>>& shapes) {
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

  static int64_t norm_axis(const Node& n, int64_t ax, size_t rank) {
    int64_t r = static_cast<int64_t>(rank);
    if (ax < -r || ax >= std::max<int64_t>(r, 1)) fail(n, "axis " + std::to_string(ax) + " out of range for rank " + std::to_string(r));
    return ax < 0 ? ax + r : ax;
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

  void infer_node(Node& n) {
    const std::string& op = n.op;
    auto in_shape = [&](size_t k) { return k < n.inputs.size() ? shape_of(n.inputs[k]) : std::nullopt; };
    auto in_dt = [&](size_t k) { return k < n.inputs.size() ? dtype_of(n.inputs[k]) : DType::kUndefined; };
    const std::string out0 = n.outputs.empty() ? std::string() : n.outputs[0];

    static const std::set<std::string> same_shape = {
        "Identity", "Neg", "Abs", "Sqrt", "Reciprocal", "Exp", "Log", "Cos", "Sin", "Tanh", "Erf", "Floor", "Ceil",
        "Round", "Sigmoid", "Relu", "Sign", "Softmax", "LogSoftmax", "Gelu", "FastGelu", "BiasGelu", "QuickGelu",
        "CumSum", "Trilu", "Dropout", "HardSigmoid", "HardSwish", "Softplus", "Softsign", "Mish", "Elu", "LeakyRelu",
        "Selu", "Celu", "Clip", "ThresholdedRelu", "Shrink", "PRelu", "Swish", "Asin", "Acos", "Atan", "Sinh", "Cosh",
        "Asinh", "Acosh", "Atanh", "Tan", "BitwiseNot"};
    static const std::set<std::string> cmp = {"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor"};
    static const std::set<std::string> arith = {"Add", "Sub", "Mul", "Div", "Pow", "Mod", "Max", "Min", "Sum", "BitShift"};

    if (n.domain == "tsc") {
      infer_tsc(n);
      return;
    }
    if (same_shape.count(op)) {
      set(out0, in_dt(0), in_shape(0));
      if (op == "Identity") if (auto* s = sym(n.input(0))) set_sym(out0, *s);
      if (op == "Neg") if (auto* s = sym(n.input(0))) { SymVec r; for (auto& e : *s) r.push_back(SymExpr(0) - e); set_sym(out0, r); }
      if (op == "Dropout" && n.outputs.size() > 1) set(n.outputs[1], DType::kBool, in_shape(0));
      return;
    }
    if (op == "Not" || op == "IsNaN" || op == "IsInf") { set(out0, DType::kBool, in_shape(0)); return; }
    if (op == "Cast" || op == "CastLike") {
      DType to = op == "Cast" ? static_cast<DType>(n.attr_i("to", 1)) : in_dt(1);
      set(out0, to, in_shape(0));
      if (!dtype_is_float(to)) if (auto* s = sym(n.input(0))) set_sym(out0, *s);
      return;
    }
    if (cmp.count(op) || arith.count(op) || op == "Where") {
      std::vector<std::optional<SymShape>> shapes;
      for (size_t k = 0; k < n.inputs.size(); ++k) shapes.push_back(in_shape(k));
      DType dt = cmp.count(op) ? DType::kBool : (op == "Where" ? in_dt(1) : in_dt(0));
      set(out0, dt, broadcast(n, shapes));
      if (op == "Where") {
        // Element-wise choice between two symbolic vectors with a known condition.
        const SymVec *c = sym(n.input(0)), *x = sym(n.input(1)), *y = sym(n.input(2));
        if (c && x && y) {
          size_t len = std::max({c->size(), x->size(), y->size()});
          auto at = [&](const SymVec* v, size_t k) { return (*v)[v->size() == 1 ? 0 : k]; };
          SymVec r;
          bool ok = (c->size() == len || c->size() == 1) && (x->size() == len || x->size() == 1) && (y->size() == len || y->size() == 1);
          for (size_t k = 0; ok && k < len; ++k) {
            auto cv = at(c, k).as_const();
            if (!cv) ok = false;
            else r.push_back(*cv ? at(x, k) : at(y, k));
          }
          if (ok) set_sym(out0, r);
        }
        return;
      }
      if (n.inputs.size() == 2) {
        auto *a = sym(n.input(0)), *b = sym(n.input(1));
        if (a && b && !dtype_is_float(dt))
          if (auto r = sym_binary(op, *a, *b)) set_sym(out0, *r);
      }
      return;
    }
    if (op == "Shape") {
      auto s = in_shape(0);
      if (!s) { set(out0, DType::kI64, SymShape{SymExpr::symbol(fresh_dim())}); return; }
      int64_t r = static_cast<int64_t>(s->size());
      int64_t start = n.attr_i("start", 0), end = n.attr_i("end", r);
      if (start < 0) start += r;
      if (end < 0) end += r;
      start = std::clamp<int64_t>(start, 0, r);
      end = std::clamp<int64_t>(end, start, r);
      SymVec v(s->begin() + start, s->begin() + end);
      set(out0, DType::kI64, SymShape{SymExpr(static_cast<int64_t>(v.size()))});
      set_sym(out0, v);
      return;
    }
    if (op == "Size") {
      set(out0, DType::kI64, SymShape{});
      if (auto s = in_shape(0)) { SymExpr p(1); for (auto& d : *s) p = p * d; set_sym(out0, {p}); }
      return;
    }
    if (op == "Concat") {
      if (n.inputs.empty()) fail(n, "Concat needs at least one input");
      std::optional<SymShape> out;
      int64_t ax = 0;
      bool ok = true;
      SymVec sv;
      bool sym_ok = true;
      for (size_t k = 0; k < n.inputs.size(); ++k) {
        auto s = in_shape(k);
        if (!s) { ok = false; break; }
        if (k == 0) {
          if (s->empty()) fail(n, "Concat of scalars (inputs must have rank >= 1)");
          out = s;
          ax = norm_axis(n, n.attr_i("axis", 0), s->size());
        }
        else {
          if (s->size() != out->size()) fail(n, "inputs have different ranks (" + shape_str(*out) + " vs " + shape_str(*s) + ")");
          (*out)[ax] = (*out)[ax] + (*s)[ax];
        }
        if (auto* v = sym(n.inputs[k])) sv.insert(sv.end(), v->begin(), v->end());
        else sym_ok = false;
      }
      set(out0, in_dt(0), ok ? out : std::nullopt);
      if (sym_ok && ok && out->size() == 1) set_sym(out0, sv);
      return;
    }
    if (op == "Unsqueeze" || op == "Squeeze") {
      auto s = in_shape(0);
      std::optional<std::vector<int64_t>> axes = n.inputs.size() > 1 ? const_ints(n.input(1)) : std::optional<std::vector<int64_t>>(n.attr_ints("axes"));
      if (!s || !axes) { set(out0, in_dt(0), std::nullopt); return; }
      SymShape r = *s;
      if (op == "Unsqueeze") {
        auto ax = *axes;
        for (auto& a : ax) a = norm_axis(n, a, r.size() + ax.size());
        std::sort(ax.begin(), ax.end());
        for (auto a : ax) r.insert(r.begin() + a, SymExpr(1));
      } else {
        auto ax = *axes;
        if (ax.empty()) {
          SymShape t;
          for (auto& d : r) if (d.as_const() != 1) t.push_back(d);
          r = t;
        } else {
          for (auto& a : ax) a = norm_axis(n, a, r.size());
          std::sort(ax.rbegin(), ax.rend());
          for (auto a : ax) r.erase(r.begin() + a);
        }
      }
      set(out0, in_dt(0), r);
      if (auto* v = sym(n.input(0))) set_sym(out0, *v);
      return;
    }
    if (op == "Reshape") {
      auto s = in_shape(0);
      const SymVec* t = sym(n.input(1));
      auto tshape = in_shape(1);
      if (!t) {
        // Unknown target values but known length: rank is known.
        if (tshape && tshape->size() == 1 && (*tshape)[0].is_const()) {
          SymShape r;
          for (int64_t k = 0; k < *(*tshape)[0].as_const(); ++k) r.push_back(SymExpr::symbol(fresh_dim()));
          set(out0, in_dt(0), r);
        } else set(out0, in_dt(0), std::nullopt);
        return;
      }
      const bool allowzero = n.attr_i("allowzero", 0) != 0;
      SymShape r(t->begin(), t->end());
      int neg = -1;
      SymExpr known(1);
      for (size_t k = 0; k < r.size(); ++k) {
        auto c = r[k].as_const();
        if (c && *c == 0 && !allowzero) {
          if (!s || k >= s->size()) { set(out0, in_dt(0), std::nullopt); return; }
          r[k] = (*s)[k];
        }
        if (c && *c == -1) { if (neg >= 0) fail(n, "two -1 entries in the target shape"); neg = static_cast<int>(k); continue; }
        if (c && *c < 0) fail(n, "negative size " + std::to_string(*c) + " in the target shape " + shape_str(r));
        known = known * r[k];
      }
      if (neg >= 0) {
        if (!s) { r[neg] = SymExpr::symbol(fresh_dim()); }
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
          r[neg] = q ? *q : SymExpr::symbol(fresh_dim());
        }
      } else if (s) {
        SymExpr total(1);
        for (auto& d : *s) total = total * d;
        // Without a -1 the counts must be equal: provably different (for dims >= 1) when their difference has
        // coefficients of one sign, e.g. batch*seq*16 vs batch*seq*24 (not only when both are constants).
        if ((total - known).provably_nonzero())
          fail(n, "reshape of " + shape_str(*s) + " to " + shape_str(r) + " changes the number of elements");
      }
      set(out0, in_dt(0), r);
      if (auto* v = sym(n.input(0))) set_sym(out0, *v);
      return;
    }
    if (op == "Flatten") {
      auto s = in_shape(0);
      if (!s) { set(out0, in_dt(0), std::nullopt); return; }
      // axis in [-r, r]; a negative one counts from the back of the rank (-1 on [2,3,4,5] -> [24,5]).
      const int64_t rank = static_cast<int64_t>(s->size());
      int64_t ax = n.attr_i("axis", 1);
      if (ax < -rank || ax > rank) fail(n, "axis " + std::to_string(ax) + " out of range for rank " + std::to_string(rank));
      if (ax < 0) ax += rank;
      SymExpr l(1), r(1);
      for (int64_t k = 0; k < static_cast<int64_t>(s->size()); ++k) (k < ax ? l : r) = (k < ax ? l : r) * (*s)[k];
      set(out0, in_dt(0), SymShape{l, r});
      return;
    }
    if (op == "Transpose") {
      auto s = in_shape(0);
      if (!s) { set(out0, in_dt(0), std::nullopt); return; }
      auto perm = n.attr_ints("perm");
      if (perm.empty()) for (int64_t k = static_cast<int64_t>(s->size()) - 1; k >= 0; --k) perm.push_back(k);
      if (perm.size() != s->size()) fail(n, "perm has " + std::to_string(perm.size()) + " entries for rank " + std::to_string(s->size()));
      SymShape r;
      for (auto p : perm) {
        if (p < 0 || p >= static_cast<int64_t>(s->size())) fail(n, "perm entry out of range");
        r.push_back((*s)[p]);
      }
      set(out0, in_dt(0), r);
      return;
    }
    if (op == "Gather") {
      auto s = in_shape(0), is = in_shape(1);
      if (!s || !is) { set(out0, in_dt(0), std::nullopt); return; }
      int64_t ax = norm_axis(n, n.attr_i("axis", 0), s->size());
      SymShape r(s->begin(), s->begin() + ax);
      r.insert(r.end(), is->begin(), is->end());
      r.insert(r.end(), s->begin() + ax + 1, s->end());
      set(out0, in_dt(0), r);
      auto* v = sym(n.input(0));
      auto idx = const_ints(n.input(1));
      if (v && idx && s->size() == 1) {
        SymVec o;
        for (auto i : *idx) {
          int64_t j = i < 0 ? i + static_cast<int64_t>(v->size()) : i;
          if (j < 0 || j >= static_cast<int64_t>(v->size())) fail(n, "index " + std::to_string(i) + " out of range");
          o.push_back((*v)[j]);
        }
        set_sym(out0, o);
      }
      return;
    }
    if (op == "GatherND") {
      auto s = in_shape(0), is = in_shape(1);
      if (!s || !is || is->empty() || !is->back().is_const() || n.attr_i("batch_dims", 0) != 0) { set(out0, in_dt(0), std::nullopt); return; }
      int64_t m = *is->back().as_const();
      SymShape r(is->begin(), is->end() - 1);
      r.insert(r.end(), s->begin() + std::min<int64_t>(m, s->size()), s->end());
      set(out0, in_dt(0), r);
      return;
    }
    if (op == "Slice") {
      auto s = in_shape(0);
      if (!s) { set(out0, in_dt(0), std::nullopt); return; }
      const SymVec *st = sym(n.input(1)), *en = sym(n.input(2));
      std::optional<std::vector<int64_t>> axes = n.inputs.size() > 3 && !n.input(3).empty() ? const_ints(n.input(3)) : std::optional<std::vector<int64_t>>(std::vector<int64_t>{});
      std::optional<std::vector<int64_t>> steps = n.inputs.size() > 4 && !n.input(4).empty() ? const_ints(n.input(4)) : std::optional<std::vector<int64_t>>(std::vector<int64_t>{});
      SymVec stv, env;
      if (n.inputs.size() < 2) {  // opset < 10: attributes
        for (auto v : n.attr_ints("starts")) stv.push_back(SymExpr(v));
        for (auto v : n.attr_ints("ends")) env.push_back(SymExpr(v));
        axes = n.attr_ints("axes");
      } else {
        if (!st || !en || !axes || !steps) { set(out0, in_dt(0), std::nullopt); return; }
        stv = *st;
        env = *en;
      }
      if (axes->empty()) for (size_t k = 0; k < stv.size(); ++k) axes->push_back(static_cast<int64_t>(k));
      if (steps->empty()) steps->assign(stv.size(), 1);
      if (stv.size() != env.size() || axes->size() != stv.size() || steps->size() != stv.size()) fail(n, "starts/ends/axes/steps lengths differ");
      SymShape r = *s;
      std::vector<std::tuple<int64_t, SymExpr, SymExpr, int64_t>> per_axis;
      for (size_t k = 0; k < stv.size(); ++k) {
        int64_t ax = norm_axis(n, (*axes)[k], s->size());
        if ((*steps)[k] == 0) fail(n, "slice step is 0");
        auto len = slice_len((*s)[ax], stv[k], env[k], (*steps)[k]);
        r[ax] = len ? *len : SymExpr::symbol(fresh_dim());
        per_axis.emplace_back(ax, stv[k], env[k], (*steps)[k]);
      }
      set(out0, in_dt(0), r);
      // Slicing a symbolic 1-D vector with constant bounds.
      auto* v = sym(n.input(0));
      if (v && s->size() == 1 && per_axis.size() == 1) {
        auto [ax, a, b, step] = per_axis[0];
        auto ac = a.as_const(), bc = b.as_const();
        if (ac && bc && step == 1) {
          int64_t len = static_cast<int64_t>(v->size());
          int64_t lo = *ac < 0 ? *ac + len : *ac, hi = *bc < 0 ? *bc + len : *bc;
          lo = std::clamp<int64_t>(lo, 0, len);
          hi = std::clamp<int64_t>(hi, lo, len);
          set_sym(out0, SymVec(v->begin() + lo, v->begin() + hi));
        }
      }
      return;
    }
    if (op == "Range") {
      const SymVec *a = sym(n.input(0)), *b = sym(n.input(1));
      auto d = const_ints(n.input(2));
      DType dt = in_dt(0);
      if (a && b && d && d->size() == 1 && (*d)[0] == 1 && !dtype_is_float(dt)) set(out0, dt, SymShape{(*b)[0] - (*a)[0]});
      else set(out0, dt, SymShape{SymExpr::symbol(fresh_dim())});
      return;
    }
    if (op == "Expand") {
      const SymVec* t = sym(n.input(1));
      auto s = in_shape(0);
      if (!t || !s) { set(out0, in_dt(0), std::nullopt); return; }
      auto r = broadcast(n, {s, SymShape(t->begin(), t->end())});
      set(out0, in_dt(0), r);
      if (auto* v = sym(n.input(0)); v && r && r->size() == 1 && r->front().is_const() && v->size() == 1)
        set_sym(out0, SymVec(*r->front().as_const(), (*v)[0]));
      return;
    }
    if (op == "Tile") {
      auto s = in_shape(0);
      auto rep = const_ints(n.input(1));
      if (!s || !rep || rep->size() != s->size()) { set(out0, in_dt(0), std::nullopt); return; }
      SymShape r = *s;
      for (size_t k = 0; k < r.size(); ++k) r[k] = r[k] * SymExpr((*rep)[k]);
      set(out0, in_dt(0), r);
      return;
    }
    if (op == "ConstantOfShape") {
      DType dt = DType::kF32;
      if (n.has_attr("value") && n.attrs.at("value").tensor) dt = n.attrs.at("value").tensor->dtype;
      const SymVec* t = sym(n.input(0));
      set(out0, dt, t ? std::optional<SymShape>(SymShape(t->begin(), t->end())) : std::nullopt);
      if (t && t->size() == 1 && (*t)[0].is_const() && !dtype_is_float(dt) && *(*t)[0].as_const() >= 0 &&
          *(*t)[0].as_const() <= static_cast<int64_t>(kMaxSymElems)) {
        int64_t fill = n.has_attr("value") ? n.attrs.at("value").tensor->i64(0) : 0;
        set_sym(out0, SymVec(*(*t)[0].as_const(), SymExpr(fill)));
      }
      return;
    }
    if (op == "MatMul" || op == "MatMulInteger") {
      auto a = in_shape(0), b = in_shape(1);
      if (!a || !b || a->empty() || b->empty()) { set(out0, in_dt(0), std::nullopt); return; }
      SymShape A = *a, B = *b;
      bool a1 = A.size() == 1, b1 = B.size() == 1;
      if (a1) A.insert(A.begin(), SymExpr(1));
      if (b1) B.push_back(SymExpr(1));
      if (A.back() != B[B.size() - 2] && A.back().is_const() && B[B.size() - 2].is_const())
        fail(n, "inner dimensions differ: " + shape_str(*a) + " x " + shape_str(*b));
      auto bs = broadcast(n, {SymShape(A.begin(), A.end() - 2), SymShape(B.begin(), B.end() - 2)});
      if (!bs) { set(out0, in_dt(0), std::nullopt); return; }
      SymShape r = *bs;
      if (!a1) r.push_back(A[A.size() - 2]);
      if (!b1) r.push_back(B.back());
      set(out0, in_dt(0), r);
      return;
    }
    if (op == "Gemm") {
      auto a = in_shape(0), b = in_shape(1);
      if (!a || !b || a->size() != 2 || b->size() != 2) { set(out0, in_dt(0), std::nullopt); return; }
      SymExpr M = n.attr_i("transA", 0) ? (*a)[1] : (*a)[0];
      SymExpr N = n.attr_i("transB", 0) ? (*b)[0] : (*b)[1];
      set(out0, in_dt(0), SymShape{M, N});
      return;
    }
    if (op == "LayerNormalization" || op == "SimplifiedLayerNormalization" || op == "RMSNormalization" ||
        op == "SkipLayerNormalization" || op == "SkipSimplifiedLayerNormalization") {
      auto s = in_shape(0);
      set(out0, in_dt(0), s);
      if (op.rfind("Skip", 0) == 0) {
        // outputs: output, mean, inv_std_var, input_skip_bias_sum
        if (n.outputs.size() > 3) set(n.outputs[3], in_dt(0), s);
        for (size_t k = 1; k < std::min<size_t>(n.outputs.size(), 3); ++k) set(n.outputs[k], DType::kF32, std::nullopt);
      } else {
        for (size_t k = 1; k < n.outputs.size(); ++k) {
          std::optional<SymShape> r = s;
          if (s) {
            int64_t ax = norm_axis(n, n.attr_i("axis", -1), s->size());
            for (size_t d = ax; d < r->size(); ++d) (*r)[d] = SymExpr(1);
          }
          set(n.outputs[k], DType::kF32, r);
        }
      }
      return;
    }
    if (op == "ReduceMean" || op == "ReduceSum" || op == "ReduceMax" || op == "ReduceMin" || op == "ReduceProd" ||
        op == "ReduceL2" || op == "ReduceSumSquare") {
      auto s = in_shape(0);
      std::optional<std::vector<int64_t>> axes = n.inputs.size() > 1 && !n.input(1).empty() ? const_ints(n.input(1)) : std::optional<std::vector<int64_t>>(n.attr_ints("axes"));
      if (!s || !axes) { set(out0, in_dt(0), std::nullopt); return; }
      const bool keep = n.attr_i("keepdims", 1) != 0;
      std::vector<bool> red(s->size(), axes->empty() && !n.attr_i("noop_with_empty_axes", 0));
      for (auto a : *axes) red[norm_axis(n, a, s->size())] = true;
      SymShape r;
      for (size_t d = 0; d < s->size(); ++d) {
        if (!red[d]) r.push_back((*s)[d]);
        else if (keep) r.push_back(SymExpr(1));
      }
      set(out0, in_dt(0), r);
      return;
    }
    if (op == "Split") {
      auto s = in_shape(0);
      if (!s) { for (auto& o : n.outputs) set(o, in_dt(0), std::nullopt); return; }
      int64_t ax = norm_axis(n, n.attr_i("axis", 0), s->size());
      std::optional<std::vector<int64_t>> sizes = n.inputs.size() > 1 && !n.input(1).empty() ? const_ints(n.input(1)) : std::optional<std::vector<int64_t>>(n.attr_ints("split"));
      const size_t nout = n.outputs.size();
      for (size_t k = 0; k < nout; ++k) {
        SymShape r = *s;
        if (sizes && sizes->size() == nout) r[ax] = SymExpr((*sizes)[k]);
        else if (auto q = (*s)[ax].div(SymExpr(static_cast<int64_t>(nout)))) r[ax] = *q;
        else r[ax] = SymExpr::symbol(fresh_dim());
        set(n.outputs[k], in_dt(0), r);
      }
      return;
    }
    // Ops whose outputs tsc cannot type: leave unknown; the lifter reports them if they matter.
    for (auto& o : n.outputs) {
      const ValueType* known = o.empty() ? nullptr : g_.type(o);
      set(o, known && known->dtype != DType::kUndefined ? known->dtype : in_dt(0), std::nullopt);
    }
  }

  // tsc's canonical ops (see compiler/ir/passes/*.cpp for their contracts).
  void infer_tsc(Node& n) {
    auto s = shape_of(n.input(0));
    DType dt = dtype_of(n.input(0));
    if (n.op == "Linear") {
      const Tensor* w = g_.constant(n.input(1));
      if (s && w && w->shape.size() == 2) s->back() = SymExpr(n.attr_i("w_in_out", 1) ? w->shape[1] : w->shape[0]);
      set(n.outputs[0], dt, s);
      return;
    }
    set(n.outputs[0], dt, s);
    if (n.op == "Attention" && n.outputs.size() == 3) {
      for (int k = 0; k < 2; ++k) {
        auto past = shape_of(n.input(3 + k));
        std::optional<SymShape> ps;
        if (past && s && past->size() == 4) { ps = *past; (*ps)[2] = (*past)[2] + (*s)[1]; }
        set(n.outputs[1 + k], dtype_of(n.input(3 + k)), ps);
      }
    }
  }

  int fresh_ = 0;
  std::string fresh_dim() { return "d" + std::to_string(fresh_++); }
};

}  // namespace

InferStats infer_and_fold(Graph& g, const InferOptions& opt) { return Inferer(g, opt).run(); }

void topo_sort(Graph& g) {
  std::unordered_map<std::string, size_t> producer;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (auto& o : g.nodes[i]->outputs)
      if (!o.empty()) {
        if (producer.count(o)) throw Error("value '" + o + "' is produced by two nodes (" + g.nodes[producer[o]]->describe() + " and " + g.nodes[i]->describe() + ")", "the graph is not valid ONNX (SSA); re-export it");
        producer[o] = i;
      }
  std::unordered_set<std::string> available(g.inputs.begin(), g.inputs.end());
  for (auto& [n, t] : g.constants) available.insert(n);
  std::vector<int> state(g.nodes.size(), 0);  // 0 new, 1 visiting, 2 done
  std::vector<std::unique_ptr<Node>> order;
  std::function<void(size_t)> visit = [&](size_t i) {
    if (state[i] == 2) return;
    if (state[i] == 1) throw Error(g.nodes[i]->describe() + " is part of a cycle", "ONNX graphs must be acyclic; re-export the model");
    state[i] = 1;
    for (auto& in : g.nodes[i]->inputs) {
      if (in.empty() || available.count(in)) continue;
      auto it = producer.find(in);
      if (it == producer.end())
        throw Error(g.nodes[i]->describe() + " reads '" + in + "', which no node, input or initializer defines", "the graph is incomplete; re-export the model");
      visit(it->second);
    }
    state[i] = 2;
    order.push_back(std::move(g.nodes[i]));
  };
  // Iterative deepening would avoid recursion depth; exported graphs are a few thousand nodes deep at most.
  for (size_t i = 0; i < g.nodes.size(); ++i) if (g.nodes[i]) visit(i);
  g.nodes = std::move(order);
}

int remove_dead(Graph& g) {
  std::unordered_set<std::string> live(g.outputs.begin(), g.outputs.end());
  std::vector<bool> keep(g.nodes.size(), false);
  for (size_t i = g.nodes.size(); i-- > 0;) {
    auto& n = *g.nodes[i];
    bool used = false;
    for (auto& o : n.outputs) if (!o.empty() && live.count(o)) used = true;
    if (!used) continue;
    keep[i] = true;
    for (auto& in : n.inputs) if (!in.empty()) live.insert(in);
  }
  int removed = 0;
  std::vector<std::unique_ptr<Node>> kept;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (keep[i]) kept.push_back(std::move(g.nodes[i]));
    else ++removed;
  }
  g.nodes = std::move(kept);
  for (auto it = g.constants.begin(); it != g.constants.end();) it = live.count(it->first) ? std::next(it) : g.constants.erase(it);
  for (auto it = g.sym_values.begin(); it != g.sym_values.end();) it = live.count(it->first) ? std::next(it) : g.sym_values.erase(it);
  return removed;
}

}  // namespace tsc
