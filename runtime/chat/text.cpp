// Python str semantics over UTF-8 strings; case mappings and character classes come from unicode.h.
#include "runtime/chat/text.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "runtime/chat/unicode.h"
#include "contract/error.h"
#include "runtime/tokenizer/utf8.h"

namespace tsc::chat {
namespace {

// Decodes one code point at s[i], advancing i; malformed sequences give U+FFFD and skip one byte.
char32_t next_cp(std::string_view s, size_t& i) {
  unsigned char c = s[i];
  if (c < 0x80) {
    ++i;
    return c;
  }
  int n = (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : 0;
  if (n == 0 || i + n >= s.size()) {
    ++i;
    return 0xFFFD;
  }
  char32_t cp = c & (0x3F >> n);
  for (int k = 1; k <= n; ++k) {
    unsigned char cc = s[i + k];
    if ((cc & 0xC0) != 0x80) {
      ++i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (cc & 0x3F);
  }
  i += n + 1;
  return cp;
}

std::string cp_upper(char32_t c) { return uni::upper(utf8_encode(std::u32string(1, c))); }
std::string cp_lower(char32_t c) { return uni::lower(utf8_encode(std::u32string(1, c))); }

void append_hex(std::string& out, const char* prefix, unsigned v, int width) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%s%0*x", prefix, width, v);
  out += buf;
}

// Byte offset -> code-point index.
int64_t cp_index(std::string_view s, size_t byte) { return utf8_length(s.substr(0, byte)); }

}  // namespace

std::u32string utf8_decode(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) out.push_back(next_cp(s, i));
  return out;
}

void utf8_append(std::string& out, char32_t c) { tok::append_utf8(out, c); }

std::string utf8_encode(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) utf8_append(out, c);
  return out;
}

int64_t utf8_length(std::string_view s) {
  int64_t n = 0;
  for (size_t i = 0; i < s.size();) {
    next_cp(s, i);
    ++n;
  }
  return n;
}

bool py_isspace(char32_t c) {
  // CPython's _PyUnicode_IsWhitespace: bidi classes WS, B, S and category Zs.
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool py_isprintable(char32_t c) { return c < 0x80 ? (c >= 0x20 && c != 0x7F) : uni::is_printable(c); }

std::string py_strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right) {
  std::u32string u = utf8_decode(s);
  std::u32string set = chars ? utf8_decode(*chars) : std::u32string();
  auto strip_me = [&](char32_t c) { return chars ? set.find(c) != std::u32string::npos : py_isspace(c); };
  size_t b = 0, e = u.size();
  if (left)
    while (b < e && strip_me(u[b])) ++b;
  if (right)
    while (e > b && strip_me(u[e - 1])) --e;
  return utf8_encode(std::u32string_view(u).substr(b, e - b));
}

std::string py_upper(std::string_view s) { return uni::upper(s); }
std::string py_lower(std::string_view s) { return uni::lower(s); }

std::string py_title(std::string_view s) {
  // CPython's do_title: titlecase a code point after an uncased one, lowercase it after a cased one.
  std::string out;
  bool prev_cased = false;
  for (char32_t c : utf8_decode(s)) {
    out += prev_cased ? cp_lower(c) : uni::title_char(c);
    prev_cased = uni::is_cased(c);
  }
  return out;
}

std::string py_capitalize(std::string_view s) {
  std::u32string u = utf8_decode(s);
  if (u.empty()) return {};
  return uni::title_char(u[0]) + py_lower(utf8_encode(std::u32string_view(u).substr(1)));
}

std::string jinja_title(std::string_view s) {
  // re.split(r"([-\s({\[<]+)", s): separator runs pass through; each word is upper(first) + lower(rest).
  auto is_sep = [](char32_t c) {
    return c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || py_isspace(c);
  };
  std::u32string u = utf8_decode(s);
  std::string out;
  for (size_t i = 0; i < u.size();) {
    size_t j = i;
    bool sep = is_sep(u[i]);
    while (j < u.size() && is_sep(u[j]) == sep) ++j;
    if (sep) {
      out += utf8_encode(std::u32string_view(u).substr(i, j - i));
    } else {
      out += cp_upper(u[i]);
      out += py_lower(utf8_encode(std::u32string_view(u).substr(i + 1, j - i - 1)));
    }
    i = j;
  }
  return out;
}

