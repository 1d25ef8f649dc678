// ICU builds only: the generated tables against ICU's properties, and the built-in scanners against
// ICU's regex engine on the same patterns, over a large random Unicode corpus.
#include <gtest/gtest.h>
#include <unicode/uchar.h>

#include <cstdio>
#include <random>

#include "runtime/tokenizer/regex.h"
#include "runtime/tokenizer/unicode.h"
#include "runtime/tokenizer/utf8.h"

namespace tsc::tok {
namespace {

bool icu_assigned(char32_t cp) {
  UVersionInfo age;
  u_charAge(static_cast<UChar32>(cp), age);
  return age[0] != 0 || age[1] != 0;
}

bool icu_gc(char32_t cp, uint32_t mask) { return (U_GET_GC_MASK(static_cast<UChar32>(cp)) & mask) != 0; }

bool icu_word(char32_t cp) {
  auto c = static_cast<UChar32>(cp);
  return u_hasBinaryProperty(c, UCHAR_ALPHABETIC) || icu_gc(cp, U_GC_M_MASK | U_GC_ND_MASK | U_GC_PC_MASK) ||
         u_hasBinaryProperty(c, UCHAR_JOIN_CONTROL);
}

bool table_has_class(char32_t cp) {
  return is_letter(cp) || is_numeric(cp) || is_whitespace(cp) || is_word_char(cp) || is_mark(cp) ||
         (cp >= 0x80 && is_punctuation(cp));
}

// Code points on which the tables (Unicode 16) and this ICU (72: Unicode 15.0) can be compared:
// those ICU knows, and those neither assigns. Characters added after ICU's version differ by design.
bool comparable(char32_t cp) {
  return !(cp >= 0xD800 && cp <= 0xDFFF) && (icu_assigned(cp) || !table_has_class(cp));
}

std::string show(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    char32_t cp = next_code_point(s, i);
    char buf[16];
    if (cp >= 0x20 && cp < 0x7F && cp != '\\')
      out += static_cast<char>(cp);
    else
      std::snprintf(buf, sizeof buf, "\\u{%X}", static_cast<unsigned>(cp)), out += buf;
  }
  return out;
}

std::string show(const std::string& s, const std::vector<Span>& spans) {
  std::string out;
  for (const Span& sp : spans)
    out += (sp.match ? "[" : "<") + show(s.substr(sp.begin, sp.end - sp.begin)) + (sp.match ? "]" : ">");
  return out;
}

TEST(IcuAgreement, TablesMatchIcuProperties) {
  std::printf("[ info ] tables: Unicode %s; ICU %s: Unicode %s\n", unicode_tables_version(), U_ICU_VERSION,
              U_UNICODE_VERSION);
  size_t compared = 0, newer = 0, bad = 0;
  for (char32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    // White_Space is stable and defined for every code point.
    EXPECT_EQ(is_whitespace(cp), u_hasBinaryProperty(static_cast<UChar32>(cp), UCHAR_WHITE_SPACE) != 0)
        << std::hex << static_cast<uint32_t>(cp);
    if (!icu_assigned(cp)) {
      newer += table_has_class(cp);
      continue;
    }
    ++compared;
    bool ascii_punct = cp < 0x80 && is_punctuation(cp);
    bool ok = is_letter(cp) == icu_gc(cp, U_GC_L_MASK) && is_numeric(cp) == icu_gc(cp, U_GC_N_MASK) &&
              is_mark(cp) == icu_gc(cp, U_GC_M_MASK) && is_word_char(cp) == icu_word(cp) &&
              (ascii_punct || is_punctuation(cp) == icu_gc(cp, U_GC_P_MASK));
    if (!ok && ++bad <= 20) ADD_FAILURE() << "tables and ICU disagree on U+" << std::hex << static_cast<uint32_t>(cp);
  }
  EXPECT_EQ(bad, 0u);
  EXPECT_GT(compared, 280000u);
  std::printf("[ info ] %zu code points compared; %zu classified by the tables are unassigned in ICU %s\n", compared,
              newer, U_ICU_VERSION);
}

// Random text of the pattern's edge cases, characters of many scripts, and code points from the
// whole code space.
class Corpus {
 public:
  explicit Corpus(uint32_t seed) : rng_(seed) {}
  std::string text(size_t max_parts) {
    static const char* const tricky[] = {
        "'", "'", "s", "t", "re", "ve", "m", "ll", "d", "S", "LL", "T", " ", " ", " ", "  ", "\t", "\n", "\r\n",
        "\x0B", "\x0C", "\x1C", "\x1F", "\xC2\x85", "\xC2\xA0", "\xE2\x80\x83", "\xE3\x80\x80", "\xE1\x9A\x80",
        "\xE2\x80\x8B", "\xE2\x80\xA8", "\xE2\x80\xA9", "\xE2\x80\xAF", "\xE2\x81\x9F", "\xEF\xBB\xBF", "a", "Z",
        "\xC3\xA9", "e\xCC\x81", "\xCC\x81", "1", "42", "\xC2\xB2", "\xD9\xA3", "\xE2\x85\xAB", "\xEF\xBC\x91", "!",
        ".", "_", "-", "$", "\xE2\x80\x99", "\xE2\x92\xB6", "\xE2\x80\x8C", "\xE2\x80\x8D", "\xF0\x9F\x98\x80",
        "\xE4\xB8\x80", "\xF0\xA0\x80\x80", "\xF0\x9F\x85\xB0", "\xEF\xBF\xBD", "\x00", "\x7F"};
    static const std::pair<char32_t, char32_t> blocks[] = {
        {0x20, 0x7E}, {0x80, 0x24F}, {0x300, 0x36F}, {0x370, 0x52F}, {0x590, 0x6FF}, {0x900, 0xDFF},
        {0x1000, 0x1FFF}, {0x2000, 0x2BFF}, {0x3000, 0x30FF}, {0xA000, 0xABFF}, {0xFB00, 0xFFFF},
        {0x10000, 0x1FFFF}, {0x1F000, 0x1FAFF}};
    std::string s;
    size_t parts = std::uniform_int_distribution<size_t>(0, max_parts)(rng_);
    for (size_t i = 0; i < parts; ++i) {
      double r = std::uniform_real_distribution<double>(0, 1)(rng_);
      if (r < 0.55) {
        const char* t = tricky[std::uniform_int_distribution<size_t>(0, std::size(tricky) - 1)(rng_)];
        s += *t ? std::string(t) : std::string(1, '\0');  // "\x00" is the one empty C string
      } else {
        char32_t cp;
        do {
          if (r < 0.8) {
            auto [lo, hi] = blocks[std::uniform_int_distribution<size_t>(0, std::size(blocks) - 1)(rng_)];
            cp = std::uniform_int_distribution<char32_t>(lo, hi)(rng_);
          } else {
            cp = std::uniform_int_distribution<char32_t>(0, 0x10FFFF)(rng_);
          }
        } while (!comparable(cp));
        append_utf8(s, cp);
      }
    }
    return s;
  }

