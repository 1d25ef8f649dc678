// DecoderSpec validation, JSON round trip (the payload's "spec" record) and text printing.
#include "contract/spec.h"

#include <charconv>
#include <cmath>
#include <sstream>

#include "contract/error.h"

namespace tsc {

using nlohmann::json;

std::string norm_name(NormKind k) { return k == NormKind::kLayerNorm ? "layernorm" : "rmsnorm"; }
std::string activation_name(Activation a) {
  switch (a) {
    case Activation::kGeluTanh: return "gelu_tanh";
    case Activation::kGelu: return "gelu";
    case Activation::kSilu: return "silu";
  }
  return "?";
}
std::string position_name(PositionKind p) { return p == PositionKind::kLearned ? "learned" : "rope"; }
std::string qk_norm_name(QkNorm q) { return q == QkNorm::kPerHead ? "per_head" : q == QkNorm::kAllHeads ? "all_heads" : "none"; }

double round_to_float32_repr(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, static_cast<float>(v));
  return std::strtod(std::string(buf, r.ptr).c_str(), nullptr);
}

namespace {

json quantization_json(const Quantization& q) {
  json j = {{"format", q.format}, {"bits", q.bits}, {"block_size", q.block_size}, {"zero_points", q.zero_points},
            {"scale_dtype", dtype_name(q.scale_dtype)}, {"quantized_linears", q.quantized_linears}, {"linears", q.linears}};
  if (q.quantized_by != "file") j["quantized_by"] = q.quantized_by;  // files' own quantization reads as before
  if (q.tied_head) j["tied_head"] = "int4";
  return j;
}

Quantization quantization_from(const json& j) {
  return Quantization{j.at("format"), j.at("bits"), j.at("block_size"), j.at("zero_points"),
                      dtype_from_name(j.at("scale_dtype").get<std::string>()), j.at("quantized_linears"), j.at("linears"),
                      j.value("quantized_by", std::string("file")), j.contains("tied_head")};
}

}  // namespace

void DecoderSpec::validate() const {
  auto need = [](bool ok, const std::string& what) {
    if (!ok) throw Error("recovered spec is inconsistent: " + what, "this is a bug in tsc's lifting; please report it with the model");
  };
  need(num_hidden_layers > 0, "layer count");
  need(no_rope_layers.empty() || (position == PositionKind::kRope && static_cast<int64_t>(no_rope_layers.size()) == num_hidden_layers),
       "no_rope_layers");
  need(num_attention_heads > 0 && num_key_value_heads > 0 && num_attention_heads % num_key_value_heads == 0,
       "num_attention_heads must be a multiple of num_key_value_heads");
  need(head_dim > 0, "head_dim");
  need(vocab_size > 0 && hidden_size > 0 && intermediate_size > 0, "sizes");
  if (position == PositionKind::kRope) need(rotary_dim > 0 && rotary_dim <= head_dim && rotary_dim % 2 == 0, "rotary_dim");
}

json spec_to_json(const DecoderSpec& s) {
  json j;
  j["num_hidden_layers"] = s.num_hidden_layers;
  j["hidden_size"] = s.hidden_size;
  j["num_attention_heads"] = s.num_attention_heads;
  j["num_key_value_heads"] = s.num_key_value_heads;
  j["head_dim"] = s.head_dim;
  j["intermediate_size"] = s.intermediate_size;
  j["vocab_size"] = s.vocab_size;
  j["max_position_embeddings"] = s.max_position_embeddings ? json(*s.max_position_embeddings) : json(nullptr);
  j["rope_theta"] = s.rope_theta ? json(*s.rope_theta) : json(nullptr);
  j["tie_word_embeddings"] = s.tie_word_embeddings;
  j["norm"] = norm_name(s.norm);
  j["norm_eps"] = s.norm_eps;
  j["activation"] = activation_name(s.activation);
  j["mlp_gated"] = s.mlp_gated;
  j["position"] = position_name(s.position);
  j["rotary_dim"] = s.position == PositionKind::kRope ? json(s.rotary_dim) : json(nullptr);
  j["rope_interleaved"] = s.rope_interleaved;
  j["attention_bias"] = s.attention_bias;
  j["mlp_bias"] = s.mlp_bias;
  j["lm_head_bias"] = s.lm_head_bias;
  j["attention_scale"] = s.attention_scale;
  j["torch_dtype"] = s.weight_dtype == DType::kF16 ? "float16" : s.weight_dtype == DType::kBF16 ? "bfloat16" : "float32";
  if (s.quantization) j["quantization"] = quantization_json(*s.quantization);
  // Family features: only when present, so that a Llama or GPT-2 spec reads as before.
  if (s.embedding_multiplier) j["embedding_multiplier"] = *s.embedding_multiplier;
  if (s.residual_multiplier) j["residual_multiplier"] = *s.residual_multiplier;
  if (s.logits_scaling) j["logits_scaling"] = *s.logits_scaling;
  if (s.rope_scaling_factor) j["rope_scaling_factor"] = *s.rope_scaling_factor;
  if (s.qk_norm != QkNorm::kNone) j["qk_norm"] = qk_norm_name(s.qk_norm);
  if (s.post_norm) j["post_norm"] = true;
  if (s.sandwich_norm) j["sandwich_norm"] = true;
  if (s.attn_logit_softcapping) j["attn_logit_softcapping"] = *s.attn_logit_softcapping;
  if (s.final_logit_softcapping) j["final_logit_softcapping"] = *s.final_logit_softcapping;
  if (s.query_pre_attn_scalar) j["query_pre_attn_scalar"] = *s.query_pre_attn_scalar;
  if (!s.no_rope_layers.empty()) j["no_rope_layers"] = s.no_rope_layers;
  // Granite's name for a scale other than 1/sqrt(head_dim); half-precision graphs round 1/sqrt(head_dim) itself
  // by up to ~1e-3 (0.3537 for 1/sqrt(8)), which is no multiplier.
  if (s.head_dim > 0 && std::fabs(s.attention_scale * std::sqrt(static_cast<double>(s.head_dim)) - 1) > 1e-2 && !s.query_pre_attn_scalar)
    j["attention_multiplier"] = s.attention_scale;
  return j;
}

