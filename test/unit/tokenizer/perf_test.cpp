// Throughput (1 MB of English in well under a second) and thread safety of encode.
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <thread>

#include "runtime/tokenizer/tokenizer.h"
#include "test_support.h"

namespace tsc::test {
namespace {

std::string english_megabyte() {
  static const char* words[] = {
      "the", "of", "and", "to", "in", "is", "was", "that", "for", "it", "with", "as", "his", "on", "be", "at",
      "by", "I", "this", "had", "not", "are", "but", "from", "or", "have", "an", "they", "which", "one", "you",
      "were", "her", "all", "she", "there", "would", "their", "we", "him", "been", "has", "when", "who", "will",
      "more", "no", "if", "out", "so", "said", "what", "up", "its", "about", "into", "than", "them", "can",
      "only", "other", "new", "some", "could", "time", "these", "two", "may", "then", "do", "first", "any",
      "my", "now", "such", "like", "our", "over", "man", "me", "even", "most", "made", "after", "also", "did",
      "many", "before", "must", "through", "back", "years", "where", "much", "your", "way", "well", "down",
      "should", "because", "each", "just", "those", "people", "Mr.", "how", "too", "little", "state", "good",
      "very", "make", "world", "still", "own", "see", "men", "work", "long", "get", "here", "between", "both",
      "life", "being", "under", "never", "day", "same", "another", "know", "while", "last", "might", "us",
      "great", "old", "year", "off", "come", "since", "against", "go", "came", "right", "used", "take", "three",
      "government", "understanding", "extraordinary", "responsibilities", "characteristically", "London",
      "Washington", "Elizabeth", "don't", "it's", "1984", "3.5%", "(see", "above)", "--", "\"quoted\""};
  std::mt19937 rng(42);
  std::uniform_int_distribution<size_t> pick(0, std::size(words) - 1), punct(0, 19);
  std::string s;
  while (s.size() < (1u << 20)) {
    s += words[pick(rng)];
    switch (punct(rng)) {
      case 0: s += ". "; break;
      case 1: s += ", "; break;
      case 2: s += ".\n\n"; break;
      default: s += ' ';
    }
  }
  return s;
}

bool optimized_build() {
#if defined(NDEBUG) && !defined(__SANITIZE_ADDRESS__)
  return true;
#else
  return false;
#endif
}

TEST(TokenizerPerf, EncodeOneMegabyteOfEnglish) {
  const std::string text = english_megabyte();
  for (const Tokenizer* t : {&gpt2(), &llama()}) {
    auto start = std::chrono::steady_clock::now();
    auto ids = t->encode(text);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("[ perf ] %s: %zu bytes -> %zu tokens in %.3f s\n", t->kind().c_str(), text.size(), ids.size(), s);
    EXPECT_GT(ids.size(), text.size() / 8);
    if (optimized_build()) {
      EXPECT_LT(s, 1.0) << t->kind();
    }
  }
}

TEST(TokenizerPerf, ConcurrentEncodeMatchesSerial) {
  std::vector<std::string> texts;
  for (int i = 0; i < 64; ++i)
    texts.push_back("Thread " + std::to_string(i) + " says: caf\xC3\xA9, 12345, <|endoftext|> \xF0\x9F\x8D\x95 " +
                    std::string(static_cast<size_t>(i), 'z'));
  for (const Tokenizer* t : {&gpt2(), &llama()}) {
    std::vector<std::vector<int32_t>> want;
    for (const auto& s : texts) want.push_back(t->encode(s));
    std::vector<std::thread> threads;
    std::vector<int> bad(8, 0);
    for (int k = 0; k < 8; ++k)
      threads.emplace_back([&, k] {
        for (int rep = 0; rep < 20; ++rep)
          for (size_t i = 0; i < texts.size(); ++i) bad[k] += t->encode(texts[(i + k) % texts.size()]) != want[(i + k) % texts.size()];
      });
    for (auto& th : threads) th.join();
    for (int k = 0; k < 8; ++k) EXPECT_EQ(bad[k], 0);
  }
}

}  // namespace
}  // namespace tsc::test
