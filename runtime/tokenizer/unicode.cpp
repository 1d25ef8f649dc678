// Character classes from the generated range tables; normalization and lowercasing via ICU when built with it.
#include "runtime/tokenizer/unicode.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <iterator>

#include "runtime/tokenizer/unicode_tables.h"
#include "runtime/tokenizer/utf8.h"

#ifndef TSC_TOKENIZER_ICU
#error "TSC_TOKENIZER_ICU must be 0 or 1 (runtime/tokenizer/CMakeLists.txt sets it from TSC_WITH_ICU)"
#endif
#if TSC_TOKENIZER_ICU
#include <unicode/bytestream.h>
#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/unistr.h>
#endif

namespace tsc::tok {

namespace {

namespace ut = unicode_tables;

enum Flag : uint8_t { kWhiteSpace = 1, kLetter = 2, kNumber = 4, kPunctuation = 8, kMark = 16, kWord = 32 };

template <size_t N>
bool in_table(const char32_t (&table)[N][2], char32_t cp) {
  // The first range whose last code point is >= cp is the only one that can hold it.
  auto it = std::lower_bound(std::begin(table), std::end(table), cp,
                             [](const char32_t(&r)[2], char32_t c) { return r[1] < c; });
  return it != std::end(table) && (*it)[0] <= cp;
}

// The classes of every BMP code point, one byte each (64 KiB, built once); the rest of the
// code space is rarer, and is answered by binary search in the tables.
class BmpFlags {
 public:
  BmpFlags() {
    mark(ut::kWhiteSpace, kWhiteSpace);
    mark(ut::kLetter, kLetter);
    mark(ut::kNumber, kNumber);
    mark(ut::kPunctuation, kPunctuation);
    mark(ut::kMark, kMark);
    mark(ut::kWord, kWord);
  }
  uint8_t operator[](char32_t cp) const { return flags_[cp]; }

 private:
  template <size_t N>
  void mark(const char32_t (&table)[N][2], uint8_t flag) {
    for (const auto& r : table)
      for (char32_t c = r[0]; c <= r[1] && c < flags_.size(); ++c) flags_[c] |= flag;
  }
  std::array<uint8_t, 0x10000> flags_{};
};

const BmpFlags& bmp() {
  static const BmpFlags flags;
  return flags;
}

template <size_t N>
bool has(char32_t cp, uint8_t flag, const char32_t (&table)[N][2]) {
  return cp < 0x10000 ? (bmp()[cp] & flag) != 0 : in_table(table, cp);
}

}  // namespace

bool built_with_icu() { return TSC_TOKENIZER_ICU != 0; }

Error needs_icu(const std::string& what) {
  return Error(what + " needs a tsc built with ICU",
               "this tsc was configured with -DTSC_WITH_ICU=OFF; install ICU (Debian/Ubuntu: libicu-dev) and "
               "reconfigure with -DTSC_WITH_ICU=ON. A build without ICU runs GPT-2/SmolLM2 (ByteLevel) and "
               "Llama/Mistral (Metaspace, Prepend, Replace, ByteFallback) tokenizers, but no regex pattern other "
               "than GPT-2's and plain text, and no NFC/NFD/NFKC/NFKD/Lowercase normalizer");
}

const char* unicode_tables_version() { return ut::kUnicodeVersion; }

bool is_whitespace(char32_t cp) { return has(cp, kWhiteSpace, ut::kWhiteSpace); }
bool is_letter(char32_t cp) { return has(cp, kLetter, ut::kLetter); }
bool is_numeric(char32_t cp) { return has(cp, kNumber, ut::kNumber); }
bool is_word_char(char32_t cp) { return has(cp, kWord, ut::kWord); }
bool is_mark(char32_t cp) { return has(cp, kMark, ut::kMark); }

bool is_punctuation(char32_t cp) {
  bool ascii_punct = cp < 0x80 && ((cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) ||
                                   (cp >= 0x5B && cp <= 0x60) || (cp >= 0x7B && cp <= 0x7E));
  return ascii_punct || has(cp, kPunctuation, ut::kPunctuation);
}

#if TSC_TOKENIZER_ICU

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

#else

std::string normalize(NormalForm form, std::string_view) {
  static const char* const names[] = {"NFC", "NFD", "NFKC", "NFKD"};
  throw needs_icu(std::string("Unicode normalization ") + names[static_cast<int>(form)]);
}

std::string to_lower(std::string_view) { throw needs_icu("Unicode lowercasing"); }

#endif

}  // namespace tsc::tok
