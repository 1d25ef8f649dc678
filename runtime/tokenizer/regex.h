// Oniguruma-flavoured regular expressions (as written in tokenizer.json) matched with ICU over UTF-8.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/tokenizer/split.h"

namespace tsc::tok {

// HF compiles tokenizer.json patterns with Oniguruma; ICU's engine accepts the same syntax for
// what tokenizers use (\p{L}, lookahead, (?i:...)), and its \s is made Oniguruma's White_Space.
// Thread-safe: matchers come from a small per-regex pool.
class Regex {
 public:
  static Regex pattern(std::string_view onig_pattern);  // throws tsc::Error naming the pattern
  static Regex literal(std::string_view text);
  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;
  ~Regex();

  // Match and non-match spans covering `text` (valid UTF-8), leftmost-first, non-overlapping.
  std::vector<Span> find_matches(std::string_view text) const;
  // `text` with every match replaced by `content`.
  std::string replace_all(std::string_view text, std::string_view content) const;

 private:
  struct Impl;
  explicit Regex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tsc::tok
