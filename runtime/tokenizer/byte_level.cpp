// GPT-2's bytes_to_unicode table: printable bytes map to themselves, the others to U+0100 upwards.
#include "runtime/tokenizer/byte_level.h"

#include <array>

#include "runtime/tokenizer/utf8.h"

namespace tsc::tok {

namespace {

struct Tables {
  std::array<std::string, 256> to_char;        // byte -> UTF-8 of its character
  std::array<int, 0x144> to_byte;              // code point -> byte, -1 if none (max code point is U+0143)
  Tables() {
    to_byte.fill(-1);
    auto printable = [](int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); };
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      char32_t cp = printable(b) ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + n++);
      append_utf8(to_char[b], cp);
      to_byte[cp] = b;
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

void bytes_to_byte_level(std::string_view bytes, std::string& out) {
  const Tables& t = tables();
  for (unsigned char b : bytes) out += t.to_char[b];
}

std::optional<unsigned char> byte_level_to_byte(char32_t cp) {
  const Tables& t = tables();
  if (cp >= t.to_byte.size() || t.to_byte[cp] < 0) return std::nullopt;
  return static_cast<unsigned char>(t.to_byte[cp]);
}

}  // namespace tsc::tok
