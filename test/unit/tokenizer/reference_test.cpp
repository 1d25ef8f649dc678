// Encode/decode/streaming of every reference case must equal what HF tokenizers produced.
#include <gtest/gtest.h>

#include "contract/error.h"
#include "runtime/tokenizer/tokenizer.h"
#include "runtime/tokenizer/unicode.h"
#include "test_support.h"

namespace tsc::test {
namespace {

using nlohmann::json;

class ReferenceTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {}
  void SetUp() override {
    ref_ = load_reference(GetParam());
    try {
      tok_ = Tokenizer::load(files_for(ref_.header));
    } catch (const Error& e) {
      // Only a build without ICU may refuse a reference tokenizer, and only for needing ICU
      // (IcuOptional.ReferenceVariantsNeedingIcu pins down which ones).
      if (!tok::built_with_icu() && std::string(e.what()).find(kNeedsIcu) != std::string::npos)
        GTEST_SKIP() << "built without ICU: " << e.what();
      throw;
    }
  }
  // Streams ids through an IncrementalDecoder; every chunk must be valid UTF-8.
  std::string stream(const std::vector<int32_t>& ids, bool skip) const {
    IncrementalDecoder d(*tok_, skip);
    std::string out;
    for (int32_t id : ids) {
      std::string chunk = d.push(id);
      EXPECT_TRUE(valid_utf8(chunk)) << "chunk after id " << id;
      out += chunk;
    }
    std::string rest = d.flush();
    EXPECT_TRUE(valid_utf8(rest));
    return out + rest;
  }
  static std::vector<int32_t> ids_of(const json& c) {
    return (c.contains("ids") ? c.at("ids") : c.at("decode_ids")).get<std::vector<int32_t>>();
  }

  Reference ref_;
  std::unique_ptr<Tokenizer> tok_;
};

TEST_P(ReferenceTest, EncodeMatchesHF) {
  for (const json& c : ref_.cases) {
    if (!c.contains("text")) continue;
    const std::string text = c.at("text");
    auto want = c.at("ids").get<std::vector<int32_t>>();
    EXPECT_EQ(tok_->encode(text), want) << "text: " << c.at("text").dump();
    auto plain = c.value("ids_plain", c.at("ids")).get<std::vector<int32_t>>();
    EXPECT_EQ(tok_->encode(text, /*add_special_tokens=*/false), plain) << "text: " << c.at("text").dump();
  }
}

TEST_P(ReferenceTest, DecodeMatchesHF) {
  for (const json& c : ref_.cases) {
    auto ids = ids_of(c);
    EXPECT_EQ(tok_->decode(ids), c.at("decoded").get<std::string>()) << c.dump();
    EXPECT_EQ(tok_->decode(ids, /*skip_special_tokens=*/true), c.at("decoded_skip").get<std::string>()) << c.dump();
  }
}

TEST_P(ReferenceTest, DecodeOfEncodeMatchesHF) {
  for (const json& c : ref_.cases) {
    if (!c.contains("text")) continue;
    EXPECT_EQ(tok_->decode(tok_->encode(c.at("text").get<std::string>())), c.at("decoded").get<std::string>())
        << c.at("text").dump();
  }
}

TEST_P(ReferenceTest, IncrementalEqualsFullDecode) {
  for (const json& c : ref_.cases) {
    auto ids = ids_of(c);
    EXPECT_EQ(stream(ids, true), c.at("decoded_skip").get<std::string>()) << c.dump();
    EXPECT_EQ(stream(ids, false), c.at("decoded").get<std::string>()) << c.dump();
  }
}

// All cases' ids as one long stream: the window logic must hold across every boundary.
TEST_P(ReferenceTest, IncrementalOverAllCasesConcatenated) {
  std::vector<int32_t> all;
  for (const json& c : ref_.cases) {
    auto ids = ids_of(c);
    all.insert(all.end(), ids.begin(), ids.end());
  }
  for (bool skip : {true, false}) EXPECT_EQ(stream(all, skip), tok_->decode(all, skip)) << "skip=" << skip;
}

INSTANTIATE_TEST_SUITE_P(HF, ReferenceTest, ::testing::ValuesIn(reference_variants()),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

}  // namespace
}  // namespace tsc::test
