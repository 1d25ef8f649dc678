// Pass registry and pattern helpers.
#include "compiler/ir/passes/pass.h"

#include <ostream>

#include "compiler/ir/infer.h"

namespace tsc {

void PassContext::note(const std::string& pass, const std::string& msg) const {
  if (verbose && log) *log << "  [" << pass << "] " << msg << "\n";
}

std::optional<double> Pat::scalar(const std::string& v) const {
  const Tensor* c = g.constant(skip_casts(v));
  if (!c || c->numel() != 1) return std::nullopt;
  return c->f64(0);
}

std::string Pat::skip_casts(std::string v) const {
  for (int i = 0; i < 16; ++i) {
    Node* n = def(v);
    if (!n || !(n->is("Cast") || n->is("Identity") || n->is("CastLike"))) return v;
    v = n->inputs[0];
  }
  return v;
}

std::string Pat::other_input(const Node& n, const std::string& v) const {
  if (n.inputs.size() != 2) return {};
  if (n.inputs[0] == v || skip_casts(n.inputs[0]) == v) return n.inputs[1];
  if (n.inputs[1] == v || skip_casts(n.inputs[1]) == v) return n.inputs[0];
  return {};
}

std::optional<std::pair<std::string, bool>> Pat::weight(const std::string& v0) const {
  std::string v = v0;
  bool transposed = false;
  for (int i = 0; i < 16; ++i) {
    if (const Tensor* c = g.constant(v)) {
      if (c->shape.size() != 2) return std::nullopt;
      return std::make_pair(v, transposed);
    }
    Node* n = def(v);
    if (!n) return std::nullopt;
    if (n->is("Transpose")) {
      auto p = n->attr_ints("perm");
      if (!(p.empty() || (p.size() == 2 && p[0] == 1 && p[1] == 0))) return std::nullopt;
      transposed = !transposed;
    } else if (!(n->is("Cast") || n->is("Identity"))) {
      return std::nullopt;
    }
    v = n->inputs[0];
  }
  return std::nullopt;
}

std::vector<Node*> Pat::data_consumers(const std::string& v) const {
  std::vector<Node*> r;
  for (Node* c : ud.consumers(v))
    if (!(c->is("Shape") || c->is("Size"))) r.push_back(c);
  return r;
}

Attribute int_attr(int64_t v) {
  Attribute a;
  a.kind = Attribute::Kind::kInt;
  a.i = v;
  return a;
}

Attribute float_attr(float v) {
  Attribute a;
  a.kind = Attribute::Kind::kFloat;
  a.f = v;
  return a;
}

Attribute string_attr(const std::string& v) {
  Attribute a;
  a.kind = Attribute::Kind::kString;
  a.s = v;
  return a;
}

std::unique_ptr<Node> make_node(const std::string& op, const std::string& domain, std::vector<std::string> inputs,
                                std::vector<std::string> outputs, const std::string& name) {
  auto n = std::make_unique<Node>();
  n->op = op;
  n->domain = domain;
  n->inputs = std::move(inputs);
  n->outputs = std::move(outputs);
  n->name = name;
  return n;
}

int pass_fold(Graph& g, const PassContext&) {
  topo_sort(g);
  return infer_and_fold(g).folded;
}

int pass_dead_code(Graph& g, const PassContext&) { return remove_dead(g); }

const std::vector<Pass>& simplify_passes() {
  static const std::vector<Pass> passes = {
      {"fold", "infer dtypes and symbolic shapes, fold constants and shape arithmetic", pass_fold},
      {"fold-io-casts", "f32 inputs/outputs cast to/from f16 or bf16 at the boundary (keep_io_types) -> f16/bf16 inputs/outputs", pass_fold_io_casts},
      {"decompose-ms-ops", "rewrite com.microsoft fused ops (SkipLayerNormalization, FastGelu, ...) into standard form", pass_decompose_ms_ops},
      {"lower-gqa", "com.microsoft GroupQueryAttention (packed or separate QKV, rotary inside) and RotaryEmbedding -> Slice, tsc.Rope, tsc.Attention", pass_lower_gqa},
      {"retype", "types for the values the rewrites created", pass_fold},
      {"dequantize-tables", "DequantizeLinear of a constant table (quantized embeddings, a tied head's copy) -> the float table", pass_dequantize_tables},
      {"fuse-quantized-linear", "MatMulNBits (4-bit blocks, format=q4) and DynamicQuantizeLinear + MatMulInteger (format=i8) -> tsc.Linear(x, codes, bias, scales, zero_points): the weights stay quantized", pass_fuse_quantized_linear},
      {"fuse-linear", "MatMul/Gemm with a constant weight (+ bias Add) -> tsc.Linear on [.., in] -> [.., out]", pass_fuse_linear},
      {"div-to-reciprocal", "Div(1, x) -> Reciprocal(x) (optimum's RMSNorm writes 1/x so)", pass_div_to_reciprocal},
      {"fuse-layernorm", "LayerNormalization or its decomposition -> tsc.LayerNorm", pass_fuse_layernorm},
      {"fuse-rmsnorm", "decomposed RMSNorm (Pow/ReduceMean/Add/Sqrt/Reciprocal/Mul) -> tsc.RMSNorm", pass_fuse_rmsnorm},
      {"fuse-activation", "GELU (tanh, erf) and SiLU subgraphs, recognized by probing -> tsc.Gelu / tsc.Silu", pass_fuse_activation},
      {"fuse-head-norm", "RMSNorm over head_dim of q/k split into heads (Qwen3's q_norm/k_norm) -> tsc.HeadRMSNorm on the token-major q/k, then the head split", pass_fuse_head_norm},
      {"fuse-rope", "x*cos + rotate_half(x)*sin on q/k heads -> tsc.Rope on the token-major q/k, then the head split", pass_fuse_rope},
      {"fuse-attention", "softmax(QK^T*scale + mask)V with head reshapes, GQA repeat and KV concat -> tsc.Attention", pass_fuse_attention},
      {"unflatten-linear", "Reshape([b,s,in]->[b*s,in]) -> tsc.Linear -> Reshape(->[b,s,out]) -> tsc.Linear on [b,s,in]", pass_unflatten_linear},
      {"drop-identity", "remove Reshape/Expand/Cast/... whose output type equals the input type", pass_drop_identity},
      {"dead-code", "remove nodes and constants that no output needs", pass_dead_code},
      {"refold", "re-infer shapes after rewrites", pass_fold},
  };
  return passes;
}

}  // namespace tsc
