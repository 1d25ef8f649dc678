// DecoderSpec validation, JSON round trip and text printing.
#include "contract/spec.h"

#include <charconv>
#include <cmath>
#include <sstream>

#include "contract/error.h"

namespace tsc {

using nlohmann::json;

namespace {
// Shortest text that reads back as the same double (json's number format).
std::string number_str(double v) { return json(v).dump(); }
}  // namespace

std::string WeightBinding::transform_str() const {
  if (ops.empty()) return "none";
  std::string s;
  for (auto& op : ops) {
    if (!s.empty()) s += ",";
    if (op.kind == WeightOp::Kind::kTranspose) s += "transpose";
    else if (op.kind == WeightOp::Kind::kScale) s += "scale(" + number_str(op.value) + ")";
    else s += "slice(" + std::to_string(op.axis) + "," + std::to_string(op.start) + "," + std::to_string(op.length) + ")";
  }
  return s;
}

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

void check_shape(const std::optional<WeightBinding>& w, std::vector<int64_t> want, const std::string& what) {
  if (!w) return;
  if (w->shape != want) {
    std::string a, b;
    for (auto d : w->shape) a += std::to_string(d) + ",";
    for (auto d : want) b += std::to_string(d) + ",";
    throw Error(what + " bound to '" + w->initializer + "' has shape [" + a + "] but the spec needs [" + b + "]",
                "this is a bug in tsc's lifting; please report it with the model");
  }
}

json binding_json(const WeightBinding& w) {
  json ops = json::array();
  for (auto& op : w.ops) {
    if (op.kind == WeightOp::Kind::kTranspose) ops.push_back({{"op", "transpose"}});
    else if (op.kind == WeightOp::Kind::kScale) ops.push_back({{"op", "scale"}, {"value", op.value}});
    else ops.push_back({{"op", "slice"}, {"axis", op.axis}, {"start", op.start}, {"length", op.length}});
  }
  json j = {{"initializer", w.initializer}, {"source_dtype", dtype_name(w.source_dtype)}, {"source_shape", w.source_shape},
            {"ops", ops}, {"shape", w.shape}};
  if (w.q4)
    j["q4"] = {{"block_size", w.q4->block_size}, {"scales", w.q4->scales}, {"zero_points", w.q4->zero_points},
               {"scale_dtype", dtype_name(w.q4->scale_dtype)}};
  if (w.i8) j["i8"] = {{"scales", w.i8->scales}, {"zero_points", w.i8->zero_points}};
  return j;
}

WeightBinding binding_from(const json& j) {
  WeightBinding w;
  w.initializer = j.at("initializer").get<std::string>();
  w.source_dtype = dtype_from_name(j.at("source_dtype").get<std::string>());
  w.source_shape = j.at("source_shape").get<std::vector<int64_t>>();
  w.shape = j.at("shape").get<std::vector<int64_t>>();
  for (auto& o : j.at("ops")) {
    WeightOp op;
    if (o.at("op") == "transpose") op.kind = WeightOp::Kind::kTranspose;
    else if (o.at("op") == "scale") {
      op.kind = WeightOp::Kind::kScale;
      op.value = o.at("value");
    } else {
      op.kind = WeightOp::Kind::kSlice;
      op.axis = o.at("axis");
      op.start = o.at("start");
      op.length = o.at("length");
    }
    w.ops.push_back(op);
  }
  if (j.contains("q4")) {
    const json& q = j.at("q4");
    w.q4 = QuantizedWeight{q.at("block_size"), q.at("scales"), q.at("zero_points"), dtype_from_name(q.at("scale_dtype").get<std::string>())};
  }
  if (j.contains("i8")) w.i8 = Int8Weight{j.at("i8").at("scales"), j.at("i8").at("zero_points")};
  return w;
}

json quantization_json(const Quantization& q) {
  return {{"format", q.format}, {"bits", q.bits}, {"block_size", q.block_size}, {"zero_points", q.zero_points},
          {"scale_dtype", dtype_name(q.scale_dtype)}, {"quantized_linears", q.quantized_linears}, {"linears", q.linears}};
}

Quantization quantization_from(const json& j) {
  return Quantization{j.at("format"), j.at("bits"), j.at("block_size"), j.at("zero_points"),
                      dtype_from_name(j.at("scale_dtype").get<std::string>()), j.at("quantized_linears"), j.at("linears")};
}

void put(json& j, const char* k, const std::optional<WeightBinding>& w) {
  if (w) j[k] = binding_json(*w);
}
void get(const json& j, const char* k, std::optional<WeightBinding>& w) {
  if (j.contains(k)) w = binding_from(j.at(k));
}

#define TSC_LAYER_FIELDS(X) \
  X(attn_norm_w) X(attn_norm_b) X(q_w) X(q_b) X(k_w) X(k_b) X(v_w) X(v_b) X(o_w) X(o_b) X(q_norm_w) X(k_norm_w) X(mlp_norm_w) X(mlp_norm_b) \
  X(up_w) X(up_b) X(gate_w) X(gate_b) X(down_w) X(down_b)

}  // namespace

