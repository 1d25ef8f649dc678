// The built-in GPT-2 and Whitespace scanners and the Unicode tables, held to HF's splits (every build).
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "contract/error.h"
#include "runtime/tokenizer/regex.h"
#include "runtime/tokenizer/unicode.h"
#include "runtime/tokenizer/utf8.h"
#include "test_support.h"

namespace tsc::tok {
namespace {

using V = std::vector<std::string>;
using test::kNeedsIcu;

V matches(const Regex& r, const std::string& s) {
  V out;
  for (const Span& sp : r.find_matches(s))
    if (sp.match) out.push_back(s.substr(sp.begin, sp.end - sp.begin));
  return out;
}

V gpt2(const std::string& s) {
  static const Regex r = Regex::pattern(kGpt2Pattern);
  return matches(r, s);
}

V words(const std::string& s) {
  static const Regex r = Regex::pattern(kWordsPattern);
  return matches(r, s);
}

TEST(Regex, PatternPicksTheEngine) {
  EXPECT_STREQ(Regex::pattern(kGpt2Pattern).engine(), "gpt2-scanner");
  EXPECT_STREQ(Regex::pattern(kWordsPattern).engine(), "words-scanner");
  EXPECT_STREQ(Regex::pattern("\xE2\x96\x81").engine(), "literal");  // "▁"
  EXPECT_STREQ(Regex::pattern(" ").engine(), "literal");
  EXPECT_EQ(matches(Regex::pattern("ab"), "xabyabab"), (V{"ab", "ab", "ab"}));
  for (const char* p : {R"(\s+)", " +", "a|b", "(?i:'s)", "x{2}"}) {
    if (built_with_icu()) {
      EXPECT_STREQ(Regex::pattern(p).engine(), "icu") << p;
    } else {
      try {
        Regex::pattern(p);
        ADD_FAILURE() << p << " compiled without ICU";
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(kNeedsIcu), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << "the error names the pattern: " << e.what();
        EXPECT_NE(e.hint().find("TSC_WITH_ICU"), std::string::npos) << e.hint();
      }
    }
  }
}

// Expected splits are HF tokenizers' (pre_tokenizers.Split(Regex(GPT-2 pattern)) and Whitespace()).
TEST(Gpt2Scanner, EdgeCasesMatchHF) {
  EXPECT_EQ(gpt2("Hello world"), (V{"Hello", " world"}));
  EXPECT_EQ(gpt2("a   b"), (V{"a", "  ", " b"}));      // \s+(?!\S) leaves the last space to the word
  EXPECT_EQ(gpt2("x  "), (V{"x", "  "}));               // at the end, the whole run
  EXPECT_EQ(gpt2("  x"), (V{" ", " x"}));
  EXPECT_EQ(gpt2("a \n\tb"), (V{"a", " \n", "\t", "b"}));  // a tab is not the optional U+0020
  EXPECT_EQ(gpt2("'s'S 'll'LL''s"), (V{"'s", "'", "S", " '", "ll", "'", "LL", "''", "s"}));
  EXPECT_EQ(gpt2("it's 're've'm'd't"), (V{"it", "'s", " '", "re", "'ve", "'m", "'d", "'t"}));
  EXPECT_EQ(gpt2("don't"), (V{"don", "'t"}));
  EXPECT_EQ(gpt2(" 1 22  ab!!"), (V{" 1", " 22", " ", " ab", "!!"}));
  EXPECT_EQ(gpt2("a\x0B\xC2\x85" "b"), (V{"a", "\x0B", "\xC2\x85", "b"}));  // VT and NEL are \s
  EXPECT_EQ(gpt2("a \xC2\xA0" "b"), (V{"a", " ", "\xC2\xA0", "b"}));         // NBSP is \s, not " "
  EXPECT_EQ(gpt2("\xE3\x80\x80\xE3\x80\x80x"), (V{"\xE3\x80\x80", "\xE3\x80\x80", "x"}));
  EXPECT_EQ(gpt2("e\xCC\x81 \xCC\x81"), (V{"e", "\xCC\x81", " \xCC\x81"}));  // a mark is not \p{L}
  EXPECT_EQ(gpt2("x\xC2\xB2\xD9\xA3 \xE2\x85\xAB"), (V{"x", "\xC2\xB2\xD9\xA3", " \xE2\x85\xAB"}));  // ² ٣ Ⅻ are \p{N}
  EXPECT_EQ(gpt2(" ?! "), (V{" ?!", " "}));
  EXPECT_EQ(gpt2("\t"), (V{"\t"}));
  EXPECT_EQ(gpt2(" "), (V{" "}));
  EXPECT_EQ(gpt2("'"), (V{"'"}));
  EXPECT_EQ(gpt2("'x"), (V{"'", "x"}));
  EXPECT_EQ(gpt2("\x1C\x1F"), (V{"\x1C\x1F"}));  // information separators: not White_Space
  EXPECT_EQ(gpt2(""), V{});
}

TEST(WordsScanner, EdgeCasesMatchHF) {
  EXPECT_EQ(words("Hello world"), (V{"Hello", "world"}));
  EXPECT_EQ(words("'s'S 'll"), (V{"'", "s", "'", "S", "'", "ll"}));
  EXPECT_EQ(words(" ?! "), (V{"?!"}));
  EXPECT_EQ(words("e\xCC\x81 \xCC\x81"), (V{"e\xCC\x81", "\xCC\x81"}));  // marks are \w
  EXPECT_EQ(words("x\xC2\xB2\xD9\xA3 \xE2\x85\xAB"), (V{"x", "\xC2\xB2", "\xD9\xA3", "\xE2\x85\xAB"}));  // ² is No
  EXPECT_EQ(words("a_b-c\xE2\x80\x8D" "d"), (V{"a_b", "-", "c\xE2\x80\x8D" "d"}));  // Pc and ZWJ are \w
  EXPECT_EQ(words("\xE2\x92\xB6!"), (V{"\xE2\x92\xB6", "!"}));  // Ⓐ: So, but Alphabetic
  EXPECT_EQ(words("\t \n"), V{});
}

// Random text from test/gen/tokenizer_ref.py (code points of the whole code space, Unicode 15 and 16
// letters, the pattern's edge cases), split by HF tokenizers.
TEST(Scanners, RandomTextMatchesHF) {
  std::ifstream in(std::string(TSC_TOKENIZER_REF_DIR) + "/splits/pre_tokenizers.jsonl", std::ios::binary);
  ASSERT_TRUE(in) << "missing splits/pre_tokenizers.jsonl";
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    auto c = nlohmann::json::parse(line);
    std::string text = c.at("text");
    ASSERT_TRUE(is_valid_utf8(text));
    EXPECT_EQ(gpt2(text), c.at("gpt2").get<V>()) << c.at("text").dump();
    EXPECT_EQ(words(text), c.at("words").get<V>()) << c.at("text").dump();
    ++n;
  }
  EXPECT_GE(n, 400);
}

TEST(Gpt2Scanner, MatchesTileTheInput) {
  std::mt19937 rng(5);
  const char32_t alphabet[] = {' ', ' ', '\t', '\n', 0x0B, 0x85, 0xA0, 0x3000, '\'', 's', 'l', 'a', '1', '!', 0x301, 0x4E00};
  for (int i = 0; i < 2000; ++i) {
    std::string s;
    for (int k = std::uniform_int_distribution<int>(0, 24)(rng); k > 0; --k)
      append_utf8(s, alphabet[std::uniform_int_distribution<size_t>(0, std::size(alphabet) - 1)(rng)]);
    auto spans = Regex::pattern(kGpt2Pattern).find_matches(s);
    size_t at = 0;
    for (const Span& sp : spans) {
      EXPECT_EQ(sp.begin, at);
      EXPECT_TRUE(sp.match || s.empty());
      EXPECT_TRUE(sp.end > sp.begin || s.empty());
      at = sp.end;
    }
    EXPECT_EQ(at, s.size());
  }
}

TEST(UnicodeTables, Classes) {
  EXPECT_STREQ(unicode_tables_version(), "16.0.0");
  EXPECT_TRUE(is_letter('a') && is_letter(0x4E00) && is_letter(0x20000) && is_letter(0x1E4D0));  // Nag Mundari (15.0)
  EXPECT_TRUE(is_letter(0x105C0));                                                                 // Todhri (16.0)
  EXPECT_FALSE(is_letter('1') || is_letter(0x301) || is_letter(0x378) || is_letter(0x1F600));
  EXPECT_TRUE(is_numeric('7') && is_numeric(0xB2) && is_numeric(0x216B) && is_numeric(0x1D7CE));
  EXPECT_FALSE(is_numeric('a') || is_numeric(0x1F600));
  for (uint32_t c : {0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000, 0x200A, 0x2028, 0x2029, 0x202F,
                     0x205F, 0x3000})
    EXPECT_TRUE(is_whitespace(c)) << std::hex << c;
  for (uint32_t c : {0x1C, 0x1F, 0x200B, 0x180E, 0xFEFF, 0x61}) EXPECT_FALSE(is_whitespace(c)) << std::hex << c;
  EXPECT_TRUE(is_word_char('_') && is_word_char(0x24B6) && is_word_char(0x1F170) && is_word_char(0x200C) &&
              is_word_char(0x301) && is_word_char(0x663) && is_word_char(0x216B));
  EXPECT_FALSE(is_word_char(0xB2) || is_word_char('-') || is_word_char(' ') || is_word_char(0x1F600));
  EXPECT_TRUE(is_mark(0x301) && is_mark(0x1171E) && !is_mark('a'));
  EXPECT_TRUE(is_punctuation('$') && is_punctuation('!') && is_punctuation(0x2019) && is_punctuation(0x1B4E));
  EXPECT_FALSE(is_punctuation('a') || is_punctuation(0x20AC));  // € is Sc
  EXPECT_FALSE(is_letter(0x10FFFF) || is_whitespace(0x10FFFF) || is_numeric(0x110000));
}

}  // namespace
}  // namespace tsc::tok
