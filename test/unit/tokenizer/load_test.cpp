// Loading: accessors of the shipped tokenizers, and a tsc::Error (never a crash) for bad files.
#include <gtest/gtest.h>

#include "contract/error.h"
#include "runtime/tokenizer/tokenizer.h"
#include "test_support.h"

namespace tsc::test {
namespace {

using nlohmann::json;

TEST(TokenizerLoad, Gpt2FilesAccessors) {
  const Tokenizer& t = gpt2();
  EXPECT_EQ(t.kind(), "byte-level-bpe");
  EXPECT_EQ(t.vocab_size(), 50257);
  EXPECT_EQ(t.token_to_id("<|endoftext|>"), 50256);
  EXPECT_EQ(t.token_to_id("Hello"), 15496);
  EXPECT_EQ(t.id_to_token(15496), "Hello");
  EXPECT_EQ(t.id_to_token(1 << 20), "");
  EXPECT_EQ(t.eos_id(), 50256);
  EXPECT_EQ(t.bos_id(), 50256);
  EXPECT_EQ(t.eos_ids(), std::vector<int32_t>{50256});
  EXPECT_TRUE(t.is_special(50256));
  EXPECT_FALSE(t.is_special(15496));
  EXPECT_EQ(t.chat_template(), "");
  EXPECT_EQ(t.encode("Hello world"), (std::vector<int32_t>{15496, 995}));  // GPT-2 adds no BOS
}

TEST(TokenizerLoad, LlamaAccessors) {
  const Tokenizer& t = llama();
  EXPECT_EQ(t.kind(), "sentencepiece-bpe");
  EXPECT_EQ(t.vocab_size(), 32000);
  EXPECT_EQ(t.bos_id(), 1);
  EXPECT_EQ(t.eos_id(), 2);
  EXPECT_EQ(t.pad_id(), std::nullopt);
  EXPECT_EQ(t.token_to_id("\xE2\x96\x81the"), 272);
  EXPECT_TRUE(t.is_special(1));
  EXPECT_EQ(t.encode("").size(), 1u);  // just BOS
  EXPECT_EQ(t.encode("", false).size(), 0u);
}

TEST(TokenizerLoad, ConfigTokensTemplateAndGenerationEos) {
  TokenizerFiles f;
  f.tokenizer_json = read_file(shared_data("llama-sp-bpe/tokenizer.json"));
  f.tokenizer_config_json = R"({"bos_token": {"content": "<s>", "__type": "AddedToken"}, "eos_token": "</s>",
    "pad_token": "<unk>", "add_bos_token": false, "add_eos_token": true,
    "chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]})";
  f.generation_config_json = R"({"eos_token_id": [2, 7]})";
  auto t = Tokenizer::load(f);
  EXPECT_EQ(t->pad_id(), 0);
  EXPECT_EQ(t->eos_ids(), (std::vector<int32_t>{2, 7}));
  EXPECT_EQ(t->chat_template(), "D");
  auto ids = t->encode("Hi");
  ASSERT_FALSE(ids.empty());
  EXPECT_NE(ids.front(), 1);  // add_bos_token: false
  EXPECT_EQ(ids.back(), 2);   // add_eos_token: true
  f.chat_template = "from chat_template.jinja";
  EXPECT_EQ(Tokenizer::load(f)->chat_template(), "from chat_template.jinja");
}

TEST(TokenizerLoad, IdsOutsideTheVocabularyAreSkippedByDecode) {
  EXPECT_EQ(gpt2().decode({15496, 999999, -5, 995}), "Hello world");
}

TEST(TokenizerLoad, InvalidUtf8InputIsReadAsReplacementCharacters) {
  const Tokenizer& t = gpt2();
  EXPECT_EQ(t.encode("a\xC3(b"), t.encode("a\xEF\xBF\xBD(b"));
  EXPECT_EQ(t.decode(t.encode("\xF0\x9F\x98")), "\xEF\xBF\xBD");
}

TEST(TokenizerLoad, LoadDirWithoutTokenizerFails) {
  EXPECT_THROW(Tokenizer::load_dir("/nonexistent-dir"), Error);
  EXPECT_THROW(Tokenizer::load(TokenizerFiles{}), Error);
}

// Each mutation of a valid tokenizer.json must give tsc::Error with a non-empty message.
class MalformedTokenizerJson : public ::testing::TestWithParam<std::pair<const char*, std::string>> {};

json small_bpe() {
  return json::parse(R"({
    "version": "1.0", "added_tokens": [{"id": 5, "content": "<s>", "special": true}],
    "normalizer": null, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false},
    "post_processor": null, "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "c": 3, "abc": 4, "<s>": 5},
              "merges": ["a b", "ab c"]}})");
}

