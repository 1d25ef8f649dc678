// Round-trip properties over random Unicode strings, for both tokenizer kinds.
#include <gtest/gtest.h>

#include <random>

#include "runtime/tokenizer/tokenizer.h"
#include "runtime/tokenizer/utf8.h"
#include "test_support.h"

namespace tsc::test {
namespace {

// Random valid UTF-8 from a mix of scripts, whitespace, controls, marks and emoji.
std::string random_text(std::mt19937& rng, size_t max_len) {
  static const std::pair<char32_t, char32_t> blocks[] = {
      {0x20, 0x7E}, {0x20, 0x7E}, {0x09, 0x0D}, {0x00, 0x1F}, {0x80, 0x24F}, {0x300, 0x36F}, {0x370, 0x52F},
      {0x590, 0x6FF}, {0x900, 0x97F}, {0x2000, 0x206F}, {0x3000, 0x30FF}, {0x4E00, 0x9FFF}, {0xAC00, 0xD7A3},
      {0xE000, 0xF8FF}, {0xFE00, 0xFFFD}, {0x1F300, 0x1FAFF}, {0x10000, 0x10FFFF}};
  std::uniform_int_distribution<size_t> len(0, max_len), block(0, std::size(blocks) - 1);
  std::string s;
  for (size_t n = len(rng), i = 0; i < n; ++i) {
    auto [lo, hi] = blocks[block(rng)];
    char32_t cp = std::uniform_int_distribution<char32_t>(lo, hi)(rng);
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp == 0x2581) continue;  // surrogates; SentencePiece's "▁"
    tok::append_utf8(s, cp);
  }
  return s;
}

std::string stream(const Tokenizer& t, const std::vector<int32_t>& ids) {
  IncrementalDecoder d(t);
  std::string out;
  for (int32_t id : ids) {
    std::string c = d.push(id);
    EXPECT_TRUE(valid_utf8(c));
    out += c;
  }
  return out + d.flush();
}

TEST(TokenizerProperty, ByteLevelRoundTripsAnyText) {
  std::mt19937 rng(7);
  const Tokenizer& t = gpt2();
  for (int i = 0; i < 400; ++i) {
    std::string s = random_text(rng, 48);
    auto ids = t.encode(s, false);
    for (int32_t id : ids) ASSERT_LT(id, t.vocab_size());
    EXPECT_EQ(t.decode(ids), s);
    EXPECT_EQ(stream(t, ids), s);
  }
}

TEST(TokenizerProperty, SentencePieceRoundTripsAnyText) {
  std::mt19937 rng(11);
  const Tokenizer& t = llama();
  for (int i = 0; i < 400; ++i) {
    std::string s = random_text(rng, 48);
    auto ids = t.encode(s);
    for (int32_t id : ids) ASSERT_LT(id, t.vocab_size());
    EXPECT_EQ(t.decode(ids, /*skip_special_tokens=*/true), s);
    EXPECT_EQ(stream(t, ids), s);
  }
}

TEST(TokenizerProperty, RandomBytesNeverBreakEncodeOrDecode) {
  std::mt19937 rng(3);
  for (const Tokenizer* t : {&gpt2(), &llama()}) {
    for (int i = 0; i < 200; ++i) {
      std::string bytes(std::uniform_int_distribution<size_t>(0, 32)(rng), '\0');
      for (char& c : bytes) c = static_cast<char>(rng());
      std::string expect = tok::utf8_lossy(bytes);
      EXPECT_EQ(t->decode(t->encode(bytes), true), expect);
      // Random ids decode to valid UTF-8, whole or streamed, and the two agree.
      std::vector<int32_t> ids(12);
      for (int32_t& id : ids) id = std::uniform_int_distribution<int32_t>(0, t->vocab_size() - 1)(rng);
      std::string full = t->decode(ids, true);
      EXPECT_TRUE(valid_utf8(full));
      EXPECT_EQ(stream(*t, ids), full);
    }
  }
}

}  // namespace
}  // namespace tsc::test
