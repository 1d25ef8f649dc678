// Chat-template lexer: Jinja2's tokenizer with transformers' settings (trim_blocks, lstrip_blocks).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tsc::chat {

// The template text after Jinja's newline handling (\r\n and \r become \n; one trailing newline is
// dropped, as keep_trailing_newline=False does). Positions in tokens and nodes are offsets into it.
class SourceText {
 public:
  explicit SourceText(std::string_view raw);
  const std::string& text() const { return text_; }
  // "line L, column C" (1-based, columns in bytes) for error messages.
  std::string where(size_t pos) const;

 private:
  std::string text_;
};

// Hints for the two kinds of failure: a construct outside tsc's subset, and a template that fails on the
// conversation it was given (raise_exception, type errors, undefined values).
extern const char* const kSubsetHint;
extern const char* const kRenderHint;

// Throws tsc::Error("chat template: <message> at line L, column C", hint).
[[noreturn]] void fail_at(const SourceText& src, size_t pos, const std::string& message,
                          const char* hint = kSubsetHint);

enum class Tok { kData, kVarBegin, kVarEnd, kBlockBegin, kBlockEnd, kName, kString, kInt, kFloat, kOp, kEof };

struct Token {
  Tok type;
  std::string text;  // data, name, decoded string literal, or operator spelling
  int64_t ival = 0;
  double fval = 0;
  size_t pos = 0;
};

// Splits the template into data and tag tokens, applying whitespace control: `-` strips all whitespace on
// its side, trim_blocks drops the newline after a block or comment tag, lstrip_blocks drops the spaces
// and tabs before a block or comment tag that starts a line, `+` turns the last two off for one tag.
// {% raw %} bodies come out as data. Ends with a kEof token.
std::vector<Token> lex(const SourceText& src);

}  // namespace tsc::chat