 private:
  std::mt19937 rng_;
};

void expect_same_splits(std::string_view pattern, size_t n, size_t max_parts, uint32_t seed) {
  const Regex scanner = Regex::pattern(pattern);
  const Regex icu = Regex::icu_pattern(pattern);
  ASSERT_STREQ(icu.engine(), "icu");
  ASSERT_STRNE(scanner.engine(), "icu");
  Corpus corpus(seed);
  size_t bad = 0, bytes = 0;
  for (size_t i = 0; i < n; ++i) {
    std::string s = corpus.text(max_parts);
    bytes += s.size();
    auto want = icu.find_matches(s), got = scanner.find_matches(s);
    bool same = want.size() == got.size();
    for (size_t k = 0; same && k < want.size(); ++k)
      same = want[k].begin == got[k].begin && want[k].end == got[k].end && want[k].match == got[k].match;
    if (!same && ++bad <= 10)
      ADD_FAILURE() << scanner.engine() << " differs from ICU on \"" << show(s) << "\"\n  icu:     " << show(s, want)
                    << "\n  scanner: " << show(s, got);
  }
  EXPECT_EQ(bad, 0u);
  std::printf("[ info ] %s: %zu texts, %zu bytes, identical to ICU's regex\n", scanner.engine(), n, bytes);
}

TEST(IcuAgreement, Gpt2ScannerSplitsLikeIcuRegex) {
  expect_same_splits(kGpt2Pattern, 40000, 40, 1);
  expect_same_splits(kGpt2Pattern, 20, 20000, 2);  // long texts
}

TEST(IcuAgreement, WordsScannerSplitsLikeIcuRegex) {
  expect_same_splits(kWordsPattern, 40000, 40, 3);
  expect_same_splits(kWordsPattern, 20, 20000, 4);
}

TEST(IcuAgreement, PlainTextPatternsMatchLikeIcuRegex) {
  std::mt19937 rng(9);
  for (const char* p : {"a", "aa", "ab", "aba", "\xE2\x96\x81", " ", "  "}) {
    Regex lit = Regex::pattern(p), icu = Regex::icu_pattern(p);
    ASSERT_STREQ(lit.engine(), "literal");
    for (int i = 0; i < 500; ++i) {
      std::string s;
      for (int k = std::uniform_int_distribution<int>(0, 16)(rng); k > 0; --k)
        s += std::vector<std::string>{"a", "b", " ", "\xE2\x96\x81"}[std::uniform_int_distribution<int>(0, 3)(rng)];
      EXPECT_EQ(show(s, lit.find_matches(s)), show(s, icu.find_matches(s))) << p;
      EXPECT_EQ(lit.replace_all(s, "<>"), icu.replace_all(s, "<>")) << p;
    }
  }
}

}  // namespace
}  // namespace tsc::tok
