// Reconciling a recovered DecoderSpec with a HF config.json found beside the model: values the graph
// determines are cross-checked (a disagreement means a stale config or a lifting bug, and is reported);
// values the graph cannot carry (max_position_embeddings under computed rotary) are taken from it.
#include <cmath>

#include <nlohmann/json.hpp>

#include "compiler/lift/lift.h"
#include "contract/dtype.h"
#include "contract/error.h"

namespace tsc {

namespace {

// First present key among names, as json.
const nlohmann::json* pick(const nlohmann::json& j, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (j.contains(n) && !j.at(n).is_null()) return &j.at(n);
  return nullptr;
}

// onnxruntime-genai's genai_config.json ({"model": {"decoder": {...}, "vocab_size", "context_length", ...}}) under HF's
// config.json names; any other JSON is returned as it is.
nlohmann::json hf_names(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object() || !j["model"].contains("decoder") || !j["model"]["decoder"].is_object()) return j;
  const nlohmann::json &m = j["model"], &d = m["decoder"];
  nlohmann::json hf = nlohmann::json::object();
  for (const char* k : {"num_hidden_layers", "hidden_size", "num_attention_heads", "num_key_value_heads"})
    if (d.contains(k)) hf[k] = d[k];
  if (d.contains("head_size")) hf["head_dim"] = d["head_size"];
  if (m.contains("context_length")) hf["max_position_embeddings"] = m["context_length"];
  for (const char* k : {"vocab_size", "bos_token_id", "eos_token_id", "pad_token_id"})
    if (m.contains(k)) hf[k] = m[k];
  if (m.contains("type")) hf["model_type"] = m["type"];
  return hf;
}

}  // namespace

std::vector<std::string> reconcile_with_config(DecoderSpec& s, const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("config.json is not valid JSON: ") + e.what(), "fix or remove the config.json beside the model");
  }
  j = hf_names(j);
  std::vector<std::string> diffs;
  auto check_int = [&](const char* key, int64_t have, std::initializer_list<const char*> names) {
    if (auto* v = pick(j, names); v && v->is_number_integer() && v->get<int64_t>() != have)
      diffs.push_back(std::string(key) + ": graph says " + std::to_string(have) + ", config.json says " + std::to_string(v->get<int64_t>()));
  };
  check_int("num_hidden_layers", s.num_hidden_layers, {"num_hidden_layers", "n_layer"});
  check_int("hidden_size", s.hidden_size, {"hidden_size", "n_embd"});
  check_int("num_attention_heads", s.num_attention_heads, {"num_attention_heads", "n_head"});
  check_int("num_key_value_heads", s.num_key_value_heads, {"num_key_value_heads"});
  check_int("head_dim", s.head_dim, {"head_dim"});
  check_int("intermediate_size", s.intermediate_size, {"intermediate_size", "n_inner"});
  check_int("vocab_size", s.vocab_size, {"vocab_size"});
  if (auto* v = pick(j, {"max_position_embeddings", "n_positions"}); v && v->is_number_integer()) {
    if (!s.max_position_embeddings) s.max_position_embeddings = v->get<int64_t>();
    else check_int("max_position_embeddings", *s.max_position_embeddings, {"max_position_embeddings", "n_positions"});
  }
  if (auto* v = pick(j, {"tie_word_embeddings"}); v && v->is_boolean() && v->get<bool>() != s.tie_word_embeddings) {
    // A tied config exported with separate copies still has equal tables; an untied one with equal tables is rare.
    diffs.push_back(std::string("tie_word_embeddings: graph says ") + (s.tie_word_embeddings ? "true" : "false") + ", config.json says " + (v->get<bool>() ? "true" : "false"));
  }
  if (auto* v = pick(j, {"rms_norm_eps", "layer_norm_epsilon", "layer_norm_eps", "norm_eps"}); v && v->is_number()) {
    double c = v->get<double>();
    // A half-precision graph adds eps as a constant of its own type (an f16 1e-5 is 1.001358e-05).
    auto near = [&](double e) { return std::fabs(e - s.norm_eps) <= 1e-6 * std::fabs(e) + 1e-12; };
    const float cf = static_cast<float>(c);
    const bool rounded = (s.weight_dtype == DType::kF16 && near(f16_to_f32(f32_to_f16(cf)))) ||
                         (s.weight_dtype == DType::kBF16 && near(bf16_to_f32(f32_to_bf16(cf))));
    if (!near(c) && !rounded)
      diffs.push_back("norm_eps: graph says " + std::to_string(s.norm_eps) + ", config.json says " + std::to_string(c));
  }
  const nlohmann::json* theta = pick(j, {"rope_theta"});
  if (!theta && j.contains("rope_parameters") && j["rope_parameters"].is_object()) theta = pick(j["rope_parameters"], {"rope_theta"});
  if (theta && theta->is_number() && s.rope_theta && std::fabs(theta->get<double>() - *s.rope_theta) > 1e-3 * theta->get<double>())
    diffs.push_back("rope_theta: graph says " + std::to_string(*s.rope_theta) + ", config.json says " + std::to_string(theta->get<double>()));
  // Gemma 2/3: soft-caps and the query scalar the graph computes with (a config's cap the graph lacks is a disagreement).
  auto check_real = [&](const char* key, const std::optional<double>& have) {
    const nlohmann::json* v = pick(j, {key});
    const bool cfg = v && v->is_number();
    if (cfg != have.has_value() || (cfg && std::fabs(v->get<double>() - *have) > 1e-5 * std::fabs(*have)))
      if (cfg || have)
        diffs.push_back(std::string(key) + ": graph says " + (have ? std::to_string(*have) : "none") + ", config.json says " + (cfg ? v->dump() : "none"));
  };
  check_real("attn_logit_softcapping", s.attn_logit_softcapping);
  check_real("final_logit_softcapping", s.final_logit_softcapping);
  if (s.query_pre_attn_scalar) check_real("query_pre_attn_scalar", s.query_pre_attn_scalar);
  // SmolLM3: no_rope_layers[l] = 1 where layer l applies the rotary, 0 where it has none.
  if (auto* v = pick(j, {"no_rope_layers"}); v && v->is_array() && s.position == PositionKind::kRope)
    for (int64_t l = 0; l < s.num_hidden_layers && l < static_cast<int64_t>(v->size()); ++l) {
      const auto& e = (*v)[static_cast<size_t>(l)];
      if (e.is_number_integer() && (e.get<int64_t>() != 0) != s.layer_rope(l)) {
        diffs.push_back("no_rope_layers: layer " + std::to_string(l) + (s.layer_rope(l) ? " has rotary in the graph, none" : " has no rotary in the graph, rotary") +
                        " in config.json");
        break;
      }
    }
  return diffs;
}

}  // namespace tsc
