// fold-io-casts: the float32 boundary of a half-precision graph moves inside the runtime.
//   x: f32 graph input, every data use Cast(x)->f16|bf16          => x is an f16|bf16 input, the Casts go
//   y: f32 graph output = Cast(v), v: f16|bf16 computed in graph  => v is renamed y, an f16|bf16 output
// onnxruntime's float16 converter with keep_io_types (transformers.js's model_fp16.onnx) writes these for
// past_key_values.* / present.* and logits. tsc's runtime owns the KV cache and returns float32 logits, so the
// boundary conversions (exact in both directions) say nothing about the model; without this pass the KV
// concat reads a Cast, not a graph input, and attention is not recognized.
#include "compiler/ir/passes/pass.h"

namespace tsc {
namespace {

bool is_half(DType t) { return t == DType::kF16 || t == DType::kBF16; }

// The dtype all data consumers of graph input x cast it to, if x is f32 and each data use is such a Cast.
std::optional<DType> input_cast_type(const Graph& g, const UseDef& ud, const std::string& x) {
  const ValueType* t = g.type(x);
  if (!t || t->dtype != DType::kF32 || ud.is_graph_output(x)) return std::nullopt;
  std::optional<DType> to;
  for (Node* c : ud.consumers(x)) {
    if (c->is("Shape") || c->is("Size")) continue;
    if (!c->is("Cast")) return std::nullopt;
    DType d = static_cast<DType>(c->attr_i("to", 0));
    if (!is_half(d) || (to && *to != d)) return std::nullopt;
    to = d;
  }
  return to;
}

void rename_value(Graph& g, const std::string from, const std::string to) {  // copies: callers pass node fields
  for (auto& np : g.nodes) {
    for (auto& v : np->inputs)
      if (v == from) v = to;
    for (auto& v : np->outputs)
      if (v == from) v = to;
  }
}

}  // namespace

int pass_fold_io_casts(Graph& g, const PassContext& ctx) {
  int rewrites = 0;
  UseDef ud(g);
  std::set<const Node*> dead;
  for (const std::string& x : g.inputs) {
    auto to = input_cast_type(g, ud, x);
    if (!to) continue;
    for (Node* c : ud.consumers(x)) {
      if (!c->is("Cast")) continue;
      rename_value(g, c->outputs[0], x);
      dead.insert(c);
    }
    g.types[x].dtype = *to;
    ++rewrites;
  }
  for (const std::string& y : g.outputs) {
    Node* c = ud.producer(y);
    if (!c || !c->is("Cast") || dead.count(c)) continue;
    const std::string v = c->inputs[0];
    const ValueType *tv = g.type(v), *ty = g.type(y);
    if (!tv || !ty || !is_half(tv->dtype) || ty->dtype != DType::kF32) continue;
    if (!ud.producer(v) || ud.is_graph_output(v) || g.is_const(v)) {
      ctx.note("fold-io-casts", c->describe() + ": casts a graph input, another output or a constant");
      continue;
    }
    dead.insert(c);
    c->outputs = {};  // so the rename does not give the Cast y as well
    ValueType t = *tv;
    rename_value(g, v, y);
    g.types[y] = t;
    ++rewrites;
  }
  std::erase_if(g.nodes, [&](const std::unique_ptr<Node>& n) { return dead.count(n.get()) != 0; });
  return rewrites;
}

}  // namespace tsc
