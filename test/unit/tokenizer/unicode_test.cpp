// Building blocks: lossy UTF-8 as Rust does it, the byte-level alphabet, HF's split behaviors.
#include <gtest/gtest.h>

#include "runtime/tokenizer/byte_level.h"
#include "runtime/tokenizer/regex.h"
#include "runtime/tokenizer/split.h"
#include "runtime/tokenizer/unicode.h"
#include "runtime/tokenizer/utf8.h"

namespace tsc::tok {
namespace {

const std::string R = "\xEF\xBF\xBD";  // U+FFFD

TEST(Utf8, LossyReplacesMaximalSubparts) {
  EXPECT_EQ(utf8_lossy("abc"), "abc");
  EXPECT_EQ(utf8_lossy("\xE2\x82\xAC"), "\xE2\x82\xAC");
  EXPECT_EQ(utf8_lossy("\xE2\x82"), R);             // truncated 3-byte sequence: one U+FFFD
  EXPECT_EQ(utf8_lossy("\xE2\x82" "A"), R + "A");
  EXPECT_EQ(utf8_lossy("\x80\x80"), R + R);          // stray continuation bytes: one each
  EXPECT_EQ(utf8_lossy("\xC0\xAF"), R + R);          // overlong lead byte
  EXPECT_EQ(utf8_lossy("\xED\xA0\x80"), R + R + R);  // surrogate: E0..9F rule for ED
  EXPECT_EQ(utf8_lossy("\xF0\x9F\x98"), R);
  EXPECT_EQ(utf8_lossy("\xF4\x90\x80\x80"), R + R + R + R);  // above U+10FFFF
  EXPECT_EQ(utf8_lossy("\xFF" "a"), R + "a");
  EXPECT_TRUE(is_valid_utf8("h\xC3\xA9llo \xF0\x9F\x8D\x95"));
  EXPECT_FALSE(is_valid_utf8("\xC3"));
}

TEST(ByteLevel, EveryByteRoundTrips) {
  for (int b = 0; b < 256; ++b) {
    std::string s;
    bytes_to_byte_level(std::string(1, static_cast<char>(b)), s);
    size_t i = 0;
    char32_t cp = next_code_point(s, i);
    EXPECT_EQ(i, s.size());
    ASSERT_TRUE(byte_level_to_byte(cp).has_value());
    EXPECT_EQ(*byte_level_to_byte(cp), b);
  }
  std::string space;
  bytes_to_byte_level(" ", space);
  EXPECT_EQ(space, "\xC4\xA0");  // "Ġ"
}

std::vector<std::string> split_dash(SplitBehavior b) {
  const std::string s = "The-final--countdown";
  std::vector<std::string> out;
  for (auto [x, y] : apply_behavior(Regex::literal("-").find_matches(s), b)) out.push_back(s.substr(x, y - x));
  return out;
}

// The cases of HF tokenizers' own NormalizedString::split tests.
TEST(Split, BehaviorsMatchHF) {
  using V = std::vector<std::string>;
  EXPECT_EQ(split_dash(SplitBehavior::Removed), (V{"The", "final", "countdown"}));
  EXPECT_EQ(split_dash(SplitBehavior::Isolated), (V{"The", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(split_dash(SplitBehavior::MergedWithPrevious), (V{"The-", "final-", "-", "countdown"}));
  EXPECT_EQ(split_dash(SplitBehavior::MergedWithNext), (V{"The", "-final", "-", "-countdown"}));
  EXPECT_EQ(split_dash(SplitBehavior::Contiguous), (V{"The", "-", "final", "--", "countdown"}));
}

TEST(Regex, OnigurumaWhitespaceClassIncludesVerticalTabAndNel) {
  if (!built_with_icu()) GTEST_SKIP() << "needs ICU's regex engine (TSC_WITH_ICU=OFF); Gpt2Scanner tests cover this";
  Regex r = Regex::pattern(R"(\s+)");
  auto spans = r.find_matches("a\x0B\xC2\x85" "b");
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_TRUE(spans[1].match);
  EXPECT_EQ(spans[1].begin, 1u);
  EXPECT_EQ(spans[1].end, 4u);
}

TEST(Regex, LookaheadWorks) {
  if (!built_with_icu()) GTEST_SKIP() << "needs ICU's regex engine (TSC_WITH_ICU=OFF); Gpt2Scanner tests cover this";
  // GPT-2's \s+(?!\S) leaves the last space to the following word.
  Regex r = Regex::pattern(R"(\s+(?!\S)|\s+)");
  auto spans = r.find_matches("a   b");
  ASSERT_EQ(spans.size(), 4u);
  EXPECT_EQ(spans[1].end - spans[1].begin, 2u);
  EXPECT_EQ(spans[2].end - spans[2].begin, 1u);
}

}  // namespace
}  // namespace tsc::tok
