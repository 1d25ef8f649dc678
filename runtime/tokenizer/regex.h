// Oniguruma-flavoured regular expressions (as written in tokenizer.json) over UTF-8: built-in scanners, or ICU.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/tokenizer/split.h"

namespace tsc::tok {

// GPT-2's word pattern, which HF's ByteLevel pre-tokenizer applies when use_regex is set.
inline constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
// HF's Whitespace pre-tokenizer: words, and runs of other non-space characters.
inline constexpr std::string_view kWordsPattern = R"(\w+|[^\w\s]+)";

// HF compiles tokenizer.json patterns with Oniguruma. Regex::pattern answers
//  - kGpt2Pattern and kWordsPattern with hand-written scanners (scanners.h), in every build;
//  - a pattern without metacharacters as the literal string it is;
//  - anything else with ICU's engine, which accepts the same syntax for what tokenizers use
//    (\p{L}, lookahead, (?i:...)), its \s made Oniguruma's White_Space. Without ICU such a
//    pattern is refused with needs_icu()'s error.
// Thread-safe: ICU matchers come from a small per-regex pool.
class Regex {
 public:
  static Regex pattern(std::string_view onig_pattern);  // throws tsc::Error naming the pattern
  static Regex literal(std::string_view text);
  // Always ICU's engine, even for the patterns that have scanners (tests compare the two).
  // Throws needs_icu()'s error in a build without ICU.
  static Regex icu_pattern(std::string_view onig_pattern);
  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;
  ~Regex();

  // Match and non-match spans covering `text` (valid UTF-8), leftmost-first, non-overlapping.
  std::vector<Span> find_matches(std::string_view text) const;
  // `text` with every match replaced by `content`.
  std::string replace_all(std::string_view text, std::string_view content) const;
  // "literal", "gpt2-scanner", "words-scanner" or "icu".
  const char* engine() const;

 private:
  struct Impl;
  explicit Regex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tsc::tok
