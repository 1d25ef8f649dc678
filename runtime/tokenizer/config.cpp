// Reads the transformers-side configuration: tokens may be strings or AddedToken objects.
#include "runtime/tokenizer/config.h"

#include <nlohmann/json.hpp>

#include "contract/error.h"

namespace tsc::tok {

namespace {

using nlohmann::json;

// "bos_token": "<s>" | {"content": "<s>", ...} | null
std::optional<std::string> token_content(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("content")) return j.at("content").get<std::string>();
  return std::nullopt;
}

std::optional<std::string> token_field(const json& cfg, const char* key) {
  return cfg.contains(key) ? token_content(cfg.at(key)) : std::nullopt;
}

std::optional<bool> bool_field(const json& cfg, const char* key) {
  if (!cfg.contains(key) || !cfg.at(key).is_boolean()) return std::nullopt;
  return cfg.at(key).get<bool>();
}

json parse(std::string_view text, const char* file) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw Error(std::string(file) + " is not valid JSON: " + e.what(), "check that the file is complete and not corrupted");
  }
}

}  // namespace

TokenizerConfig parse_tokenizer_config(std::string_view text) {
  TokenizerConfig c;
  if (text.empty()) return c;
  json cfg = parse(text, "tokenizer_config.json");
  try {
    if (!cfg.is_object()) throw Error("tokenizer_config.json: expected a JSON object");
    c.present = true;
    c.bos = token_field(cfg, "bos_token");
    c.eos = token_field(cfg, "eos_token");
    c.unk = token_field(cfg, "unk_token");
    c.pad = token_field(cfg, "pad_token");
    c.add_bos = bool_field(cfg, "add_bos_token");
    c.add_eos = bool_field(cfg, "add_eos_token");
    c.add_prefix_space = bool_field(cfg, "add_prefix_space");
    if (cfg.contains("chat_template")) {
      const json& t = cfg.at("chat_template");
      if (t.is_string()) {
        c.chat_template = t.get<std::string>();
      } else if (t.is_array()) {
        // Named templates: [{"name": "default", "template": ...}, {"name": "tool_use", ...}]
        for (const json& e : t)
          if (c.chat_template.empty() || e.value("name", std::string()) == "default")
            c.chat_template = e.at("template").get<std::string>();
      }
    }
    if (cfg.contains("added_tokens_decoder") && cfg.at("added_tokens_decoder").is_object()) {
      for (const auto& [id, t] : cfg.at("added_tokens_decoder").items()) {
        AddedToken a;
        a.id = std::stoi(id);
        if (a.id < 0 || a.id >= (1 << 24))
          throw Error("tokenizer_config.json: added_tokens_decoder id " + id + " is out of range");
        a.content = t.at("content").get<std::string>();
        a.special = t.value("special", false);
        a.lstrip = t.value("lstrip", false);
        a.rstrip = t.value("rstrip", false);
        a.normalized = t.value("normalized", !a.special);
        a.single_word = t.value("single_word", false);
        c.added_tokens_decoder.push_back(a);
      }
    }
    if (cfg.contains("additional_special_tokens") && cfg.at("additional_special_tokens").is_array())
      for (const json& t : cfg.at("additional_special_tokens"))
        if (auto s = token_content(t)) c.additional_special_tokens.push_back(*s);
  } catch (const json::exception& e) {
    throw Error(std::string("tokenizer_config.json is malformed: ") + e.what(),
                "compare it with the tokenizer_config.json of the model's HF repository");
  } catch (const std::logic_error& e) {  // std::stoi on a non-numeric added_tokens_decoder key
    throw Error(std::string("tokenizer_config.json: added_tokens_decoder keys must be ids: ") + e.what());
  }
  return c;
}

std::vector<int32_t> parse_generation_eos(std::string_view text) {
  if (text.empty()) return {};
  json cfg = parse(text, "generation_config.json");
  if (!cfg.is_object() || !cfg.contains("eos_token_id")) return {};
  const json& e = cfg.at("eos_token_id");
  std::vector<int32_t> out;
  if (e.is_number_integer()) out.push_back(e.get<int32_t>());
  if (e.is_array())
    for (const json& x : e)
      if (x.is_number_integer()) out.push_back(x.get<int32_t>());
  return out;
}

}  // namespace tsc::tok
