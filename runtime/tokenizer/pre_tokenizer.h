// Pre-tokenizers from tokenizer.json ("pre_tokenizer"): split normalized text into words for BPE.
#pragma once
#include <memory>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "runtime/tokenizer/split.h"

namespace tsc::tok {

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Splits (and may rewrite) every piece without an id; pieces with an id stay as they are.
  virtual void pre_tokenize(std::vector<Piece>& pieces) const = 0;
};

// Null JSON gives null. Supports Sequence, ByteLevel, Split, Digits, Metaspace, Whitespace,
// WhitespaceSplit, Punctuation; anything else is a tsc::Error naming the type.
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& spec);

}  // namespace tsc::tok
