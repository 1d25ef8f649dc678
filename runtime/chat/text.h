// Python str semantics over UTF-8 strings (code-point indexing, whitespace, case mapping, repr).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tsc::chat {

// Templates index, slice and measure strings in code points, as Python does; strings stay UTF-8
// everywhere else. Invalid UTF-8 decodes to U+FFFD (inputs come from JSON, which is valid).
std::u32string utf8_decode(std::string_view s);
std::string utf8_encode(std::u32string_view s);
void utf8_append(std::string& out, char32_t c);
int64_t utf8_length(std::string_view s);

// str.isspace(): what str.strip()/split() and Jinja's whitespace control (Python's re \s) remove.
bool py_isspace(char32_t c);
bool py_isprintable(char32_t c);

// str.strip/lstrip/rstrip: chars = nullopt strips whitespace, else any code point in *chars.
std::string py_strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right);
// Full Unicode case mappings (ICU's root locale; Python's str.upper()/lower() agree, e.g. ß -> SS).
std::string py_upper(std::string_view s);
std::string py_lower(std::string_view s);
std::string py_title(std::string_view s);       // str.title()
std::string py_capitalize(std::string_view s);  // str.capitalize()
// Jinja's title filter: words start after runs of whitespace or -({[<, unlike str.title().
std::string jinja_title(std::string_view s);

// str.split(sep, maxsplit) / str.rsplit: sep = nullopt splits on whitespace runs. Throws on an empty sep.
std::vector<std::string> py_split(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit,
                                  bool from_right);
std::string py_replace(std::string_view s, std::string_view old, std::string_view repl, int64_t count);
// str.find/rfind in code points (-1 when absent); str.count of non-overlapping occurrences.
int64_t py_find(std::string_view s, std::string_view sub, bool from_right);
int64_t py_count(std::string_view s, std::string_view sub);

// repr(str): quotes and escapes as Python prints strings inside lists and dicts.
std::string py_repr(std::string_view s);
// json.dumps(str, ensure_ascii=False).
std::string json_quote(std::string_view s);
// repr(float): shortest round-trip digits, exponent form outside 1e-4 <= |x| < 1e16.
std::string py_float_repr(double x);

}  // namespace tsc::chat