void DecoderSpec::validate() const {
  auto need = [](bool ok, const std::string& what) {
    if (!ok) throw Error("recovered spec is inconsistent: " + what, "this is a bug in tsc's lifting; please report it with the model");
  };
  need(num_hidden_layers > 0 && static_cast<int64_t>(layers.size()) == num_hidden_layers, "layer count");
  need(no_rope_layers.empty() || (position == PositionKind::kRope && static_cast<int64_t>(no_rope_layers.size()) == num_hidden_layers),
       "no_rope_layers");
  need(num_attention_heads > 0 && num_key_value_heads > 0 && num_attention_heads % num_key_value_heads == 0,
       "num_attention_heads must be a multiple of num_key_value_heads");
  need(head_dim > 0, "head_dim");
  need(vocab_size > 0 && hidden_size > 0 && intermediate_size > 0, "sizes");
  if (position == PositionKind::kRope) need(rotary_dim > 0 && rotary_dim <= head_dim && rotary_dim % 2 == 0, "rotary_dim");
  const int64_t H = hidden_size, Q = num_attention_heads * head_dim, KV = num_key_value_heads * head_dim, I = intermediate_size;
  check_shape(embed_tokens, {vocab_size, H}, "embed_tokens");
  check_shape(lm_head, {vocab_size, H}, "lm_head");
  if (embed_positions) check_shape(embed_positions, {embed_positions->shape[0], H}, "embed_positions");
  for (size_t i = 0; i < layers.size(); ++i) {
    const auto& L = layers[i];
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
    need(mlp_gated == L.gate_w.has_value(), p + "gated MLP mismatch");
    need((qk_norm != QkNorm::kNone) == (L.q_norm_w && L.k_norm_w), p + "q/k norm weights mismatch");
    const bool per_head = qk_norm == QkNorm::kPerHead;
    check_shape(L.q_norm_w, {per_head ? head_dim : Q}, p + "q_norm");
    check_shape(L.k_norm_w, {per_head ? head_dim : KV}, p + "k_norm");
  }
}

