// Chat-template lexer, following jinja2/lexer.py rule for rule (tag rules, whitespace control, literals).
#include "runtime/chat/lexer.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "runtime/chat/text.h"
#include "contract/error.h"

namespace tsc::chat {

SourceText::SourceText(std::string_view raw) {
  text_.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\r') {
      if (i + 1 < raw.size() && raw[i + 1] == '\n') ++i;
      text_ += '\n';
    } else {
      text_ += raw[i];
    }
  }
  if (!text_.empty() && text_.back() == '\n') text_.pop_back();
}

std::string SourceText::where(size_t pos) const {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < pos && i < text_.size(); ++i) {
    if (text_[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

const char* const kSubsetHint =
    "tsc renders a documented subset of Jinja2 (runtime/chat/README.md); simplify the template or pass a "
    "supported one";
const char* const kRenderHint =
    "the chat template failed on this conversation; check the messages it was given (roles, order, contents)";

void fail_at(const SourceText& src, size_t pos, const std::string& message, const char* hint) {
  throw Error("chat template: " + message + " at " + src.where(pos), hint);
}

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }
int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class Lexer {
 public:
  explicit Lexer(const SourceText& src) : src_(src), s_(src.text()) {}

  std::vector<Token> run() {
    while (pos_ < s_.size()) {
      size_t start = find_tag_start(pos_);
      if (start == std::string::npos) {
        emit_data(s_.substr(pos_), pos_);
        break;
      }
      char kind = s_[start + 1];
      size_t after = start + 2;
      char sign = 0;
      if (after < s_.size() && (s_[after] == '-' || s_[after] == '+')) sign = s_[after++];
      std::string text = s_.substr(pos_, start - pos_);
      size_t raw_end = kind == '%' ? match_raw_begin(after) : std::string::npos;
      emit_data(strip_before_tag(std::move(text), sign, kind != '{'), pos_);
      if (raw_end != std::string::npos) {
        lex_raw(start, raw_end);
      } else if (kind == '#') {
        lex_comment(start, after);
      } else {
        lex_tag(kind == '%', start, after);
      }
    }
    out_.push_back({Tok::kEof, "", 0, 0, s_.size()});
    return std::move(out_);
  }

 private:
  size_t find_tag_start(size_t from) const {
    for (size_t i = s_.find('{', from); i != std::string::npos; i = s_.find('{', i + 1))
      if (i + 1 < s_.size() && (s_[i + 1] == '{' || s_[i + 1] == '%' || s_[i + 1] == '#')) return i;
    return std::string::npos;
  }

  // Python's re \s, on the code point at i; returns its byte length or 0.
  size_t space_at(size_t i) const {
    unsigned char c = s_[i];
    if (c < 0x80) return py_isspace(c) ? 1 : 0;
    size_t n = (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    if (i + n > s_.size()) return 0;
    std::u32string cp = utf8_decode(std::string_view(s_).substr(i, n));
    return cp.size() == 1 && py_isspace(cp[0]) ? n : 0;
  }
  size_t skip_space(size_t i) const {
    while (i < s_.size()) {
      size_t n = space_at(i);
      if (!n) break;
      i += n;
    }
    return i;
  }
  bool starts(size_t i, std::string_view lit) const { return s_.compare(i, lit.size(), lit) == 0; }

  // OptionalLStrip: `-` strips all trailing whitespace of the text before a tag; otherwise lstrip_blocks
  // drops the whitespace between the line's start and a block/comment tag when nothing else is there.
  std::string strip_before_tag(std::string text, char sign, bool block_or_comment) const {
    if (sign == '-') return py_strip(text, std::nullopt, false, true);
    if (sign == '+' || !block_or_comment) return text;
    size_t l_pos = text.rfind('\n');
    l_pos = l_pos == std::string::npos ? 0 : l_pos + 1;
    if ((l_pos > 0 || line_starting_) && l_pos < text.size()) {
      std::u32string tail = utf8_decode(std::string_view(text).substr(l_pos));
      bool all_space = true;
      for (char32_t c : tail) all_space = all_space && py_isspace(c);
      if (all_space) text.resize(l_pos);
    }
    return text;
  }

  void emit_data(std::string text, size_t pos) {
    if (!text.empty()) out_.push_back({Tok::kData, std::move(text), 0, 0, pos});
  }

  // The end of a block tag: `+%}` keeps what follows, `-%}` eats all whitespace, `%}` eats one newline
  // (trim_blocks). Returns the end offset or npos when no block end starts at i.
  size_t match_block_end(size_t i, std::string_view close) const {
    if (s_[i] == '+' && starts(i + 1, close)) return i + 1 + close.size();
    if (s_[i] == '-' && starts(i + 1, close)) return skip_space(i + 1 + close.size());
    if (starts(i, close)) {
      size_t end = i + close.size();
      return end < s_.size() && s_[end] == '\n' ? end + 1 : end;
    }
    return std::string::npos;
  }

  // `{%[-+]? \s* raw \s* (-%}\s* | %})` after the sign; returns the offset after it or npos.
  size_t match_raw_begin(size_t after) const {
    size_t i = skip_space(after);
    if (!starts(i, "raw")) return std::string::npos;
    i = skip_space(i + 3);
    if (starts(i, "-%}")) return skip_space(i + 3);
    if (starts(i, "%}")) return i + 2;  // no trim_blocks newline here: Jinja's raw rule has no suffix
    return std::string::npos;
  }

  void lex_raw(size_t start, size_t body) {
    line_starting_ = s_[body - 1] == '\n';
    if (body == s_.size()) {  // Jinja's lexer ends quietly when nothing follows an opening raw/comment tag
      pos_ = body;
      return;
    }
    for (size_t i = s_.find("{%", body); i != std::string::npos; i = s_.find("{%", i + 1)) {
      size_t j = i + 2;
      char sign = 0;
      if (j < s_.size() && (s_[j] == '-' || s_[j] == '+')) sign = s_[j++];
      j = skip_space(j);
      if (!starts(j, "endraw")) continue;
      j = skip_space(j + 6);
      size_t end = j < s_.size() ? match_block_end(j, "%}") : std::string::npos;
      if (end == std::string::npos) continue;
      emit_data(strip_before_tag(s_.substr(body, i - body), sign, true), body);
      pos_ = end;
      line_starting_ = s_[end - 1] == '\n';
      return;
    }
    fail_at(src_, start, "missing end of raw directive ({% endraw %})");
  }

  void lex_comment(size_t start, size_t after) {
    // The first `#}`, taking a `-` or `+` right before it (but after the opening sign) as its sign.
    if (after == s_.size()) {
      pos_ = after;
      return;
    }
    size_t j = s_.find("#}", after);
    if (j == std::string::npos) fail_at(src_, start, "missing end of comment tag (#})");
    size_t i = (j > after && (s_[j - 1] == '-' || s_[j - 1] == '+')) ? j - 1 : j;
    pos_ = match_block_end(i, "#}");
    line_starting_ = s_[pos_ - 1] == '\n';
  }

  void lex_tag(bool block, size_t start, size_t after) {
    out_.push_back({block ? Tok::kBlockBegin : Tok::kVarBegin, "", 0, 0, start});
    std::string balance;  // the closing brackets owed; tag ends count only when it is empty
    size_t i = after;
    while (true) {
      if (i >= s_.size())
        fail_at(src_, start,
                std::string("unexpected end of template inside a ") + (block ? "{% %} tag" : "{{ }} expression"));
      if (balance.empty()) {
        size_t end = std::string::npos;
        if (block) {
          end = match_block_end(i, "%}");
        } else if (s_[i] == '-' && starts(i + 1, "}}")) {
          end = skip_space(i + 3);
        } else if (starts(i, "}}")) {
          end = i + 2;
        }
        if (end != std::string::npos) {
          out_.push_back({block ? Tok::kBlockEnd : Tok::kVarEnd, "", 0, 0, i});
          pos_ = end;
          line_starting_ = s_[end - 1] == '\n';
          return;
        }
      }
      if (size_t n = space_at(i)) {
        i += n;
        continue;
      }
      if (size_t n = lex_number(i)) {
        i += n;
        continue;
      }
      if (is_name_start(s_[i])) {
        size_t j = i;
        while (j < s_.size() && is_name_char(s_[j])) ++j;
        out_.push_back({Tok::kName, s_.substr(i, j - i), 0, 0, i});
        i = j;
        continue;
      }
      if (s_[i] == '\'' || s_[i] == '"') {
        i = lex_string(i);
        continue;
      }
      i = lex_operator(i, balance);
    }
  }

  // Jinja's float_re then integer_re (underscores allowed between digits). Returns the length matched.
  size_t lex_number(size_t i) {
    if (!is_digit(s_[i])) return 0;
    auto digits = [&](size_t j) {  // (\d+_)*\d+
      size_t k = j;
      while (k < s_.size() && is_digit(s_[k])) {
        while (k < s_.size() && is_digit(s_[k])) ++k;
        if (k + 1 < s_.size() && s_[k] == '_' && is_digit(s_[k + 1])) ++k;
      }
      return k;
    };
    auto clean = [](std::string t) {
      std::string out;
      for (char c : t)
        if (c != '_') out += c;
      return out;
    };
    size_t int_end = digits(i);
    // float: digits ((.digits)? e[+-]?digits | .digits), not right after a '.' (as in `x.0.1`)
    if (i == 0 || s_[i - 1] != '.') {
      size_t j = int_end;
      bool has_frac = false;
      if (j + 1 < s_.size() && s_[j] == '.' && is_digit(s_[j + 1])) {
        j = digits(j + 1);
        has_frac = true;
      }
      size_t k = j;
      if (k < s_.size() && (s_[k] == 'e' || s_[k] == 'E')) {
        size_t m = k + 1;
        if (m < s_.size() && (s_[m] == '+' || s_[m] == '-')) ++m;
        if (m < s_.size() && is_digit(s_[m])) {
          j = digits(m);
          has_frac = true;
        }
      }
      if (has_frac) {
        std::string t = clean(s_.substr(i, j - i));
        out_.push_back({Tok::kFloat, t, 0, std::strtod(t.c_str(), nullptr), i});
        return j - i;
      }
    }
    // integer: 0b/0o/0x prefixes, or decimal without a leading zero (except 0, 00, 0_0).
    int base = 10;
    size_t body = i, end = int_end;
    if (s_[i] == '0' && i + 1 < s_.size()) {
      char p = static_cast<char>(s_[i + 1] | 0x20);
      base = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 10;
      if (base != 10) {
        auto is_digit_in_base = [&](size_t k) {
          int h = k < s_.size() ? hex_value(s_[k]) : -1;
          return h >= 0 && h < base;
        };
        body = end = i + 2;
        while (is_digit_in_base(end) || (s_[end] == '_' && is_digit_in_base(end + 1))) ++end;
        if (end == body) {  // "0x" without digits: the integer 0, then the name x...
          base = 10;
          body = i;
          end = i + 1;
        }
      } else {
        end = i + 1;
        while (end < s_.size() &&
               (s_[end] == '0' || (s_[end] == '_' && end + 1 < s_.size() && s_[end + 1] == '0')))
          ++end;
      }
    }
    std::string t = clean(s_.substr(body, end - body));
    errno = 0;
    long long v = std::strtoll(t.c_str(), nullptr, base);
    if (errno == ERANGE) fail_at(src_, i, "integer literal " + s_.substr(i, end - i) + " is too large");
    out_.push_back({Tok::kInt, s_.substr(i, end - i), v, 0, i});
    return end - i;
  }

  // A quoted literal, decoded as Jinja does (Python's unicode-escape). Returns the offset after it.
  size_t lex_string(size_t i) {
    char q = s_[i];
    size_t j = i + 1;
    while (j < s_.size() && s_[j] != q) j += s_[j] == '\\' ? 2 : 1;
    if (j >= s_.size()) fail_at(src_, i, std::string("unterminated string literal (missing ") + q + ")");
    out_.push_back({Tok::kString, unescape(i + 1, j), 0, 0, i});
    return j + 1;
  }

  std::string unescape(size_t b, size_t e) const {
    std::string out;
    for (size_t i = b; i < e;) {
      if (s_[i] != '\\') {
        out += s_[i++];
        continue;
      }
      char c = s_[i + 1];
      i += 2;
      switch (c) {
        case '\n': break;  // line continuation
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'v': out += '\v'; break;
        case 'x':
        case 'u':
        case 'U': {
          size_t n = c == 'x' ? 2 : c == 'u' ? 4 : 8;
          uint32_t cp = 0;
          for (size_t k = 0; k < n; ++k) {
            int h = i + k < e ? hex_value(s_[i + k]) : -1;
            if (h < 0) fail_at(src_, i - 2, std::string("truncated \\") + c + " escape in string literal");
            cp = cp * 16 + static_cast<uint32_t>(h);
          }
          if (cp > 0x10FFFF) fail_at(src_, i - 2, "illegal Unicode character in string literal");
          utf8_append(out, cp);
          i += n;
          break;
        }
        case 'N': fail_at(src_, i - 2, "\\N{...} escapes are not supported in string literals");
        default:
          if (c >= '0' && c <= '7') {
            uint32_t cp = c - '0';
            for (int k = 0; k < 2 && i < e && s_[i] >= '0' && s_[i] <= '7'; ++k) cp = cp * 8 + (s_[i++] - '0');
            utf8_append(out, cp);
          } else if (static_cast<unsigned char>(c) >= 0x80) {
            // Jinja backslash-escapes non-ASCII before decoding, so "\é" reads as a backslash and "xe9".
            size_t n = 1;
            while (i - 1 + n < e && (static_cast<unsigned char>(s_[i - 1 + n]) & 0xC0) == 0x80) ++n;
            char32_t cp = utf8_decode(std::string_view(s_).substr(i - 1, n))[0];
            char buf[16];
            std::snprintf(buf, sizeof buf, cp < 0x100 ? "\\x%02x" : cp < 0x10000 ? "\\u%04x" : "\\U%08x", cp);
            out += '\\';
            out += buf;
            i += n - 1;
          } else {
            out += '\\';  // unknown escapes stay as written
            out += c;
          }
      }
    }
    return out;
  }

  size_t lex_operator(size_t i, std::string& balance) {
    static const char* kTwo[] = {"//", "**", "==", "!=", ">=", "<="};
    for (const char* op : kTwo) {
      if (starts(i, op)) {
        out_.push_back({Tok::kOp, op, 0, 0, i});
        return i + 2;
      }
    }
    char c = s_[i];
    if (std::string_view("+-/*%~[](){}><=.:|,;").find(c) == std::string_view::npos) {
      std::string shown = static_cast<unsigned char>(c) < 0x80 ? std::string(1, c) : "non-ASCII character";
      fail_at(src_, i, "unexpected character '" + shown + "' in expression");
    }
    if (c == '(' || c == '[' || c == '{') balance.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
    if (c == ')' || c == ']' || c == '}') {
      if (balance.empty()) fail_at(src_, i, std::string("unexpected '") + c + "'");
      if (balance.back() != c)
        fail_at(src_, i, std::string("unexpected '") + c + "', expected '" + balance.back() + "'");
      balance.pop_back();
    }
    out_.push_back({Tok::kOp, std::string(1, c), 0, 0, i});
    return i + 1;
  }

  const SourceText& src_;
  const std::string& s_;
  size_t pos_ = 0;
  bool line_starting_ = true;  // the previous tag's end consumed a newline (or we are at the start)
  std::vector<Token> out_;
};

}  // namespace

std::vector<Token> lex(const SourceText& src) { return Lexer(src).run(); }

}  // namespace tsc::chat
