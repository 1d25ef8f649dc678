// Memoized evaluation of a value's producer cone with eval_node.
#include "compiler/ir/probe.h"

#include <functional>
#include <unordered_map>

#include "compiler/ir/eval.h"

namespace tsc {

std::optional<Tensor> probe_value(const Graph& g, const std::string& value, const std::map<std::string, Tensor>& bound,
                                  int64_t max_elems) {
  UseDef ud(g);
  std::unordered_map<std::string, Tensor> memo;
  std::function<const Tensor*(const std::string&, int)> get = [&](const std::string& v, int depth) -> const Tensor* {
    if (depth > 10000) return nullptr;
    if (auto it = bound.find(v); it != bound.end()) return &it->second;
    if (auto* c = g.constant(v)) return c;
    if (auto it = memo.find(v); it != memo.end()) return &it->second;
    Node* n = ud.producer(v);
    if (!n || !is_evaluable(*n)) return nullptr;
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
