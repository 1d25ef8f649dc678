// Unicode character classes and normalization forms the tokenizer needs, answered by ICU.
#pragma once
#include <string>
#include <string_view>

namespace tsc::tok {

// The tables are ICU's (Debian bookworm: ICU 72, Unicode 15). HF's Rust crates may be on another
// Unicode version; the two agree on every character assigned up to Unicode 15.

// Rust's char::is_whitespace and regex \s: the White_Space property.
bool is_whitespace(char32_t cp);
// Rust's char::is_numeric: general category N (Nd, Nl, No).
bool is_numeric(char32_t cp);
// Rust regex's \w: Alphabetic, marks, decimal digits, connector punctuation, join controls.
bool is_word_char(char32_t cp);
// HF's is_punc: ASCII punctuation or general category P. (HF's table for this one predates
// Unicode 10, so its Punctuation pre-tokenizer misses ~100 newer punctuation marks that we split.)
bool is_punctuation(char32_t cp);
// General category M (what HF's StripAccents removes).
bool is_mark(char32_t cp);

enum class NormalForm { NFC, NFD, NFKC, NFKD };
std::string normalize(NormalForm form, std::string_view s);  // s must be valid UTF-8
std::string to_lower(std::string_view s);                     // full Unicode lowercasing

}  // namespace tsc::tok
