// Unicode character data for Python's str methods: ICU's where tsc is built with it, else ASCII only.
#pragma once
#include <string>
#include <string_view>

namespace tsc::chat::uni {

// Built without ICU (TSC_WITH_ICU=OFF), these know ASCII only and raise chat::Unsupported for any other
// character rather than answer wrongly; text without letters outside ASCII renders the same either way.
bool have_tables();

// Full case mappings in ICU's root locale, which Python's str.upper()/lower() agree with (ß -> SS, final σ).
std::string upper(std::string_view s);
std::string lower(std::string_view s);
std::string title_char(char32_t c);  // full titlecase mapping of one code point (ß -> Ss)

bool is_cased(char32_t c);      // the Cased property (what str.title() looks at)
bool is_printable(char32_t c);  // str.isprintable(): not Cc Cf Cs Co Cn Zl Zp, nor Zs other than space
bool is_digit(char32_t c);      // general category Nd
bool is_alpha(char32_t c);      // general category L
bool is_upper(char32_t c);
bool is_lower(char32_t c);
bool is_title(char32_t c);

}  // namespace tsc::chat::uni
