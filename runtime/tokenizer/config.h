// tokenizer_config.json and generation_config.json: the special tokens and chat template around a tokenizer.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/tokenizer/added_vocab.h"

namespace tsc::tok {

struct TokenizerConfig {
  bool present = false;
  std::optional<std::string> bos, eos, unk, pad;  // token contents
  std::optional<bool> add_bos, add_eos;
  std::optional<bool> add_prefix_space;
  std::string chat_template;
  std::vector<AddedToken> added_tokens_decoder;  // transformers' view of added tokens, with ids
  std::vector<std::string> additional_special_tokens;
};

// Empty text gives a config with present = false. Throws tsc::Error on malformed JSON.
TokenizerConfig parse_tokenizer_config(std::string_view text);

// generation_config.json's eos_token_id (a number or a list); empty text gives none.
std::vector<int32_t> parse_generation_eos(std::string_view text);

}  // namespace tsc::tok
