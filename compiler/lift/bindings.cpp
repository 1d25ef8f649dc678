// LiftResult: checking the bindings against the spec, and printing them (tsc --emit=spec).
#include "compiler/lift/bindings.h"

#include <sstream>

#include <nlohmann/json.hpp>

#include "contract/error.h"

namespace tsc {

std::string WeightBinding::transform_str() const {
  if (ops.empty()) return "none";
  std::string s;
  for (auto& op : ops) {
    if (!s.empty()) s += ",";
    if (op.kind == WeightOp::Kind::kTranspose) s += "transpose";
    else if (op.kind == WeightOp::Kind::kScale) s += "scale(" + nlohmann::json(op.value).dump() + ")";  // shortest round-trip text
    else s += "slice(" + std::to_string(op.axis) + "," + std::to_string(op.start) + "," + std::to_string(op.length) + ")";
  }
  return s;
}

namespace {

const char* kLiftBug = "this is a bug in tsc's lifting; please report it with the model";

const WeightBinding* ptr(const std::optional<WeightBinding>& w) { return w ? &*w : nullptr; }
const WeightBinding* ptr(const WeightBinding& w) { return &w; }

[[noreturn]] void no_field(const std::string& field) {
  throw Error("payload tensor part '" + field + "' names no binding", "contract/payload_tensors.h's parts must be fields of compiler/lift/bindings.h");
}

void check_shape(const std::optional<WeightBinding>& w, std::vector<int64_t> want, const std::string& what) {
  if (!w) return;
  if (w->shape != want) {
    std::string a, b;
    for (auto d : w->shape) a += std::to_string(d) + ",";
    for (auto d : want) b += std::to_string(d) + ",";
    throw Error(what + " bound to '" + w->initializer + "' has shape [" + a + "] but the spec needs [" + b + "]", kLiftBug);
  }
}

}  // namespace

const WeightBinding* LayerWeights::find(const std::string& field) const {
#define TSC_X(f) if (field == #f) return ptr(f);
  TSC_LAYER_BINDINGS(TSC_X)
#undef TSC_X
  no_field(field);
}

const WeightBinding* ModelBindings::find(const std::string& field) const {
#define TSC_X(f) if (field == #f) return ptr(f);
  TSC_X(embed_tokens) TSC_X(embed_positions) TSC_X(final_norm_w) TSC_X(final_norm_b) TSC_X(lm_head) TSC_X(lm_head_b)
#undef TSC_X
  no_field(field);
}

void LiftResult::validate() const {
  const DecoderSpec& s = spec;
  const ModelBindings& b = weights;
  auto need = [](bool ok, const std::string& what) {
    if (!ok) throw Error("recovered spec is inconsistent: " + what, kLiftBug);
  };
  need(static_cast<int64_t>(b.layers.size()) == s.num_hidden_layers, "layer count");
  s.validate();
  const int64_t H = s.hidden_size, Q = s.num_attention_heads * s.head_dim, KV = s.num_key_value_heads * s.head_dim, I = s.intermediate_size;
  check_shape(b.embed_tokens, {s.vocab_size, H}, "embed_tokens");
  check_shape(b.lm_head, {s.vocab_size, H}, "lm_head");
  if (b.embed_positions) check_shape(b.embed_positions, {b.embed_positions->shape[0], H}, "embed_positions");
  for (size_t i = 0; i < b.layers.size(); ++i) {
    const auto& L = b.layers[i];
    const std::string p = "layer " + std::to_string(i) + " ";
    need(L.q_w && L.k_w && L.v_w && L.o_w && L.up_w && L.down_w && L.attn_norm_w && L.mlp_norm_w, p + "is missing a weight");
    check_shape(L.q_w, {Q, H}, p + "q_proj");
    check_shape(L.k_w, {KV, H}, p + "k_proj");
    check_shape(L.v_w, {KV, H}, p + "v_proj");
    check_shape(L.o_w, {H, Q}, p + "o_proj");
    check_shape(L.q_b, {Q}, p + "q bias");
    check_shape(L.k_b, {KV}, p + "k bias");
    check_shape(L.v_b, {KV}, p + "v bias");
    check_shape(L.o_b, {H}, p + "o bias");
    check_shape(L.up_w, {I, H}, p + "up_proj");
    check_shape(L.gate_w, {I, H}, p + "gate_proj");
    check_shape(L.down_w, {H, I}, p + "down_proj");
    check_shape(L.up_b, {I}, p + "up bias");
    check_shape(L.gate_b, {I}, p + "gate bias");
    check_shape(L.down_b, {H}, p + "down bias");
    check_shape(L.attn_norm_w, {H}, p + "attention norm");
    check_shape(L.mlp_norm_w, {H}, p + "mlp norm");
    need(s.sandwich_norm == (L.post_attn_norm_w && L.post_mlp_norm_w), p + "post-norm weights of a sandwich-normed block mismatch");
    check_shape(L.post_attn_norm_w, {H}, p + "post-attention norm");
    check_shape(L.post_mlp_norm_w, {H}, p + "post-feedforward norm");
    need(s.mlp_gated == L.gate_w.has_value(), p + "gated MLP mismatch");
    need((s.qk_norm != QkNorm::kNone) == (L.q_norm_w && L.k_norm_w), p + "q/k norm weights mismatch");
    const bool per_head = s.qk_norm == QkNorm::kPerHead;
    check_shape(L.q_norm_w, {per_head ? s.head_dim : Q}, p + "q_norm");
    check_shape(L.k_norm_w, {per_head ? s.head_dim : KV}, p + "k_norm");
  }
}

std::string lift_result_to_text(const LiftResult& r) {
  std::ostringstream o;
  o << spec_to_text(r.spec);
  auto line = [&](const std::string& name, const std::optional<WeightBinding>& w) {
    if (!w) return;
    o << "  " << name << ": $" << w->initializer << " " << tensor_type_str(w->source_dtype, w->source_shape) << " -> "
      << w->transform_str() << " -> [";
    for (size_t i = 0; i < w->shape.size(); ++i) o << (i ? "," : "") << w->shape[i];
    o << "]";
    if (w->q4)
      o << " int4 block " << w->q4->block_size << " scales $" << w->q4->scales
        << (w->q4->zero_points.empty() ? std::string(" symmetric") : " zero_points $" + w->q4->zero_points);
    if (w->i8)
      o << " " << dtype_name(w->source_dtype) << " scales $" << w->i8->scales
        << (w->i8->zero_points.empty() ? std::string(" symmetric") : " zero_points $" + w->i8->zero_points);
    o << "\n";
  };
  const ModelBindings& b = r.weights;
  o << "weights\n";
  line("embed_tokens", b.embed_tokens);
  line("embed_positions", b.embed_positions);
  for (size_t i = 0; i < b.layers.size(); ++i) {
    const auto& L = b.layers[i];
    const std::string p = "layers." + std::to_string(i) + ".";
#define X(f) line(p + #f, L.f);
    TSC_LAYER_BINDINGS(X)
#undef X
  }
  line("final_norm_w", b.final_norm_w);
  line("final_norm_b", b.final_norm_b);
  line("lm_head", b.lm_head);
  line("lm_head_b", b.lm_head_b);
  const ModelIO& io = r.io;
  o << "io\n  input_ids: " << io.input_ids << "\n  logits: " << io.logits << "\n";
  if (!io.attention_mask.empty()) o << "  attention_mask: " << io.attention_mask << "\n";
  if (!io.position_ids.empty()) o << "  position_ids: " << io.position_ids << "\n";
  for (size_t i = 0; i < io.past_keys.size(); ++i)
    o << "  kv_cache." << i << ": " << io.past_keys[i] << ", " << io.past_values[i] << " -> " << io.present_keys[i] << ", "
      << io.present_values[i] << "\n";
  return o.str();
}

}  // namespace tsc
