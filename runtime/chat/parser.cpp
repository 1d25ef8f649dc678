// Chat-template parser: a recursive-descent copy of jinja2/parser.py restricted to tsc's subset.
#include "runtime/chat/parser.h"

#include "runtime/chat/expr_parser.h"

#include <algorithm>
#include <initializer_list>

namespace tsc::chat {
namespace {

using SK = Stmt::Kind;

// Tags that Jinja knows and tsc does not render: they name other templates or need callers/blocks.
const std::vector<std::string> kUnsupportedTags = {"extends", "block", "include",    "import",
                                                   "from",    "call",  "autoescape", "do"};

class Parser : public Cursor {
 public:
  explicit Parser(const SourceText& src) : Cursor(tl_storage_), tl_storage_{src, lex(src)}, ex_(tl_storage_) {}

  Body parse_template() { return subparse({}); }

 private:
  Body subparse(const std::vector<std::string>& end_tokens) {
    Body body;
    while (cur().type != Tok::kEof) {
      const Token& t = cur();
      if (t.type == Tok::kData) {
        auto s = std::make_unique<Stmt>(SK::kData, t.pos);
        s->text = t.text;
        body.push_back(std::move(s));
        next();
      } else if (t.type == Tok::kVarBegin) {
        next();
        auto s = std::make_unique<Stmt>(SK::kOutput, t.pos);
        s->exprs.push_back(ex_.parse_tuple(false, true, {}, false));
        expect(Tok::kVarEnd, "end of print statement '}}'");
        body.push_back(std::move(s));
      } else if (t.type == Tok::kBlockBegin) {
        next();
        if (cur().type == Tok::kName &&
            std::find(end_tokens.begin(), end_tokens.end(), cur().text) != end_tokens.end())
          return body;
        body.push_back(parse_statement());
        expect(Tok::kBlockEnd, "end of statement block '%}'");
      } else {
        fail(t.pos, "unexpected '" + describe(t) + "'");
      }
    }
    if (!end_tokens.empty()) {
      std::string want;
      for (const auto& e : end_tokens) want += (want.empty() ? "'" : " or '") + e + "'";
      fail(cur().pos,
           "unexpected end of template; looking for " + want + " to close the '" + tag_stack_.back() + "' block");
    }
    return body;
  }

  // `:`? `%}` body up to one of end_tokens; drop_needle consumes the end tag's name.
  Body parse_statements(const std::vector<std::string>& end_tokens, bool drop_needle) {
    skip_op(":");
    expect(Tok::kBlockEnd, "end of statement block '%}'");
    Body body = subparse(end_tokens);
    if (drop_needle) next();
    return body;
  }

  StmtPtr parse_statement() {
    const Token& t = cur();
    if (t.type != Tok::kName) fail(t.pos, "tag name expected");
    const std::string name = t.text;
    if (std::find(kUnsupportedTags.begin(), kUnsupportedTags.end(), name) != kUnsupportedTags.end())
      fail(t.pos, "unsupported tag '{% " + name + " %}' (tsc renders self-contained templates only)");
    tag_stack_.push_back(name);
    StmtPtr s;
    if (name == "for")
      s = parse_for();
    else if (name == "if")
      s = parse_if();
    else if (name == "set")
      s = parse_set();
    else if (name == "macro")
      s = parse_macro();
    else if (name == "with")
      s = parse_with();
    else if (name == "filter")
      s = parse_filter_block();
    else if (name == "print")
      s = parse_print();
    else if (name == "generation")
      s = parse_scope("endgeneration");
    else if (name == "break" || name == "continue")
      s = parse_loop_control();
    else if (name.rfind("end", 0) == 0 && tag_stack_.size() > 1)
      fail(t.pos, "unexpected tag '" + name + "'; the innermost block that needs to be closed is '" +
                      tag_stack_[tag_stack_.size() - 2] + "'");
    else if (name.rfind("end", 0) == 0)
      fail(t.pos, "unexpected tag '" + name + "' with no open block");
    else
      fail(t.pos, "unknown tag '" + name + "'");
    tag_stack_.pop_back();
    return s;
  }

