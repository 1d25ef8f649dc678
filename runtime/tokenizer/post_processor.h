// Post-processors from tokenizer.json ("post_processor"): the special tokens around an encoded text.
#pragma once
#include <cstdint>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace tsc::tok {

// For one sequence, what add_special_tokens puts before and after it.
struct SpecialAffixes {
  std::vector<int32_t> prefix, suffix;
};

// Supports TemplateProcessing, RobertaProcessing, BertProcessing, ByteLevel (adds nothing) and
// Sequence; null adds nothing; others are a tsc::Error naming the type.
SpecialAffixes make_post_processor(const nlohmann::json& spec);

}  // namespace tsc::tok