DecoderSpec spec_from_json(const json& j) {
  DecoderSpec s;
  try {
    s.num_hidden_layers = j.at("num_hidden_layers");
    s.hidden_size = j.at("hidden_size");
    s.num_attention_heads = j.at("num_attention_heads");
    s.num_key_value_heads = j.at("num_key_value_heads");
    s.head_dim = j.at("head_dim");
    s.intermediate_size = j.at("intermediate_size");
    s.vocab_size = j.at("vocab_size");
    if (!j.at("max_position_embeddings").is_null()) s.max_position_embeddings = j.at("max_position_embeddings").get<int64_t>();
    if (!j.at("rope_theta").is_null()) s.rope_theta = j.at("rope_theta").get<double>();
    s.tie_word_embeddings = j.at("tie_word_embeddings");
    s.norm = j.at("norm") == "rmsnorm" ? NormKind::kRMSNorm : NormKind::kLayerNorm;
    s.norm_eps = j.at("norm_eps");
    std::string act = j.at("activation");
    s.activation = act == "silu" ? Activation::kSilu : act == "gelu" ? Activation::kGelu : Activation::kGeluTanh;
    s.mlp_gated = j.at("mlp_gated");
    s.position = j.at("position") == "rope" ? PositionKind::kRope : PositionKind::kLearned;
    if (!j.at("rotary_dim").is_null()) s.rotary_dim = j.at("rotary_dim");
    s.rope_interleaved = j.at("rope_interleaved");
    s.attention_bias = j.at("attention_bias");
    s.mlp_bias = j.at("mlp_bias");
    s.lm_head_bias = j.at("lm_head_bias");
    s.attention_scale = j.at("attention_scale");
    if (j.contains("embedding_multiplier")) s.embedding_multiplier = j.at("embedding_multiplier").get<double>();
    if (j.contains("residual_multiplier")) s.residual_multiplier = j.at("residual_multiplier").get<double>();
    if (j.contains("logits_scaling")) s.logits_scaling = j.at("logits_scaling").get<double>();
    if (j.contains("rope_scaling_factor")) s.rope_scaling_factor = j.at("rope_scaling_factor").get<double>();
    if (j.contains("qk_norm")) {
      const json& q = j.at("qk_norm");
      if (q != "per_head" && q != "all_heads") throw Error("malformed DecoderSpec JSON: qk_norm " + q.dump(), "rebuild the executable with this version of tsc");
      s.qk_norm = q == "per_head" ? QkNorm::kPerHead : QkNorm::kAllHeads;
    }
    if (j.contains("post_norm")) s.post_norm = j.at("post_norm").get<bool>();
    if (j.contains("sandwich_norm")) s.sandwich_norm = j.at("sandwich_norm").get<bool>();
    if (j.contains("attn_logit_softcapping")) s.attn_logit_softcapping = j.at("attn_logit_softcapping").get<double>();
    if (j.contains("final_logit_softcapping")) s.final_logit_softcapping = j.at("final_logit_softcapping").get<double>();
    if (j.contains("query_pre_attn_scalar")) s.query_pre_attn_scalar = j.at("query_pre_attn_scalar").get<double>();
    if (j.contains("no_rope_layers")) s.no_rope_layers = j.at("no_rope_layers").get<std::vector<int64_t>>();
    std::string dt = j.at("torch_dtype");
    s.weight_dtype = dt == "float16" ? DType::kF16 : dt == "bfloat16" ? DType::kBF16 : DType::kF32;
    if (j.contains("quantization")) s.quantization = quantization_from(j.at("quantization"));
  } catch (const json::exception& e) {
    throw Error(std::string("malformed DecoderSpec JSON: ") + e.what(), "rebuild the executable with this version of tsc");
  }
  return s;
}

std::string spec_to_text(const DecoderSpec& s) {
  std::ostringstream o;
  json j = spec_to_json(s);
  o << "DecoderSpec\n";
  for (auto& [k, v] : j.items()) o << "  " << k << ": " << v.dump() << "\n";
  return o.str();
}

}  // namespace tsc
