// UTF-8 helpers for the tokenizer: stepping through code points and Rust-compatible lossy decoding.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace tsc::tok {

// Length in bytes of the UTF-8 sequence that starts with `lead` (1 for stray bytes), for text
// already known to be valid.
inline size_t utf8_len(unsigned char lead) {
  return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

// Decodes the code point at s[i] of a valid UTF-8 string and advances i past it.
char32_t next_code_point(std::string_view s, size_t& i);

// Appends code point `cp` to `out` as UTF-8.
void append_utf8(std::string& out, char32_t cp);

bool is_valid_utf8(std::string_view s);

// Replaces each maximal ill-formed subsequence with U+FFFD, exactly as Rust's
// String::from_utf8_lossy does: HF's byte-level decoder uses it, so decode must match it.
std::string utf8_lossy(std::string_view bytes);

inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace tsc::tok