std::vector<std::string> py_split(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit,
                                  bool from_right) {
  std::vector<std::string> parts;
  if (maxsplit < 0) maxsplit = INT64_MAX;
  if (sep) {
    if (sep->empty()) throw Error("empty separator", "str.split() needs a non-empty separator");
    if (!from_right) {
      size_t start = 0;
      for (int64_t n = 0; n < maxsplit; ++n) {
        size_t at = s.find(*sep, start);
        if (at == std::string_view::npos) break;
        parts.emplace_back(s.substr(start, at - start));
        start = at + sep->size();
      }
      parts.emplace_back(s.substr(start));
    } else {
      size_t end = s.size();
      for (int64_t n = 0; n < maxsplit && end >= sep->size(); ++n) {
        size_t at = s.rfind(*sep, end - sep->size());
        if (at == std::string_view::npos) break;
        parts.emplace_back(s.substr(at + sep->size(), end - at - sep->size()));
        end = at;
      }
      parts.emplace_back(s.substr(0, end));
      std::reverse(parts.begin(), parts.end());
    }
    return parts;
  }
  // Whitespace runs: no empty parts; once maxsplit is reached the rest is one part, stripped only on
  // the side the split came from.
  std::u32string u = utf8_decode(s);
  if (!from_right) {
    size_t i = 0, n = u.size();
    int64_t splits = 0;
    while (true) {
      while (i < n && py_isspace(u[i])) ++i;
      if (i == n) break;
      if (splits == maxsplit) {
        parts.push_back(utf8_encode(std::u32string_view(u).substr(i)));
        break;
      }
      size_t j = i;
      while (j < n && !py_isspace(u[j])) ++j;
      parts.push_back(utf8_encode(std::u32string_view(u).substr(i, j - i)));
      ++splits;
      i = j;
    }
  } else {
    size_t e = u.size();
    int64_t splits = 0;
    while (true) {
      while (e > 0 && py_isspace(u[e - 1])) --e;
      if (e == 0) break;
      if (splits == maxsplit) {
        parts.push_back(utf8_encode(std::u32string_view(u).substr(0, e)));
        break;
      }
      size_t b = e;
      while (b > 0 && !py_isspace(u[b - 1])) --b;
      parts.push_back(utf8_encode(std::u32string_view(u).substr(b, e - b)));
      ++splits;
      e = b;
    }
    std::reverse(parts.begin(), parts.end());
  }
  return parts;
}

std::string py_replace(std::string_view s, std::string_view old, std::string_view repl, int64_t count) {
  if (count < 0) count = INT64_MAX;
  std::string out;
  if (old.empty()) {
    // Python inserts repl before every code point and at the end.
    std::u32string u = utf8_decode(s);
    int64_t n = 0;
    for (char32_t c : u) {
      if (n++ < count) out += repl;
      utf8_append(out, c);
    }
    if (n < count) out += repl;
    return out;
  }
  size_t start = 0;
  for (int64_t n = 0; n < count; ++n) {
    size_t at = s.find(old, start);
    if (at == std::string_view::npos) break;
    out += s.substr(start, at - start);
    out += repl;
    start = at + old.size();
  }
  out += s.substr(start);
  return out;
}

int64_t py_find(std::string_view s, std::string_view sub, bool from_right) {
  size_t at = from_right ? s.rfind(sub) : s.find(sub);
  return at == std::string_view::npos ? -1 : cp_index(s, at);
}

int64_t py_count(std::string_view s, std::string_view sub) {
  if (sub.empty()) return utf8_length(s) + 1;
  int64_t n = 0;
  for (size_t at = s.find(sub); at != std::string_view::npos; at = s.find(sub, at + sub.size())) ++n;
  return n;
}

std::string py_repr(std::string_view s) {
  std::u32string u = utf8_decode(s);
  bool has_single = u.find(U'\'') != std::u32string::npos, has_double = u.find(U'"') != std::u32string::npos;
  char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (char32_t c : u) {
    if (c == static_cast<char32_t>(quote) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (!py_isprintable(c)) {
      if (c < 0x100)
        append_hex(out, "\\x", c, 2);
      else if (c < 0x10000)
        append_hex(out, "\\u", c, 4);
      else
        append_hex(out, "\\U", c, 8);
    } else {
      utf8_append(out, c);
    }
  }
  out += quote;
  return out;
}

std::string json_quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20)
          append_hex(out, "\\u", static_cast<unsigned char>(c), 4);
        else
          out += c;
    }
  }
  out += '"';
  return out;
}

std::string py_float_repr(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x < 0 ? "-inf" : "inf";
  // Shortest round-trip digits, as Python's repr; then Python's choice of fixed or exponent form.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  std::string sign;
  if (sci[0] == '-') {
    sign = "-";
    sci.erase(0, 1);
  }
  size_t e = sci.find('e');
  int exp = std::stoi(sci.substr(e + 1));
  std::string digits;
  for (char c : sci.substr(0, e))
    if (c != '.') digits += c;
  int nd = static_cast<int>(digits.size());
  if (exp >= -4 && exp < 16) {
    int point = exp + 1;  // digits before the decimal point
    if (point <= 0) return sign + "0." + std::string(-point, '0') + digits;
    if (point >= nd) return sign + digits + std::string(point - nd, '0') + ".0";
    return sign + digits.substr(0, point) + "." + digits.substr(point);
  }
  std::string out = sign + digits.substr(0, 1);
  if (nd > 1) out += "." + digits.substr(1);
  char ebuf[16];
  std::snprintf(ebuf, sizeof ebuf, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
  return out + ebuf;
}

}  // namespace tsc::chat
