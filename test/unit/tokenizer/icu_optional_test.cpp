// What a build without ICU refuses (clearly, at load time) and what it must run the same as an ICU build.
#include <gtest/gtest.h>

#include "contract/error.h"
#include "runtime/tokenizer/regex.h"
#include "runtime/tokenizer/tokenizer.h"
#include "runtime/tokenizer/unicode.h"
#include "test_support.h"

namespace tsc::test {
namespace {

using nlohmann::json;

// GPT-2's vocabulary as tokenizer.json, with the given top-level overrides.
TokenizerFiles gpt2_json(const json& override_keys) {
  json header = {{"base", "gpt2-json"}, {"override", override_keys}};
  return files_for(header);
}

json byte_level(bool use_regex) {
  return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", use_regex}};
}

// Loading either succeeds, or (only without ICU) fails saying that it needs ICU.
void expect_loads_or_needs_icu(const TokenizerFiles& f, const std::string& what) {
  if (tok::built_with_icu()) {
    EXPECT_NO_THROW(Tokenizer::load(f)) << what;
    return;
  }
  try {
    Tokenizer::load(f);
    ADD_FAILURE() << what << ": loaded without ICU";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(kNeedsIcu), std::string::npos) << what << ": " << e.what();
    EXPECT_NE(e.hint().find("TSC_WITH_ICU"), std::string::npos) << what << ": " << e.hint();
  }
}

TEST(IcuOptional, ReferenceVariantsNeedingIcu) {
  std::vector<std::string> refused;
  for (const std::string& v : reference_variants()) {
    try {
      Tokenizer::load(files_for(load_reference(v).header));
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(kNeedsIcu), std::string::npos) << v << ": " << e.what();
      refused.push_back(v);
    }
  }
  // GPT-2, SmolLM2-style and both Llama/Mistral SentencePiece styles never need ICU.
  if (tok::built_with_icu())
    EXPECT_EQ(refused, std::vector<std::string>{});
  else
    EXPECT_EQ(refused, (std::vector<std::string>{"llama3_style", "prefix_nfkc"}));
}

TEST(IcuOptional, ComponentsNeedingIcu) {
  for (const char* form : {"NFC", "NFD", "NFKC", "NFKD", "Lowercase"})
    expect_loads_or_needs_icu(gpt2_json({{"normalizer", {{"type", form}}}}), form);
  expect_loads_or_needs_icu(
      gpt2_json({{"normalizer", {{"type", "Sequence"}, {"normalizers", json::array({{{"type", "NFKC"}}})}}}}),
      "NFKC in a Sequence");
  expect_loads_or_needs_icu(
      gpt2_json({{"pre_tokenizer", {{"type", "Split"}, {"pattern", {{"Regex", R"(\p{N}{1,3})"}}},
                                    {"behavior", "Isolated"}, {"invert", false}}}}),
      "Split with a regex");
  expect_loads_or_needs_icu(
      gpt2_json({{"normalizer", {{"type", "Replace"}, {"pattern", {{"Regex", " {2,}"}}}, {"content", " "}}}}),
      "Replace with a regex");
  expect_loads_or_needs_icu(
      gpt2_json({{"decoder", {{"type", "Replace"}, {"pattern", {{"Regex", "a+"}}}, {"content", "a"}}}}),
      "Replace decoder with a regex");
}

TEST(IcuOptional, ComponentsWithoutIcu) {
  const std::string text = "Hello  world's 1234 caf\xC3\xA9 e\xCC\x81 \xE2\x91\xA0 \xE2\x80\x94 x";
  // GPT-2's pattern as a Split (how newer exports write it) is the scanner, equal to ByteLevel's own.
  auto plain = Tokenizer::load(gpt2_json({{"pre_tokenizer", byte_level(true)}}));
  auto split = Tokenizer::load(gpt2_json(
      {{"pre_tokenizer",
        {{"type", "Sequence"},
         {"pretokenizers", json::array({{{"type", "Split"}, {"pattern", {{"Regex", std::string(tok::kGpt2Pattern)}}},
                                         {"behavior", "Isolated"}, {"invert", false}},
                                        byte_level(false)})}}}}));
  EXPECT_EQ(split->encode(text), plain->encode(text));
  EXPECT_EQ(plain->encode(text), gpt2().encode(text));
  for (json pre : {json{{"type", "Whitespace"}}, json{{"type", "WhitespaceSplit"}},
                   json{{"type", "Digits"}, {"individual_digits", true}}, json{{"type", "Punctuation"}},
                   json{{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}, {"prepend_scheme", "always"}}}) {
    json seq = {{"type", "Sequence"}, {"pretokenizers", json::array({pre, byte_level(false)})}};
    auto t = Tokenizer::load(gpt2_json({{"pre_tokenizer", seq}}));
    EXPECT_FALSE(t->encode(text).empty()) << pre.dump();
  }
  json norms = json::array({{{"type", "Prepend"}, {"prepend", "_"}},
                            {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "_"}},
                            {{"type", "Replace"}, {"pattern", {{"Regex", "\xE2\x80\x94"}}}, {"content", "-"}},
                            {{"type", "Strip"}, {"strip_left", true}, {"strip_right", true}},
                            {{"type", "StripAccents"}}});
  auto t = Tokenizer::load(
      gpt2_json({{"normalizer", {{"type", "Sequence"}, {"normalizers", norms}}}, {"pre_tokenizer", byte_level(true)},
                 {"decoder", byte_level(true)}}));
  EXPECT_EQ(t->decode(t->encode(text)), "_Hello__world's_1234_caf\xC3\xA9_e_\xE2\x91\xA0_-_x");
}

}  // namespace
}  // namespace tsc::test