std::vector<std::pair<const char*, std::string>> malformed_cases() {
  std::vector<std::pair<const char*, std::string>> out;
  auto mutate = [&](const char* name, auto fn) {
    json j = small_bpe();
    fn(j);
    out.emplace_back(name, j.dump());
  };
  out.emplace_back("NotJson", "this is not json");
  out.emplace_back("Truncated", small_bpe().dump().substr(0, 60));
  out.emplace_back("Empty", "{}");
  out.emplace_back("Array", "[1, 2, 3]");
  mutate("NoModel", [](json& j) { j.erase("model"); });
  mutate("Unigram", [](json& j) { j["model"]["type"] = "Unigram"; });
  mutate("WordPiece", [](json& j) { j["model"]["type"] = "WordPiece"; });
  mutate("VocabIsList", [](json& j) { j["model"]["vocab"] = json::array({"a", "b"}); });
  mutate("VocabIdString", [](json& j) { j["model"]["vocab"]["a"] = "zero"; });
  mutate("VocabIdNegative", [](json& j) { j["model"]["vocab"]["a"] = -1; });
  mutate("VocabIdHuge", [](json& j) { j["model"]["vocab"]["a"] = 4000000000LL; });
  mutate("MergeUnknownToken", [](json& j) { j["model"]["merges"].push_back("x y"); });
  mutate("MergeThreeParts", [](json& j) { j["model"]["merges"].push_back("a b c"); });
  mutate("MergeResultMissing", [](json& j) { j["model"]["merges"].push_back("b a"); });
  mutate("MergeNotString", [](json& j) { j["model"]["merges"].push_back(42); });
  mutate("MergesNotList", [](json& j) { j["model"]["merges"] = "a b"; });
  mutate("BadRegex", [](json& j) {
    j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}, {"invert", false}};
  });
  mutate("BadBehavior", [](json& j) {
    j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"String", " "}}}, {"behavior", "Sideways"}, {"invert", false}};
  });
  mutate("BadPattern", [](json& j) {
    j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", 7}, {"behavior", "Isolated"}, {"invert", false}};
  });
  mutate("UnknownNormalizer", [](json& j) { j["normalizer"] = {{"type", "Precompiled"}}; });
  mutate("NormalizerWithoutType", [](json& j) { j["normalizer"] = {{"lowercase", true}}; });
  mutate("UnknownPreTokenizer", [](json& j) { j["pre_tokenizer"] = {{"type", "UnicodeScripts"}}; });
  mutate("UnknownDecoder", [](json& j) { j["decoder"] = {{"type", "WordPiece"}}; });
  mutate("UnknownPostProcessor", [](json& j) { j["post_processor"] = {{"type", "Magic"}}; });
  mutate("TemplateUndefinedSpecial", [](json& j) {
    j["post_processor"] = {{"type", "TemplateProcessing"},
                           {"single", json::array({{{"SpecialToken", {{"id", "<bos>"}, {"type_id", 0}}}}})},
                           {"special_tokens", json::object()}};
  });
  mutate("AddedTokenNoContent", [](json& j) { j["added_tokens"][0].erase("content"); });
  mutate("AddedTokenBadId", [](json& j) { j["added_tokens"][0]["id"] = "five"; });
  mutate("MetaspaceBadScheme", [](json& j) {
    j["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "_"}, {"prepend_scheme", "sometimes"}};
  });
  mutate("MetaspaceLongReplacement", [](json& j) {
    j["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "__"}};
  });
  mutate("SequenceNotList", [](json& j) { j["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", 3}}; });
  return out;
}

TEST_P(MalformedTokenizerJson, GivesError) {
  TokenizerFiles f;
  f.tokenizer_json = GetParam().second;
  try {
    Tokenizer::load(f);
    FAIL() << "loaded without error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()), "");
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, MalformedTokenizerJson, ::testing::ValuesIn(malformed_cases()),
                         [](const auto& i) { return std::string(i.param.first); });

TEST(TokenizerLoad, SmallValidFileLoads) {
  TokenizerFiles f;
  f.tokenizer_json = small_bpe().dump();
  auto t = Tokenizer::load(f);
  EXPECT_EQ(t->encode("abc<s>ab"), (std::vector<int32_t>{4, 5, 2}));
}

TEST(TokenizerLoad, MalformedConfigGivesError) {
  TokenizerFiles f;
  f.tokenizer_json = small_bpe().dump();
  for (const char* cfg : {"{", "[1]", R"({"bos_token": "<missing>"})", R"({"add_bos_token": true})",
                          R"({"added_tokens_decoder": {"x": {"content": "a"}}})"}) {
    f.tokenizer_config_json = cfg;
    EXPECT_THROW(Tokenizer::load(f), Error) << cfg;
  }
  f.tokenizer_config_json = "{}";
  f.generation_config_json = "not json";
  EXPECT_THROW(Tokenizer::load(f), Error);
}

TEST(TokenizerLoad, MalformedGpt2Files) {
  TokenizerFiles f;
  f.vocab_json = "{\"a\": 0, \"b\": 1}";
  f.merges_txt = "#version: 0.2\na b\n";  // "ab" is missing
  EXPECT_THROW(Tokenizer::load(f), Error);
  f.vocab_json = "{\"a\": 0";
  EXPECT_THROW(Tokenizer::load(f), Error);
}

}  // namespace
}  // namespace tsc::test
