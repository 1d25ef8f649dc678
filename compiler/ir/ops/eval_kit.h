// The reference evaluator's kit shared by the op families: integers computed in int64 (Slice ends of
// INT64_MAX must survive), floats in double, results stored in the op's output element type.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "compiler/ir/graph.h"

namespace tsc::ops {

inline bool is_int_type(DType t) { return !dtype_is_float(t); }

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

Arr load(const Tensor& t);
Arr make(DType dt, std::vector<int64_t> shape);  // zero-filled
Tensor store(const Arr& a);
inline std::vector<Tensor> one(const Arr& a) { return {store(a)}; }

// Copies element sk of a into element dk of r (same isint-ness assumed after make(a.dt)).
inline void copy_el(Arr& r, int64_t dk, const Arr& a, int64_t sk) {
  if (r.isint) r.i[dk] = a.geti(sk); else r.f[dk] = a.getf(sk);
}

std::vector<int64_t> strides_of(const std::vector<int64_t>& s);
std::string dims_str(const std::vector<int64_t>& s);

// Throws tsc::Error naming n: its constant inputs contradict the op.
[[noreturn]] void fail(const Node& n, const std::string& why);
// Input k, which must be present.
const Tensor& need(const Node& n, const std::vector<const Tensor*>& in, size_t k);
// Scalar operand k (Range bounds, CumSum axis, Trilu k): exactly one element.
const Tensor& scalar_input(const Node& n, const std::vector<const Tensor*>& in, size_t k);
// Input idx as integers if present, else the attribute (opsets moved axes/split from attributes to inputs).
std::vector<int64_t> ints_input_or_attr(const Node& n, const std::vector<const Tensor*>& in, size_t idx, const char* attr);

// Element count of a shape the graph asks for (ConstantOfShape, Expand, Tile, Reshape targets): a negative
// size or a count past int64 is an inconsistent graph, reported at the node before anything is allocated.
int64_t checked_count(const Node& n, const std::vector<int64_t>& s);

// Integer arithmetic of folded values is checked: int64 overflow is undefined behaviour in C++ and means a
// corrupt graph here.
int64_t iadd(const Node& n, int64_t a, int64_t b);
int64_t isub(const Node& n, int64_t a, int64_t b);
int64_t imul(const Node& n, int64_t a, int64_t b);

std::vector<int64_t> broadcast(const Node& n, const std::vector<int64_t>& a, const std::vector<int64_t>& b);
// Index into an array of shape `s` for flat output index `o` of broadcast shape `out`.
int64_t bindex(const std::vector<int64_t>& out, const std::vector<int64_t>& s, int64_t o);
int64_t norm_axis(const Node& n, int64_t axis, int64_t rank);

// Converts to `to`, rounding through narrow float types so folding matches what the runtime computes.
Arr cast(const Arr& a, DType to);
Arr transpose(const Arr& a, std::vector<int64_t> perm);  // empty perm reverses the axes

// Output-size prediction (ElemsFn) helpers.
// Product of sizes, saturating at INT64_MAX (a prediction, not an allocation); nullopt if one is negative.
std::optional<int64_t> sat_count(const std::vector<int64_t>& s);
// Broadcast of shapes without failing (nullopt where they do not broadcast: eval then reports it).
std::optional<std::vector<int64_t>> try_broadcast(const std::vector<const std::vector<int64_t>*>& shapes);
int64_t largest_input(const std::vector<const Tensor*>& in);

}  // namespace tsc::ops
