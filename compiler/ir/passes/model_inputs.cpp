// Input roles and probe inputs.
#include "compiler/ir/passes/model_inputs.h"

#include "contract/error.h"

namespace tsc {

ModelInputs classify_inputs(const Graph& g) {
  ModelInputs mi;
  UseDef ud(g);
  auto feeds_embedding = [&](const std::string& in) {
    std::vector<std::string> frontier = {in};
    for (int depth = 0; depth < 4 && !frontier.empty(); ++depth) {
      std::vector<std::string> next;
      for (auto& v : frontier)
        for (Node* c : ud.consumers(v)) {
          if (c->is("Gather") && c->inputs.size() == 2 && c->inputs[1] == v) {
            const Tensor* t = g.constant(c->inputs[0]);
            if (t && t->shape.size() == 2 && dtype_is_float(t->dtype) && t->shape[0] > 1) return true;
          }
          if (c->is("Reshape") || c->is("Cast") || c->is("Identity") || c->is("Unsqueeze") || c->is("Squeeze") || c->is("Flatten"))
            next.push_back(c->outputs[0]);
        }
      frontier = next;
    }
    return false;
  };
  for (auto& in : g.inputs) {
    const ValueType* t = g.type(in);
    const bool is_int = t && !dtype_is_float(t->dtype);
    const size_t rank = t && t->shape ? t->shape->size() : 0;
    if (is_int && mi.input_ids.empty() && feeds_embedding(in)) mi.input_ids = in;
    else if (is_int && in.find("attention_mask") != std::string::npos) mi.attention_mask = in;
    else if (is_int && in.find("position") != std::string::npos) mi.position_ids = in;
    else if (t && dtype_is_float(t->dtype) && rank == 4) mi.past.push_back(in);
    else mi.other.push_back(in);
  }
  return mi;
}

std::map<std::string, Tensor> probe_inputs(const Graph& g, const ModelInputs& mi, int64_t tokens, int64_t past_len) {
  std::map<std::string, int64_t> sym;  // symbol -> value
  auto bind = [&](const std::string& in, std::vector<int64_t> want) {
    const ValueType* t = g.type(in);
    if (!t || !t->shape || t->shape->size() != want.size()) return;
    for (size_t k = 0; k < want.size(); ++k)
      if (auto s = (*t->shape)[k].as_symbol(); s && want[k] >= 0 && !sym.count(*s)) sym[*s] = want[k];
  };
  bind(mi.input_ids, {1, tokens});
  bind(mi.position_ids, {1, tokens});
  bind(mi.attention_mask, {1, past_len + tokens});
  for (auto& p : mi.past) bind(p, {1, -1, past_len, -1});
  auto dims = [&](const std::string& in) {
    std::vector<int64_t> d;
    const ValueType* t = g.type(in);
    if (!t || !t->shape) return d;
    for (auto& e : *t->shape) {
      if (auto c = e.as_const()) d.push_back(*c);
      else if (auto s = e.as_symbol(); s && sym.count(*s)) d.push_back(sym[*s]);
      else d.push_back(1);
    }
    return d;
  };
  std::map<std::string, Tensor> r;
  for (auto& in : g.inputs) {
    const ValueType* t = g.type(in);
    if (!t) continue;
    Tensor x = Tensor::alloc(t->dtype == DType::kUndefined ? DType::kI64 : t->dtype, dims(in));
    if (in == mi.attention_mask) for (int64_t k = 0; k < x.numel(); ++k) x.set_f64(k, 1);
    if (in == mi.position_ids) for (int64_t k = 0; k < x.numel(); ++k) x.set_f64(k, static_cast<double>(past_len + k % tokens));
    r[in] = x;
  }
  return r;
}

}  // namespace tsc
