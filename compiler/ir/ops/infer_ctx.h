// What an op's inference reads and writes: input types, symbolic shapes and symbolic integer values
// (Shape -> Gather -> Concat -> Reshape chains), and the outputs' types.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "compiler/ir/graph.h"

namespace tsc {

using SymVec = std::vector<SymExpr>;
// Longest integer vector tracked element-wise as SymExprs.
constexpr size_t kMaxSymElems = 64;

class InferCtx {
 public:
  explicit InferCtx(Graph& g) : g(g) {}

  std::optional<SymShape> shape_of(const std::string& v) const;
  DType dtype_of(const std::string& v) const;
  const SymVec* sym(const std::string& v) const;                               // symbolic value, if tracked
  std::optional<std::vector<int64_t>> const_ints(const std::string& v) const;  // constant's values
  std::optional<SymShape> in_shape(const Node& n, size_t k) const { return k < n.inputs.size() ? shape_of(n.inputs[k]) : std::nullopt; }
  DType in_dt(const Node& n, size_t k) const { return k < n.inputs.size() ? dtype_of(n.inputs[k]) : DType::kUndefined; }
  static std::string out0(const Node& n) { return n.outputs.empty() ? std::string() : n.outputs[0]; }

  void set(const std::string& o, DType dt, std::optional<SymShape> s);  // o's type (no-op for an absent output)
  void set_sym(const std::string& o, SymVec v);                          // o's value, if short enough to track
  void set_unknown(const Node& n);  // outputs keep a known dtype (else input 0's), shape unknown

  // Multidirectional broadcast; a static size wins over a symbol. nullopt if a shape is unknown.
  std::optional<SymShape> broadcast(const Node& n, const std::vector<std::optional<SymShape>>& shapes) const;
  static int64_t norm_axis(const Node& n, int64_t ax, size_t rank);
  std::string fresh_dim() { return "d" + std::to_string(fresh_++); }  // a new unknown dimension's name

  // Throws tsc::Error naming n: the graph's shapes contradict the op.
  [[noreturn]] static void fail(const Node& n, const std::string& why);

  Graph& g;

 private:
  int fresh_ = 0;
};

// Output 0 has input 0's dtype and shape (element-wise ops of one input, Softmax, CumSum, Trilu, ...).
void infer_same_shape(InferCtx& c, Node& n);

}  // namespace tsc