  StmtPtr parse_for() {
    auto s = std::make_unique<Stmt>(SK::kFor, next().pos);
    s->exprs.push_back(ex_.parse_assign_target(true, {"in"}, false));
    expect_name("in");
    s->exprs.push_back(ex_.parse_tuple(false, false, {"recursive"}, false));
    s->exprs.push_back(skip_name("if") ? ex_.parse_expression(true) : nullptr);
    if (is_name("recursive")) fail(cur().pos, "unsupported: recursive for loops");
    ++loop_depth_;
    s->bodies.push_back(parse_statements({"endfor", "else"}, false));
    --loop_depth_;
    if (next().text == "endfor") {
      s->bodies.emplace_back();
    } else {
      s->bodies.push_back(parse_statements({"endfor"}, true));
    }
    return s;
  }

  StmtPtr parse_if() {
    auto s = std::make_unique<Stmt>(SK::kIf, next().pos);
    while (true) {
      s->exprs.push_back(ex_.parse_tuple(false, false, {}, false));
      s->bodies.push_back(parse_statements({"elif", "else", "endif"}, false));
      const Token& t = next();
      if (t.text == "elif") continue;
      s->bodies.push_back(t.text == "else" ? parse_statements({"endif"}, true) : Body());
      break;
    }
    return s;
  }

  StmtPtr parse_set() {
    size_t pos = next().pos;
    ExprPtr target = ex_.parse_assign_target(true, {}, true);
    if (skip_op("=")) {
      auto s = std::make_unique<Stmt>(SK::kSet, pos);
      s->exprs.push_back(std::move(target));
      s->exprs.push_back(ex_.parse_tuple(false, true, {}, false));
      return s;
    }
    auto s = std::make_unique<Stmt>(SK::kSetBlock, pos);
    s->exprs.push_back(std::move(target));
    s->exprs.push_back(ex_.parse_filter(nullptr, false));
    s->bodies.push_back(parse_statements({"endset"}, true));
    return s;
  }

  StmtPtr parse_macro() {
    auto s = std::make_unique<Stmt>(SK::kMacro, next().pos);
    s->text = expect(Tok::kName, "macro name").text;
    expect_op("(");
    while (!is_op(")")) {
      if (!s->params.empty()) expect_op(",");
      s->params.push_back(expect(Tok::kName, "parameter name").text);
      if (skip_op("=")) {
        s->defaults.push_back(ex_.parse_expression(true));
      } else if (!s->defaults.empty()) {
        fail(cur().pos, "non-default argument follows default argument");
      }
    }
    expect_op(")");
    int saved = loop_depth_;  // a macro body is not inside the loops around its definition
    loop_depth_ = 0;
    s->bodies.push_back(parse_statements({"endmacro"}, true));
    loop_depth_ = saved;
    return s;
  }

  StmtPtr parse_with() {
    auto s = std::make_unique<Stmt>(SK::kWith, next().pos);
    while (cur().type != Tok::kBlockEnd) {
      if (!s->exprs.empty()) expect_op(",");
      s->exprs.push_back(ex_.parse_assign_target(true, {}, false));
      expect_op("=");
      s->exprs.push_back(ex_.parse_expression(true));
    }
    s->bodies.push_back(parse_statements({"endwith"}, true));
    return s;
  }

  StmtPtr parse_filter_block() {
    auto s = std::make_unique<Stmt>(SK::kFilterBlock, next().pos);
    s->exprs.push_back(ex_.parse_filter(nullptr, true));
    s->bodies.push_back(parse_statements({"endfilter"}, true));
    return s;
  }

  StmtPtr parse_print() {
    auto s = std::make_unique<Stmt>(SK::kOutput, next().pos);
    while (cur().type != Tok::kBlockEnd) {
      if (!s->exprs.empty()) expect_op(",");
      s->exprs.push_back(ex_.parse_expression(true));
    }
    return s;
  }

  StmtPtr parse_scope(const std::string& end) {
    auto s = std::make_unique<Stmt>(SK::kScope, next().pos);
    s->bodies.push_back(parse_statements({end}, true));
    return s;
  }

  StmtPtr parse_loop_control() {
    const Token& t = next();
    if (loop_depth_ == 0) fail(t.pos, "'" + t.text + "' outside loop");
    return std::make_unique<Stmt>(t.text == "break" ? SK::kBreak : SK::kContinue, t.pos);
  }

  TokenList tl_storage_;
  ExprParser ex_;
  int loop_depth_ = 0;
  std::vector<std::string> tag_stack_;
};

}  // namespace

Body parse(const SourceText& src) {
  Body body = Parser(src).parse_template();
  check_names(src, body);
  return body;
}

}  // namespace tsc::chat
