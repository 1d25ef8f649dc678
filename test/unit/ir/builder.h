// Helpers for the IR unit tests: graphs built node by node, attributes and small tensors in one line.
#pragma once
#include <initializer_list>
#include <string>
#include <vector>

#include "compiler/ir/graph.h"

namespace tsc::test {

inline SymExpr S(const char* name) { return SymExpr::symbol(name); }

inline Tensor f32(std::vector<float> v, std::vector<int64_t> shape) { return Tensor::from_f32(v, std::move(shape)); }
inline Tensor i64(std::vector<int64_t> v, std::vector<int64_t> shape) { return Tensor::from_i64(v, std::move(shape)); }
inline Tensor i64s(int64_t v) { return Tensor::scalar_i64(v); }
inline Tensor f32s(float v) { return Tensor::from_f32({v}, {}); }
// A tensor of any element type from doubles (f16/bf16 values are rounded the way set_f64 rounds).
inline Tensor typed(DType dt, std::vector<double> v, std::vector<int64_t> shape) {
  Tensor t = Tensor::alloc(dt, std::move(shape));
  for (size_t i = 0; i < v.size(); ++i) t.set_f64(static_cast<int64_t>(i), v[i]);
  return t;
}

inline Attribute ai(int64_t v) { Attribute a; a.kind = Attribute::Kind::kInt; a.i = v; return a; }
inline Attribute af(float v) { Attribute a; a.kind = Attribute::Kind::kFloat; a.f = v; return a; }
inline Attribute as(std::string v) { Attribute a; a.kind = Attribute::Kind::kString; a.s = std::move(v); return a; }
inline Attribute aints(std::vector<int64_t> v) { Attribute a; a.kind = Attribute::Kind::kInts; a.ints = std::move(v); return a; }
inline Attribute atensor(Tensor t) {
  Attribute a;
  a.kind = Attribute::Kind::kTensor;
  a.tensor = std::make_shared<Tensor>(std::move(t));
  return a;
}

// A node not attached to any graph, for eval_node.
inline Node make_node(std::string op, std::map<std::string, Attribute> attrs = {}, size_t n_out = 1, std::string domain = "") {
  Node n;
  n.op = std::move(op);
  n.domain = std::move(domain);
  n.attrs = std::move(attrs);
  for (size_t i = 0; i < n_out; ++i) n.outputs.push_back("out" + std::to_string(i));
  return n;
}

class Builder {
 public:
  explicit Builder(std::string name = "test") { g.name = std::move(name); g.opsets[""] = 18; }
  Builder& input(const std::string& name, DType dt, SymShape shape) {
    g.inputs.push_back(name);
    g.types[name] = ValueType{dt, std::move(shape)};
    return *this;
  }
  Builder& constant(const std::string& name, Tensor t) {
    g.constants[name] = std::move(t);
    return *this;
  }
  Node& node(std::string op, std::vector<std::string> in, std::vector<std::string> out,
             std::map<std::string, Attribute> attrs = {}, std::string domain = "") {
    auto n = std::make_unique<Node>();
    n->op = std::move(op);
    n->domain = std::move(domain);
    n->inputs = std::move(in);
    n->outputs = std::move(out);
    n->attrs = std::move(attrs);
    n->name = n->outputs.empty() ? n->op : n->outputs[0];
    g.nodes.push_back(std::move(n));
    return *g.nodes.back();
  }
  Builder& output(const std::string& name) {
    g.outputs.push_back(name);
    return *this;
  }
  Graph g;
};

// The node producing v, or nullptr.
inline const Node* producer(const Graph& g, const std::string& v) {
  for (auto& n : g.nodes)
    for (auto& o : n->outputs)
      if (o == v) return n.get();
  return nullptr;
}

inline std::string shape_of(const Graph& g, const std::string& v) {
  auto s = g.shape(v);
  return s ? shape_str(*s) : std::string("?");
}

inline std::vector<double> values(const Tensor& t) {
  std::vector<double> v;
  for (int64_t i = 0; i < t.numel(); ++i) v.push_back(t.f64(i));
  return v;
}

}  // namespace tsc::test
