// The compiler's graph IR: ONNX-shaped nodes over named values, constants kept apart, symbolic types per value.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "compiler/ir/sym.h"
#include "compiler/ir/tensor.h"

namespace tsc {

struct Attribute {
  enum class Kind { kInt, kFloat, kString, kInts, kFloats, kStrings, kTensor, kGraph };
  Kind kind = Kind::kInt;
  int64_t i = 0;
  float f = 0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  std::vector<std::string> strings;
  std::shared_ptr<Tensor> tensor;
  std::string str() const;
};

struct Node {
  std::string name;    // the exporter's node name, for diagnostics
  std::string op;      // op_type ("MatMul"; tsc's canonical ops are "Linear", "RMSNorm", ... in domain "tsc")
  std::string domain;  // "" for ai.onnx, "com.microsoft", "tsc"
  std::vector<std::string> inputs;   // "" marks an absent optional input
  std::vector<std::string> outputs;  // "" marks an unused optional output
  std::map<std::string, Attribute> attrs;

  bool has_attr(const std::string& k) const { return attrs.count(k) != 0; }
  int64_t attr_i(const std::string& k, int64_t def) const;
  float attr_f(const std::string& k, float def) const;
  std::string attr_s(const std::string& k, const std::string& def) const;
  std::vector<int64_t> attr_ints(const std::string& k) const;
  bool is(const char* op_type) const { return op == op_type && (domain.empty() || domain == "ai.onnx"); }
  bool is_tsc(const char* op_type) const { return op == op_type && domain == "tsc"; }
  std::string input(size_t i) const { return i < inputs.size() ? inputs[i] : std::string(); }
  std::string output(size_t i) const { return i < outputs.size() ? outputs[i] : std::string(); }
  // "node 'name' (Op)" for messages.
  std::string describe() const;
};

// Type of a value: element type and (possibly unknown) symbolic shape.
struct ValueType {
  DType dtype = DType::kUndefined;
  std::optional<SymShape> shape;
  std::string str() const;
};

struct Graph {
  std::string name;
  std::string source_path;                      // the .onnx file it came from
  std::map<std::string, int64_t> opsets;        // domain -> version ("" is ai.onnx)
  std::vector<std::string> inputs;              // runtime inputs (not initializers)
  std::vector<std::string> outputs;
  std::vector<std::unique_ptr<Node>> nodes;     // topological order
  std::map<std::string, Tensor> constants;      // initializers, Constant nodes, folded values
  std::set<std::string> initializers;           // names of the file's initializers (what weight bindings name)
  std::map<std::string, ValueType> types;       // known types (inputs, outputs, value_info, inferred)
  // Small integer tensors known symbolically (shape arithmetic): element-wise SymExprs.
  std::map<std::string, std::vector<SymExpr>> sym_values;
  std::vector<std::shared_ptr<const void>> keepalive;  // protobuf message, mapped files

  bool is_const(const std::string& v) const { return constants.count(v) != 0; }
  const Tensor* constant(const std::string& v) const;
  const ValueType* type(const std::string& v) const;
  std::optional<SymShape> shape(const std::string& v) const;
  // Rank of v if known.
  std::optional<size_t> rank(const std::string& v) const;
  // A name not yet used by any value, based on hint.
  std::string fresh_name(const std::string& hint);

 private:
  int64_t fresh_counter_ = 0;
};

// Producer/consumer index over a graph; rebuild after rewrites.
class UseDef {
 public:
  explicit UseDef(const Graph& g);
  Node* producer(const std::string& v) const;
  const std::vector<Node*>& consumers(const std::string& v) const;
  bool is_graph_output(const std::string& v) const;
  // Consumers + graph outputs count.
  size_t use_count(const std::string& v) const;

 private:
  std::unordered_map<std::string, Node*> producer_;
  std::unordered_map<std::string, std::vector<Node*>> consumers_;
  std::unordered_map<std::string, bool> outputs_;
  std::vector<Node*> none_;
};

// Printing in a stable text form (tsc --emit=graph).
std::string print_graph(const Graph& g, bool with_constants = false);

}  // namespace tsc
