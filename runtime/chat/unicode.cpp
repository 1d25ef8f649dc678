// Unicode character data for Python's str methods, from ICU (TSC_CHAT_ICU=1) or ASCII-only without it.
#include "runtime/chat/unicode.h"

#include "runtime/chat/op_error.h"
#include "runtime/chat/text.h"

#if TSC_CHAT_ICU
#include <unicode/locid.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#endif

namespace tsc::chat::uni {

#if TSC_CHAT_ICU

namespace {

std::string to_utf8(const icu::UnicodeString& u) {
  std::string out;
  u.toUTF8String(out);
  return out;
}

icu::UnicodeString from_utf8(std::string_view s) {
  return icu::UnicodeString::fromUTF8(icu::StringPiece(s.data(), static_cast<int32_t>(s.size())));
}

}  // namespace

bool have_tables() { return true; }
std::string upper(std::string_view s) { return to_utf8(from_utf8(s).toUpper(icu::Locale::getRoot())); }
std::string lower(std::string_view s) { return to_utf8(from_utf8(s).toLower(icu::Locale::getRoot())); }

std::string title_char(char32_t c) {
  // No break iterator logic: one code point is one word.
  icu::UnicodeString u(static_cast<UChar32>(c));
  u.toTitle(nullptr, icu::Locale::getRoot(), U_TITLECASE_NO_LOWERCASE | U_TITLECASE_NO_BREAK_ADJUSTMENT);
  return to_utf8(u);
}

bool is_cased(char32_t c) { return u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_CASED); }

bool is_printable(char32_t c) {
  if (c == ' ') return true;
  switch (u_charType(static_cast<UChar32>(c))) {
    case U_CONTROL_CHAR:
    case U_FORMAT_CHAR:
    case U_SURROGATE:
    case U_PRIVATE_USE_CHAR:
    case U_UNASSIGNED:
    case U_LINE_SEPARATOR:
    case U_PARAGRAPH_SEPARATOR:
    case U_SPACE_SEPARATOR: return false;
    default: return true;
  }
}

bool is_digit(char32_t c) { return u_isdigit(static_cast<UChar32>(c)); }
bool is_alpha(char32_t c) { return u_isalpha(static_cast<UChar32>(c)); }
bool is_upper(char32_t c) { return u_isupper(static_cast<UChar32>(c)); }
bool is_lower(char32_t c) { return u_islower(static_cast<UChar32>(c)); }
bool is_title(char32_t c) { return u_istitle(static_cast<UChar32>(c)); }

#else  // ASCII only

namespace {

char32_t ascii(char32_t c, const char* what) {
  if (c >= 0x80)
    throw Unsupported(std::string(what) +
                      " of non-ASCII text needs ICU, and this build has none (TSC_WITH_ICU=OFF)");
  return c;
}

std::string map_ascii(std::string_view s, bool to_upper, const char* what) {
  std::string out;
  for (char32_t c : utf8_decode(s)) {
    c = ascii(c, what);
    if (to_upper && c >= 'a' && c <= 'z') c -= 32;
    if (!to_upper && c >= 'A' && c <= 'Z') c += 32;
    out += static_cast<char>(c);
  }
  return out;
}

}  // namespace

bool have_tables() { return false; }
std::string upper(std::string_view s) { return map_ascii(s, true, "upper-casing"); }
std::string lower(std::string_view s) { return map_ascii(s, false, "lower-casing"); }
std::string title_char(char32_t c) {
  return map_ascii(std::string(1, static_cast<char>(ascii(c, "title-casing"))), true, "");
}
bool is_cased(char32_t c) { return (ascii(c, "title-casing") | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
bool is_printable(char32_t c) { return ascii(c, "repr()") >= 0x20 && c != 0x7F; }
bool is_digit(char32_t c) { return ascii(c, "isdigit()") >= '0' && c <= '9'; }
bool is_alpha(char32_t c) { return (ascii(c, "isalpha()") | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
bool is_upper(char32_t c) { return ascii(c, "isupper()") >= 'A' && c <= 'Z'; }
bool is_lower(char32_t c) { return ascii(c, "islower()") >= 'a' && c <= 'z'; }
bool is_title(char32_t c) {
  ascii(c, "istitle()");
  return false;  // no ASCII letter is titlecase
}

#endif

}  // namespace tsc::chat::uni
