// tokenizer.json component helpers: type lookup and the "unsupported" error.
#include "runtime/tokenizer/json_util.h"

#include <nlohmann/json.hpp>

#include "runtime/tokenizer/regex.h"

namespace tsc::tok {

std::string type_of(const nlohmann::json& spec, const char* what) {
  if (!spec.is_object() || !spec.contains("type") || !spec.at("type").is_string())
    throw Error(std::string("tokenizer.json: ") + what + " " + spec.dump().substr(0, 200) + " has no \"type\"",
                "the file may be damaged or written by an unknown tool; re-export it with HF tokenizers");
  return spec.at("type").get<std::string>();
}

Error unsupported(const char* what, const std::string& type, const char* supported) {
  return Error(std::string("tokenizer.json: ") + what + " type '" + type + "' is not supported",
               std::string("supported ") + what + " types: " + supported);
}

Regex make_pattern(const nlohmann::json& pattern) {
  if (pattern.is_object() && pattern.contains("String")) return Regex::literal(pattern.at("String").get<std::string>());
  if (pattern.is_object() && pattern.contains("Regex")) return Regex::pattern(pattern.at("Regex").get<std::string>());
  throw Error("tokenizer.json: pattern " + pattern.dump().substr(0, 200) + " is neither {\"String\": ...} nor {\"Regex\": ...}");
}

}  // namespace tsc::tok
