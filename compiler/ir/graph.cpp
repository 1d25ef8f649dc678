// Graph utilities: attributes, types, use-def index, stable printing.
#include "compiler/ir/graph.h"

#include <sstream>

namespace tsc {

std::string Attribute::str() const {
  std::ostringstream o;
  auto list = [&](auto& v) {
    o << "[";
    for (size_t i = 0; i < v.size(); ++i) o << (i ? ", " : "") << v[i];
    o << "]";
  };
  switch (kind) {
    case Kind::kInt: o << i; break;
    case Kind::kFloat: o << f; break;
    case Kind::kString: o << '"' << s << '"'; break;
    case Kind::kInts: list(ints); break;
    case Kind::kFloats: list(floats); break;
    case Kind::kStrings: list(strings); break;
    case Kind::kTensor: o << (tensor ? tensor_type_str(tensor->dtype, tensor->shape) : "tensor"); break;
    case Kind::kGraph: o << "<graph>"; break;
  }
  return o.str();
}

int64_t Node::attr_i(const std::string& k, int64_t def) const {
  auto it = attrs.find(k);
  return it == attrs.end() ? def : it->second.i;
}
float Node::attr_f(const std::string& k, float def) const {
  auto it = attrs.find(k);
  if (it == attrs.end()) return def;
  return it->second.kind == Attribute::Kind::kInt ? static_cast<float>(it->second.i) : it->second.f;
}
std::string Node::attr_s(const std::string& k, const std::string& def) const {
  auto it = attrs.find(k);
  return it == attrs.end() ? def : it->second.s;
}
std::vector<int64_t> Node::attr_ints(const std::string& k) const {
  auto it = attrs.find(k);
  return it == attrs.end() ? std::vector<int64_t>{} : it->second.ints;
}
std::string Node::describe() const {
  std::string d = domain.empty() ? "" : domain + ".";
  return "node '" + (name.empty() ? (outputs.empty() ? std::string("?") : outputs[0]) : name) + "' (" + d + op + ")";
}

std::string ValueType::str() const {
  return dtype_name(dtype) + (shape ? shape_str(*shape) : std::string("[?]"));
}

const Tensor* Graph::constant(const std::string& v) const {
  auto it = constants.find(v);
  return it == constants.end() ? nullptr : &it->second;
}
const ValueType* Graph::type(const std::string& v) const {
  auto it = types.find(v);
  return it == types.end() ? nullptr : &it->second;
}
std::optional<SymShape> Graph::shape(const std::string& v) const {
  if (auto* c = constant(v)) return SymShape(c->shape.begin(), c->shape.end());
  if (auto* t = type(v)) return t->shape;
  return std::nullopt;
}
std::optional<size_t> Graph::rank(const std::string& v) const {
  auto s = shape(v);
  if (!s) return std::nullopt;
  return s->size();
}
std::string Graph::fresh_name(const std::string& hint) {
  for (;;) {
    std::string n = hint + "_" + std::to_string(fresh_counter_++);
    if (!types.count(n) && !constants.count(n)) {
      types[n];  // reserve
      return n;
    }
  }
}

UseDef::UseDef(const Graph& g) {
  for (auto& n : g.nodes) {
    for (auto& o : n->outputs)
      if (!o.empty()) producer_[o] = n.get();
    for (auto& i : n->inputs)
      if (!i.empty()) {
        auto& c = consumers_[i];
        if (c.empty() || c.back() != n.get()) c.push_back(n.get());
      }
  }
  for (auto& o : g.outputs) outputs_[o] = true;
}
Node* UseDef::producer(const std::string& v) const {
  auto it = producer_.find(v);
  return it == producer_.end() ? nullptr : it->second;
}
const std::vector<Node*>& UseDef::consumers(const std::string& v) const {
  auto it = consumers_.find(v);
  return it == consumers_.end() ? none_ : it->second;
}
bool UseDef::is_graph_output(const std::string& v) const { return outputs_.count(v) != 0; }
size_t UseDef::use_count(const std::string& v) const { return consumers(v).size() + (is_graph_output(v) ? 1 : 0); }

std::string print_graph(const Graph& g, bool with_constants) {
  std::ostringstream o;
  auto ty = [&](const std::string& v) {
    if (auto* c = g.constant(v)) return tensor_type_str(c->dtype, c->shape);
    if (auto* t = g.type(v)) return t->str();
    return std::string("?");
  };
  o << "graph " << g.name << "\n";
  for (auto& [d, v] : g.opsets) o << "  opset " << (d.empty() ? "ai.onnx" : d) << " " << v << "\n";
  for (auto& i : g.inputs) o << "  input %" << i << ": " << ty(i) << "\n";
  if (with_constants)
    for (auto& [n, t] : g.constants) o << "  const %" << n << ": " << tensor_type_str(t.dtype, t.shape) << "\n";
  for (auto& n : g.nodes) {
    o << "  ";
    for (size_t i = 0; i < n->outputs.size(); ++i)
      o << (i ? ", " : "") << "%" << n->outputs[i] << ": " << (n->outputs[i].empty() ? "-" : ty(n->outputs[i]));
    o << " = " << (n->domain.empty() ? "" : n->domain + ".") << n->op;
    if (!n->attrs.empty()) {
      o << "<";
      bool first = true;
      for (auto& [k, a] : n->attrs) {
        o << (first ? "" : ", ") << k << "=" << a.str();
        first = false;
      }
      o << ">";
    }
    o << "(";
    for (size_t i = 0; i < n->inputs.size(); ++i) {
      const auto& in = n->inputs[i];
      o << (i ? ", " : "");
      if (in.empty()) { o << "-"; continue; }
      auto* c = g.constant(in);
      if (c && c->numel() <= 8 && c->numel() > 0 && c->dtype != DType::kString) {
        o << (c->shape.empty() ? "" : "[");
        for (int64_t j = 0; j < c->numel(); ++j) {
          o << (j ? "," : "");
          if (dtype_is_float(c->dtype)) o << c->f64(j);
          else o << c->i64(j);
        }
        o << (c->shape.empty() ? "" : "]");
      } else {
        o << (c ? "$" : "%") << in;
      }
    }
    o << ")\n";
  }
  for (auto& out : g.outputs) o << "  output %" << out << ": " << ty(out) << "\n";
  return o.str();
}

}  // namespace tsc
