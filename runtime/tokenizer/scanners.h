// Hand-written matchers for the two fixed regexes tokenizers use most, equal to the regex engine's matches.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "runtime/tokenizer/unicode.h"
#include "runtime/tokenizer/utf8.h"

namespace tsc::tok {

// What GPT-2's pattern tells apart: White_Space (\s), \p{L}, \p{N}, and everything else.
enum class Gpt2Class : uint8_t { Space, Letter, Number, Other };

inline Gpt2Class gpt2_class(char32_t cp) {
  if (is_letter(cp)) return Gpt2Class::Letter;
  if (is_numeric(cp)) return Gpt2Class::Number;
  if (is_whitespace(cp)) return Gpt2Class::Space;
  return Gpt2Class::Other;
}

namespace scan_detail {

struct AsciiGpt2Classes {
  Gpt2Class c[128];
  constexpr AsciiGpt2Classes() : c() {
    for (int i = 0; i < 128; ++i)
      c[i] = (i >= 'a' && i <= 'z') || (i >= 'A' && i <= 'Z') ? Gpt2Class::Letter
             : i >= '0' && i <= '9'                           ? Gpt2Class::Number
             : (i >= 0x09 && i <= 0x0D) || i == ' '           ? Gpt2Class::Space
                                                              : Gpt2Class::Other;
  }
};
inline constexpr AsciiGpt2Classes kAsciiGpt2;

// The class of the character at s[i]; `next` is set past it.
inline Gpt2Class gpt2_class_at(std::string_view s, size_t i, size_t& next) {
  auto b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) {
    next = i + 1;
    return kAsciiGpt2.c[b];
  }
  next = i;
  return gpt2_class(next_code_point(s, next));
}

// End of the run of characters of class k that starts at i.
inline size_t gpt2_run_end(std::string_view s, size_t i, Gpt2Class k) {
  size_t next;
  while (i < s.size() && gpt2_class_at(s, i, next) == k) i = next;
  return i;
}

}  // namespace scan_detail

// Calls fn(begin, end) for each match of GPT-2's pattern
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// in s (UTF-8), leftmost-first as a backtracking engine finds them. Every character belongs to
// some alternative, so the matches tile s. The alternatives, at position i:
//  1. an apostrophe and one of the seven contraction tails (ASCII, case-sensitive);
//  2-4. an optional U+0020 and a run of letters, numbers, or "others" (not \s, \p{L}, \p{N}):
//     the space is taken only when such a run follows it;
//  5. \s+(?!\S): a whitespace run followed by the end of s; or, when a non-space follows and the
//     run is two or more characters long, the run less its last character (the engine backs off
//     one character so that the lookahead sees whitespace);
//  6. \s+: a single whitespace character followed by a non-space.
template <class Fn>
void scan_gpt2(std::string_view s, Fn&& fn) {
  using scan_detail::gpt2_class_at;
  using scan_detail::gpt2_run_end;
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const size_t b = i;
    if (s[i] == '\'' && i + 1 < n) {
      char c = s[i + 1];
      size_t len = 0;
      if (c == 's' || c == 't' || c == 'm' || c == 'd')
        len = 2;
      else if (i + 2 < n && ((c == 'r' && s[i + 2] == 'e') || (c == 'v' && s[i + 2] == 'e') || (c == 'l' && s[i + 2] == 'l')))
        len = 3;
      if (len) {
        fn(b, b + len);
        i = b + len;
        continue;
      }
    }
    size_t next;
    Gpt2Class k = gpt2_class_at(s, i, next);
    if (s[i] == ' ' && next < n) {
      size_t after;
      Gpt2Class k2 = gpt2_class_at(s, next, after);
      if (k2 != Gpt2Class::Space) {
        i = gpt2_run_end(s, after, k2);
        fn(b, i);
        continue;
      }
    }
    if (k != Gpt2Class::Space) {
      i = gpt2_run_end(s, next, k);
      fn(b, i);
      continue;
    }
    size_t last = b;  // start of the run's last character
    size_t e = next;
    while (e < n) {
      size_t after;
      if (gpt2_class_at(s, e, after) != Gpt2Class::Space) break;
      last = e;
      e = after;
    }
    if (e < n && last > b) e = last;
    fn(b, e);
    i = e;
  }
}

// Calls fn(begin, end) for each match of \w+|[^\w\s]+ (HF's Whitespace pre-tokenizer) in s:
// runs of word characters, and runs of characters that are neither word characters nor
// whitespace; whitespace is left between the matches.
template <class Fn>
void scan_words(std::string_view s, Fn&& fn) {
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    size_t next = i;
    char32_t cp = next_code_point(s, next);
    if (is_word_char(cp) || !is_whitespace(cp)) {
      const bool word = is_word_char(cp);
      size_t e = next;
      while (e < n) {
        size_t after = e;
        char32_t c = next_code_point(s, after);
        if (word ? !is_word_char(c) : (is_word_char(c) || is_whitespace(c))) break;
        e = after;
      }
      fn(i, e);
      i = e;
    } else {
      i = next;
    }
  }
}

}  // namespace tsc::tok
