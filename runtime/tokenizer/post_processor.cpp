// Reduces a post-processor to the ids it adds around a single sequence (pairs are not served).
#include "runtime/tokenizer/post_processor.h"

#include <nlohmann/json.hpp>

#include "contract/error.h"
#include "runtime/tokenizer/json_util.h"

namespace tsc::tok {

namespace {

using nlohmann::json;

SpecialAffixes from_template(const json& spec) {
  SpecialAffixes out;
  bool seen_sequence = false;
  const json& specials = spec.at("special_tokens");
  json single = spec.at("single");
  // HF also accepts the template as a string ("<s> $A"); items are then "$A", "$A:0", "<s>:0"...
  if (single.is_string()) {
    json items = json::array();
    std::string s = single.get<std::string>();
    for (size_t b = 0; b < s.size();) {
      size_t e = s.find(' ', b);
      if (e == std::string::npos) e = s.size();
      std::string item = s.substr(b, e - b);
      b = e + 1;
      if (item.empty()) continue;
      // "name:type_id" when what follows the last ':' is a number.
      std::string name = item;
      size_t colon = item.rfind(':');
      if (colon != std::string::npos && colon + 1 < item.size() &&
          item.find_first_not_of("0123456789", colon + 1) == std::string::npos)
        name = item.substr(0, colon);
      if (!name.empty() && name[0] == '$')
        items.push_back({{"Sequence", {{"id", "A"}}}});
      else
        items.push_back({{"SpecialToken", {{"id", name}}}});
    }
    single = items;
  }
  for (const json& item : single) {
    if (item.contains("Sequence")) {
      seen_sequence = true;
      continue;
    }
    const std::string name = item.at("SpecialToken").at("id").get<std::string>();
    if (!specials.contains(name))
      throw Error("tokenizer.json: TemplateProcessing uses special token '" + name + "' but does not define it",
                  "add it to post_processor.special_tokens");
    auto ids = specials.at(name).at("ids").get<std::vector<int32_t>>();
    auto& dst = seen_sequence ? out.suffix : out.prefix;
    dst.insert(dst.end(), ids.begin(), ids.end());
  }
  return out;
}

// RobertaProcessing and BertProcessing: "cls": [token, id] before, "sep": [token, id] after.
SpecialAffixes from_cls_sep(const json& spec) {
  return {{spec.at("cls").at(1).get<int32_t>()}, {spec.at("sep").at(1).get<int32_t>()}};
}

}  // namespace

SpecialAffixes make_post_processor(const json& spec) {
  if (spec.is_null()) return {};
  const std::string type = type_of(spec, "post_processor");
  if (type == "ByteLevel") return {};
  if (type == "TemplateProcessing") return from_template(spec);
  if (type == "RobertaProcessing" || type == "BertProcessing") return from_cls_sep(spec);
  if (type == "Sequence") {
    // Each processor wraps what the previous one produced.
    SpecialAffixes out;
    for (const json& p : spec.at("processors")) {
      SpecialAffixes a = make_post_processor(p);
      out.prefix.insert(out.prefix.begin(), a.prefix.begin(), a.prefix.end());
      out.suffix.insert(out.suffix.end(), a.suffix.begin(), a.suffix.end());
    }
    return out;
  }
  throw unsupported("post_processor", type, "TemplateProcessing, RobertaProcessing, BertProcessing, ByteLevel, Sequence");
}

}  // namespace tsc::tok
