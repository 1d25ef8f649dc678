// The parser's token cursor: the position both the statement and the expression parser advance.
#pragma once
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/chat/ast.h"
#include "runtime/chat/lexer.h"

namespace tsc::chat {

struct TokenList {
  const SourceText& src;
  std::vector<Token> tokens;  // ends with kEof
  size_t i = 0;
};

// What Jinja calls a token in its messages ("end of statement block", a name, an operator).
inline std::string describe(const Token& t) {
  switch (t.type) {
    case Tok::kEof: return "end of template";
    case Tok::kBlockEnd: return "end of statement block";
    case Tok::kVarEnd: return "end of print statement";
    case Tok::kBlockBegin: return "begin of statement block";
    case Tok::kVarBegin: return "begin of print statement";
    case Tok::kData: return "template data";
    case Tok::kString: return "string";
    case Tok::kInt: return "integer";
    case Tok::kFloat: return "float";
    default: return t.text;
  }
}

class Cursor {
 public:
  explicit Cursor(TokenList& tl) : tl_(tl) {}

 protected:
  using EK = Expr::Kind;

  const Token& cur() const { return tl_.tokens[tl_.i]; }
  const Token& look() const { return tl_.tokens[std::min(tl_.i + 1, tl_.tokens.size() - 1)]; }
  const Token& next() { return tl_.tokens[tl_.i < tl_.tokens.size() - 1 ? tl_.i++ : tl_.i]; }
  bool is_op(const Token& t, std::string_view op) const { return t.type == Tok::kOp && t.text == op; }
  bool is_op(std::string_view op) const { return is_op(cur(), op); }
  bool is_name(std::string_view n) const { return cur().type == Tok::kName && cur().text == n; }
  bool skip_op(std::string_view op) {
    if (!is_op(op)) return false;
    next();
    return true;
  }
  bool skip_name(std::string_view n) {
    if (!is_name(n)) return false;
    next();
    return true;
  }
  [[noreturn]] void fail(size_t pos, const std::string& msg) const { fail_at(tl_.src, pos, msg); }
  void expect_op(std::string_view op) {
    if (!skip_op(op)) fail(cur().pos, "expected '" + std::string(op) + "', got '" + describe(cur()) + "'");
  }
  const Token& expect(Tok type, const char* what) {
    if (cur().type != type) fail(cur().pos, std::string("expected ") + what + ", got '" + describe(cur()) + "'");
    return next();
  }
  void expect_name(std::string_view n) {
    if (!skip_name(n)) fail(cur().pos, "expected '" + std::string(n) + "', got '" + describe(cur()) + "'");
  }

  ExprPtr node(EK k, size_t pos) { return std::make_unique<Expr>(k, pos); }
  ExprPtr node(EK k, size_t pos, ExprPtr a, ExprPtr b = nullptr) {
    auto e = node(k, pos);
    e->operands.push_back(std::move(a));
    if (b) e->operands.push_back(std::move(b));
    return e;
  }

  TokenList& tl_;
};

}  // namespace tsc::chat
