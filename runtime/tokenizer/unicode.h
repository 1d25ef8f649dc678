// Unicode character classes (generated tables, every build) and normalization forms (ICU builds only).
#pragma once
#include <string>
#include <string_view>

#include "contract/error.h"

namespace tsc::tok {

// Whether this library was built with ICU (CMake option TSC_WITH_ICU). Without it, regex Split
// patterns other than GPT-2's, and the NFC/NFD/NFKC/NFKD/Lowercase normalizers, are refused at
// load time with needs_icu()'s error; everything else behaves the same in both builds.
bool built_with_icu();

// The error for a tokenizer.json component this build cannot run: "<what> needs a tsc built with ICU".
Error needs_icu(const std::string& what);

// The character classes come from tables that tools/gen_unicode_tables.py generates
// (unicode_tables.h), in both builds, so they give the same answers with or without ICU. They
// are on the Unicode version of the regex engine HF tokenizers uses (Oniguruma 6.9.10: 16.0);
// ICU's own \p{..} in Split patterns follows the system ICU's version instead (72: Unicode 15.0).
const char* unicode_tables_version();  // e.g. "16.0.0"

// Rust's char::is_whitespace and regex \s: the White_Space property.
bool is_whitespace(char32_t cp);
// Regex \p{L}: general category L (Lu, Ll, Lt, Lm, Lo).
bool is_letter(char32_t cp);
// Rust's char::is_numeric and regex \p{N}: general category N (Nd, Nl, No).
bool is_numeric(char32_t cp);
// Regex \w: Alphabetic, marks, decimal digits, connector punctuation, join controls.
bool is_word_char(char32_t cp);
// HF's is_punc: ASCII punctuation or general category P. (HF's table for this one predates
// Unicode 10, so its Punctuation pre-tokenizer misses ~100 newer punctuation marks that we split.)
bool is_punctuation(char32_t cp);
// General category M (what HF's StripAccents removes).
bool is_mark(char32_t cp);

// ICU builds only: without ICU these throw needs_icu() (make_normalizer refuses them earlier).
enum class NormalForm { NFC, NFD, NFKC, NFKD };
std::string normalize(NormalForm form, std::string_view s);  // s must be valid UTF-8
std::string to_lower(std::string_view s);                     // full Unicode lowercasing

}  // namespace tsc::tok
