// Refusing family features tsc does not implement, named from the HF config.json beside the model: sliding-window
// layers (Mistral, Gemma 2/3, Qwen2 with use_sliding_window) and rotary scalings that depend on the sequence length
// or rescale cos/sin (LongRoPE/su, YaRN, dynamic NTK). Logit soft-capping (Gemma 2) is compiled (read off the graph). Compiling such a model as a
// plain decoder would silently give other logits (a window compiled as global attention agrees with it only on
// prompts shorter than the window), so each is one clear error naming the feature, its layer and its value.
#include <nlohmann/json.hpp>

#include "compiler/lift/lift.h"
#include "contract/error.h"

namespace tsc {
namespace {

const char* kHint = "tsc does not implement this feature yet (issue 20); compile a model of the same family without it";

std::string num(const nlohmann::json& v) { return v.is_number_integer() ? std::to_string(v.get<int64_t>()) : v.dump(); }

// Layer index of the first sliding-window layer, or -1. transformers 5 lists layer kinds in `layer_types`; older
// configs say `sliding_window` (Mistral: every layer) or `use_sliding_window` + `max_window_layers` (Qwen2: layers
// from max_window_layers on).
int64_t first_sliding_layer(const nlohmann::json& j) {
  if (j.contains("layer_types") && j["layer_types"].is_array()) {
    const auto& t = j["layer_types"];
    for (size_t i = 0; i < t.size(); ++i)
      if (t[i].is_string() && t[i].get<std::string>().find("sliding") != std::string::npos) return static_cast<int64_t>(i);
    return -1;
  }
  if (j.contains("use_sliding_window") && j["use_sliding_window"].is_boolean()) {
    if (!j["use_sliding_window"].get<bool>()) return -1;
    return j.contains("max_window_layers") && j["max_window_layers"].is_number_integer() ? j["max_window_layers"].get<int64_t>() : 0;
  }
  return 0;
}

}  // namespace

void refuse_unimplemented_features(const std::string& config_text) {
  const nlohmann::json j = nlohmann::json::parse(config_text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return;  // reconcile_with_config reports a malformed config.json
  auto present = [&](const char* k) { return j.contains(k) && !j[k].is_null(); };
  // Sliding windows: a window that covers every position the model can see is global attention, and allowed.
  if (present("sliding_window") && j["sliding_window"].is_number()) {
    const int64_t layer = first_sliding_layer(j);
    const bool covers = present("max_position_embeddings") && j["max_position_embeddings"].is_number_integer() &&
                        j["sliding_window"].get<double>() >= j["max_position_embeddings"].get<double>();
    const int64_t layers = present("num_hidden_layers") && j["num_hidden_layers"].is_number_integer() ? j["num_hidden_layers"].get<int64_t>() : -1;
    if (layer >= 0 && (layers < 0 || layer < layers) && !covers)
      throw Error("layer " + std::to_string(layer) + ": sliding-window attention (sliding_window = " + num(j["sliding_window"]) +
                      " in config.json) is not implemented; tsc will not compile it as global attention", kHint);
  }
  // Rotary scaling: "default", "linear" and "llama3" only change inv_freq, which tsc reads from the graph; the others
  // switch factors with the sequence length or scale cos/sin.
  for (const char* k : {"rope_parameters", "rope_scaling"}) {
    if (!present(k) || !j[k].is_object()) continue;
    const auto& r = j[k];
    const char* tk = r.contains("rope_type") ? "rope_type" : "type";
    if (!r.contains(tk) || !r[tk].is_string()) continue;
    const std::string type = r[tk].get<std::string>();
    if (type != "default" && type != "linear" && type != "llama3")
      throw Error(std::string("rotary scaling '") + type + "' (" + k + "." + tk + " in config.json" +
                      (type == "longrope" || type == "su" ? "; Phi-3's LongRoPE" : "") + ") is not implemented", kHint);
  }
}

}  // namespace tsc
