// Character classes and normalization via ICU, so the tables follow the Unicode standard.
#include "runtime/tokenizer/unicode.h"

#include <unicode/bytestream.h>
#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include "runtime/core/error.h"
#include "runtime/tokenizer/utf8.h"

namespace tsc::tok {

bool is_whitespace(char32_t cp) { return u_hasBinaryProperty(static_cast<UChar32>(cp), UCHAR_WHITE_SPACE); }

bool is_numeric(char32_t cp) { return (U_GET_GC_MASK(static_cast<UChar32>(cp)) & U_GC_N_MASK) != 0; }

bool is_word_char(char32_t cp) {
  auto c = static_cast<UChar32>(cp);
  return u_hasBinaryProperty(c, UCHAR_ALPHABETIC) || (U_GET_GC_MASK(c) & (U_GC_M_MASK | U_GC_ND_MASK | U_GC_PC_MASK)) ||
         u_hasBinaryProperty(c, UCHAR_JOIN_CONTROL);
}

bool is_punctuation(char32_t cp) {
  bool ascii_punct = cp < 0x80 && ((cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) ||
                                   (cp >= 0x5B && cp <= 0x60) || (cp >= 0x7B && cp <= 0x7E));
  return ascii_punct || (U_GET_GC_MASK(static_cast<UChar32>(cp)) & U_GC_P_MASK) != 0;
}

bool is_mark(char32_t cp) { return (U_GET_GC_MASK(static_cast<UChar32>(cp)) & U_GC_M_MASK) != 0; }

std::string normalize(NormalForm form, std::string_view s) {
  UErrorCode st = U_ZERO_ERROR;
  const icu::Normalizer2* n = nullptr;
  switch (form) {
    case NormalForm::NFC: n = icu::Normalizer2::getNFCInstance(st); break;
    case NormalForm::NFD: n = icu::Normalizer2::getNFDInstance(st); break;
    case NormalForm::NFKC: n = icu::Normalizer2::getNFKCInstance(st); break;
    case NormalForm::NFKD: n = icu::Normalizer2::getNFKDInstance(st); break;
  }
  std::string out;
  icu::StringByteSink<std::string> sink(&out, static_cast<int32_t>(s.size()));
  if (U_SUCCESS(st)) n->normalizeUTF8(0, icu::StringPiece(s.data(), static_cast<int32_t>(s.size())), sink, nullptr, st);
  if (U_FAILURE(st)) throw Error(std::string("Unicode normalization failed: ") + u_errorName(st));
  return out;
}

std::string to_lower(std::string_view s) {
  // Character by character, as Rust's char::to_lowercase (which HF uses): full mappings such as
  // U+0130 -> "i\u0307", but no context, so a final capital sigma becomes σ, not ς.
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t b = i;
    char32_t cp = next_code_point(s, i);
    if (cp < 0x80) {
      out += static_cast<char>(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
      continue;
    }
    icu::UnicodeString u = icu::UnicodeString::fromUTF8(icu::StringPiece(s.data() + b, static_cast<int32_t>(i - b)));
    u.toLower(icu::Locale::getRoot()).toUTF8String(out);
  }
  return out;
}

}  // namespace tsc::tok