json spec_to_json(const DecoderSpec& s, bool with_weights) {
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
  if (!s.no_rope_layers.empty()) j["no_rope_layers"] = s.no_rope_layers;
  // Granite's name for a scale other than 1/sqrt(head_dim); half-precision graphs round 1/sqrt(head_dim) itself
  // by up to ~1e-3 (0.3537 for 1/sqrt(8)), which is no multiplier.
  if (s.head_dim > 0 && std::fabs(s.attention_scale * std::sqrt(static_cast<double>(s.head_dim)) - 1) > 1e-2)
    j["attention_multiplier"] = s.attention_scale;
  if (!with_weights) return j;
  json w;
  w["embed_tokens"] = binding_json(s.embed_tokens);
  put(w, "embed_positions", s.embed_positions);
  put(w, "final_norm_w", s.final_norm_w);
  put(w, "final_norm_b", s.final_norm_b);
  w["lm_head"] = binding_json(s.lm_head);
  put(w, "lm_head_b", s.lm_head_b);
  json layers = json::array();
  for (auto& L : s.layers) {
    json l = json::object();
#define X(f) put(l, #f, L.f);
    TSC_LAYER_FIELDS(X)
#undef X
    layers.push_back(l);
  }
  w["layers"] = layers;
  j["weights"] = w;
  j["rope_inv_freq"] = s.rope_inv_freq;
  j["io"] = {{"input_ids", s.io.input_ids}, {"attention_mask", s.io.attention_mask}, {"position_ids", s.io.position_ids},
             {"logits", s.io.logits}, {"past_keys", s.io.past_keys}, {"past_values", s.io.past_values},
             {"present_keys", s.io.present_keys}, {"present_values", s.io.present_values}};
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
    if (j.contains("no_rope_layers")) s.no_rope_layers = j.at("no_rope_layers").get<std::vector<int64_t>>();
    std::string dt = j.at("torch_dtype");
    s.weight_dtype = dt == "float16" ? DType::kF16 : dt == "bfloat16" ? DType::kBF16 : DType::kF32;
    if (j.contains("quantization")) s.quantization = quantization_from(j.at("quantization"));
    const json& w = j.at("weights");
    s.embed_tokens = binding_from(w.at("embed_tokens"));
    get(w, "embed_positions", s.embed_positions);
    get(w, "final_norm_w", s.final_norm_w);
    get(w, "final_norm_b", s.final_norm_b);
    s.lm_head = binding_from(w.at("lm_head"));
    get(w, "lm_head_b", s.lm_head_b);
    for (auto& l : w.at("layers")) {
      LayerWeights L;
#define X(f) get(l, #f, L.f);
      TSC_LAYER_FIELDS(X)
#undef X
      s.layers.push_back(L);
    }
    s.rope_inv_freq = j.at("rope_inv_freq").get<std::vector<float>>();
    const json& io = j.at("io");
    s.io.input_ids = io.at("input_ids");
    s.io.attention_mask = io.at("attention_mask");
    s.io.position_ids = io.at("position_ids");
    s.io.logits = io.at("logits");
    s.io.past_keys = io.at("past_keys").get<std::vector<std::string>>();
    s.io.past_values = io.at("past_values").get<std::vector<std::string>>();
    s.io.present_keys = io.at("present_keys").get<std::vector<std::string>>();
    s.io.present_values = io.at("present_values").get<std::vector<std::string>>();
  } catch (const json::exception& e) {
    throw Error(std::string("malformed DecoderSpec JSON: ") + e.what(), "rebuild the executable with this version of tsc");
  }
  return s;
}

std::string spec_to_text(const DecoderSpec& s) {
  std::ostringstream o;
  json j = spec_to_json(s, false);
  o << "DecoderSpec\n";
  for (auto& [k, v] : j.items()) o << "  " << k << ": " << v.dump() << "\n";
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
  o << "weights\n";
  line("embed_tokens", s.embed_tokens);
  line("embed_positions", s.embed_positions);
  for (size_t i = 0; i < s.layers.size(); ++i) {
    const auto& L = s.layers[i];
    const std::string p = "layers." + std::to_string(i) + ".";
#define X(f) line(p + #f, L.f);
    TSC_LAYER_FIELDS(X)
#undef X
  }
  line("final_norm_w", s.final_norm_w);
  line("final_norm_b", s.final_norm_b);
  line("lm_head", s.lm_head);
  line("lm_head_b", s.lm_head_b);
  o << "io\n  input_ids: " << s.io.input_ids << "\n  logits: " << s.io.logits << "\n";
  if (!s.io.attention_mask.empty()) o << "  attention_mask: " << s.io.attention_mask << "\n";
  if (!s.io.position_ids.empty()) o << "  position_ids: " << s.io.position_ids << "\n";
  for (size_t i = 0; i < s.io.past_keys.size(); ++i)
    o << "  kv_cache." << i << ": " << s.io.past_keys[i] << ", " << s.io.past_values[i] << " -> " << s.io.present_keys[i]
      << ", " << s.io.present_values[i] << "\n";
  return o.str();
}

}  // namespace tsc
