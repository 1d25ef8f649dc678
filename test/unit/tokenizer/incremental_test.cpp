// IncrementalDecoder chunking: what is emitted when, for SentencePiece spaces and split characters.
#include <gtest/gtest.h>

#include "runtime/tokenizer/tokenizer.h"
#include "test_support.h"

namespace tsc::test {
namespace {

std::vector<std::string> chunks(const Tokenizer& t, const std::vector<int32_t>& ids, bool skip = true) {
  IncrementalDecoder d(t, skip);
  std::vector<std::string> out;
  for (int32_t id : ids) out.push_back(d.push(id));
  out.push_back(d.flush());
  return out;
}

using V = std::vector<std::string>;

// The id of the byte-fallback token <0xNN> of byte x.
int32_t byte_token(const Tokenizer& t, int x) {
  char name[8];
  std::snprintf(name, sizeof name, "<0x%02X>", x);
  return *t.token_to_id(name);
}

TEST(IncrementalDecoder, SentencePieceDropsOnlyTheFirstSpace) {
  const Tokenizer& t = llama();
  auto ids = t.encode("Hello world");  // <s> ▁Hello ▁world
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(chunks(t, ids), (V{"", "Hello", " world", ""}));
  EXPECT_EQ(chunks(t, ids, /*skip=*/false), (V{"<s>", " Hello", " world", ""}));
}

TEST(IncrementalDecoder, ByteFallbackRunIsHeldUntilItEnds) {
  const Tokenizer& t = llama();
  auto b = [&](int x) { return byte_token(t, x); };
  int32_t a = *t.token_to_id("\xE2\x96\x81" "A");
  // A complete emoji is still held: one more byte would turn the whole run into U+FFFDs.
  EXPECT_EQ(chunks(t, {a, b(0xF0), b(0x9F), b(0x98), b(0x80), a}), (V{"A", "", "", "", "", "\xF0\x9F\x98\x80 A", ""}));
  EXPECT_EQ(chunks(t, {a, b(0xF0), b(0x9F), b(0x98), b(0x80)}).back(), "\xF0\x9F\x98\x80");
  EXPECT_EQ(chunks(t, {a, b(0xE2)}), (V{"A", "", "\xEF\xBF\xBD"}));
}

TEST(IncrementalDecoder, ByteFallbackRunGoesOnAcrossIdsDecodeDrops) {
  const Tokenizer& t = llama();
  auto b = [&](int x) { return byte_token(t, x); };
  int32_t a = *t.token_to_id("\xE2\x96\x81" "A");
  const int32_t unk = *t.token_to_id("<unk>"), beyond = t.vocab_size() + 3;  // a skipped special, an id naming no token
  // HF tokenizers decodes these ids, skipping special tokens, to "A" and three U+FFFDs: the run z, 0xFA, r is one
  // run across the dropped ids, and 0xFA makes it invalid (a fuzz finding: the "z" used to be streamed early
  // and the rest lost).
  const std::vector<int32_t> ids{a, b(0x7A), beyond, b(0xFA), unk, b(0x72)};
  const std::string want = "A\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD";
  ASSERT_EQ(t.decode(ids, true), want);
  std::string got;
  for (const std::string& c : chunks(t, ids)) got += c;
  EXPECT_EQ(got, want);
}

TEST(IncrementalDecoder, ByteLevelWaitsForTheRestOfACharacter) {
  const Tokenizer& t = gpt2();
  auto ids = t.encode("\xF0\x9F\x8D\x95!");  // the pizza emoji is split over several tokens
  ASSERT_GT(ids.size(), 2u);
  auto c = chunks(t, ids);
  // Nothing until the token that completes the emoji, which comes out whole; then the "!".
  size_t first = 0;
  while (first < c.size() && c[first].empty()) ++first;
  ASSERT_GT(first, 0u);
  ASSERT_LT(first + 1, c.size());
  EXPECT_EQ(c[first], "\xF0\x9F\x8D\x95");
  EXPECT_EQ(c[first + 1], "!");
}

TEST(IncrementalDecoder, FlushStartsANewSequence) {
  const Tokenizer& t = llama();
  IncrementalDecoder d(t);
  auto ids = t.encode("Hi there", false);
  std::string first;
  for (int32_t id : ids) first += d.push(id);
  first += d.flush();
  std::string second;
  for (int32_t id : ids) second += d.push(id);
  second += d.flush();
  EXPECT_EQ(first, "Hi there");
  EXPECT_EQ(second, "Hi there");
}

}  // namespace
}  // namespace tsc::test
