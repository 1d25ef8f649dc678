// Memoized evaluation of a value's producer cone with eval_node.
#include "compiler/ir/probe.h"

#include <functional>
#include <unordered_map>

#include "compiler/ir/eval.h"

namespace tsc {

std::map<std::string, int64_t> bound_symbols(const Graph& g, const std::map<std::string, Tensor>& bound) {
  std::map<std::string, int64_t> sym;
  for (auto& [name, t] : bound) {
    const ValueType* vt = g.type(name);
    if (!vt || !vt->shape || vt->shape->size() != t.shape.size()) continue;
    for (size_t k = 0; k < t.shape.size(); ++k)
      if (auto s = (*vt->shape)[k].as_symbol()) sym.emplace(*s, t.shape[k]);
  }
  return sym;
}

std::optional<std::vector<int64_t>> concrete_shape(const Graph& g, const std::string& v, const std::map<std::string, int64_t>& symbols) {
  auto s = g.shape(v);
  if (!s) return std::nullopt;
  std::vector<int64_t> r;
  for (auto& d : *s) {
    auto x = d.eval(symbols);
    if (!x || *x < 0) return std::nullopt;
    r.push_back(*x);
  }
  return r;
}

std::optional<Tensor> probe_value(const Graph& g, const std::string& value, const std::map<std::string, Tensor>& bound,
                                  int64_t max_elems) {
  UseDef ud(g);
  const auto symbols = bound_symbols(g, bound);
  std::unordered_map<std::string, Tensor> memo;
  std::function<const Tensor*(const std::string&, int)> get = [&](const std::string& v, int depth) -> const Tensor* {
    if (depth > 10000) return nullptr;
    if (auto it = bound.find(v); it != bound.end()) return &it->second;
    if (auto* c = g.constant(v)) return c;
    if (auto it = memo.find(v); it != memo.end()) return &it->second;
    Node* n = ud.producer(v);
    if (!n || !is_evaluable(*n)) return nullptr;
    if ((n->is("Shape") || n->is("Size")) && n->inputs.size() == 1) {
      const std::string& x = n->inputs[0];
      if (!bound.count(x) && !g.is_const(x) && !memo.count(x))
        if (auto s = concrete_shape(g, x, symbols)) {
          Tensor shape_only;  // no data: Shape and Size read only the shape
          shape_only.dtype = g.type(x)->dtype;
          shape_only.shape = *s;
          auto out = eval_node(*n, {&shape_only});
          if (!out) return nullptr;
          memo[n->outputs[0]] = (*out)[0];
          return &memo[n->outputs[0]];
        }
    }
    std::vector<const Tensor*> in;
    for (auto& i : n->inputs) {
      if (i.empty()) { in.push_back(nullptr); continue; }
      const Tensor* t = get(i, depth + 1);
      if (!t || t->numel() > max_elems) return nullptr;
      in.push_back(t);
    }
    auto out = eval_node(*n, in);
    if (!out) return nullptr;
    for (size_t k = 0; k < n->outputs.size() && k < out->size(); ++k)
      if (!n->outputs[k].empty()) memo[n->outputs[k]] = (*out)[k];
    auto it = memo.find(v);
    return it == memo.end() ? nullptr : &it->second;
  };
  try {
    const Tensor* t = get(value, 0);
    if (!t) return std::nullopt;
    return *t;
  } catch (...) {
    return std::nullopt;  // inconsistent probe inputs: the caller treats it as "not this pattern"
  }
}

}  // namespace tsc
