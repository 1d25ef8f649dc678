// Options of SentencePiece's Metaspace ("▁" for spaces), shared by its pre-tokenizer and decoder.
#pragma once
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace tsc::tok {

// always: prepend "▁" to every piece; first: only to the piece at the start of the input; never.
enum class PrependScheme { Always, First, Never };

struct MetaspaceOptions {
  std::string replacement = "\xE2\x96\x81";  // U+2581 "▁"
  PrependScheme prepend = PrependScheme::Always;
  bool split = true;
};

// Reads both the current (prepend_scheme) and the legacy (add_prefix_space) forms.
MetaspaceOptions parse_metaspace(const nlohmann::json& spec);

}  // namespace tsc::tok
