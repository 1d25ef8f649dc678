// Metaspace options from JSON, with HF's rule that add_prefix_space=false means prepend_scheme never.
#include "runtime/tokenizer/metaspace.h"

#include <nlohmann/json.hpp>

#include "contract/error.h"
#include "runtime/tokenizer/utf8.h"

namespace tsc::tok {

MetaspaceOptions parse_metaspace(const nlohmann::json& spec) {
  MetaspaceOptions o;
  o.replacement = spec.at("replacement").get<std::string>();
  size_t i = 0;
  if (o.replacement.empty() || (next_code_point(o.replacement, i), i != o.replacement.size()))
    throw Error("tokenizer.json: Metaspace replacement '" + o.replacement + "' must be one character");
  std::string scheme = spec.value("prepend_scheme", std::string("always"));
  if (scheme == "always")
    o.prepend = PrependScheme::Always;
  else if (scheme == "first")
    o.prepend = PrependScheme::First;
  else if (scheme == "never")
    o.prepend = PrependScheme::Never;
  else
    throw Error("tokenizer.json: unknown Metaspace prepend_scheme '" + scheme + "'", "expected always, first or never");
  if (spec.contains("add_prefix_space") && spec.at("add_prefix_space").is_boolean() &&
      !spec.at("add_prefix_space").get<bool>())
    o.prepend = PrependScheme::Never;
  o.split = spec.value("split", true);
  return o;
}

}  // namespace tsc::tok
