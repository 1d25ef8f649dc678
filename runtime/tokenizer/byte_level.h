// GPT-2's byte-level alphabet: each byte as a printable character, so BPE never sees raw bytes.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace tsc::tok {

// Appends the byte-level characters (as UTF-8) for every byte of `bytes`.
void bytes_to_byte_level(std::string_view bytes, std::string& out);

// The byte a byte-level character stands for, or nothing if `cp` is not in the alphabet.
std::optional<unsigned char> byte_level_to_byte(char32_t cp);

}  // namespace tsc::tok
