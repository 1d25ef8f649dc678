// Shared helpers for tokenizer tests: locating test data and rebuilding the reference tokenizers.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/tokenizer/tokenizer.h"

namespace tsc::test {

std::string shared_data(const std::string& rel);  // path under TSC_SHARED_DATA_DIR
std::string read_file(const std::string& path);   // whole file; fails the test if missing

// One reference file: its header (how the tokenizer is built) and its cases.
struct Reference {
  std::string variant;
  nlohmann::json header;
  std::vector<nlohmann::json> cases;
};
std::vector<std::string> reference_variants();  // file stems under data/, e.g. "gpt2", "llama"
Reference load_reference(const std::string& variant);

// The files of the tokenizer a reference header describes (same recipe as test/gen/tokenizer_ref.py).
TokenizerFiles files_for(const nlohmann::json& header);

// Cached: the GPT-2 files-based tokenizer and the shipped Llama-family one.
const Tokenizer& gpt2();
const Tokenizer& llama();

bool valid_utf8(const std::string& s);

// What a build without ICU says when it refuses a component (see tok::needs_icu).
inline constexpr const char* kNeedsIcu = "needs a tsc built with ICU";

}  // namespace tsc::test
