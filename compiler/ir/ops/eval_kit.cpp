// The reference evaluator's kit: dense arrays in computation form (int64 or double), broadcasting, checked
// integer arithmetic and the errors every op's constant evaluation shares.
#include "compiler/ir/ops/eval_kit.h"

#include <algorithm>
#include <limits>

#include "contract/error.h"

namespace tsc::ops {

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

void fail(const Node& n, const std::string& why) {
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

const Tensor& need(const Node& n, const std::vector<const Tensor*>& in, size_t k) {
  if (k >= in.size() || !in[k]) fail(n, "missing input " + std::to_string(k));
  return *in[k];
}

int64_t largest_input(const std::vector<const Tensor*>& in) {
  int64_t largest = 0;
  for (auto* t : in) if (t) largest = std::max(largest, t->numel());
  return largest;
}

}  // namespace tsc::ops
