// Chat-template expression parser: jinja2/parser.py's expression grammar and precedence.
#pragma once
#include "runtime/chat/parse_cursor.h"

namespace tsc::chat {

class ExprParser : public Cursor {
 public:
  using Cursor::Cursor;

  ExprPtr parse_expression(bool with_condexpr);
  // Comma-separated expressions make a tuple (`{{ a, b }}`, `set a, b = ...`); simplified: names and literals
  // only (assignment targets); extra_end: names that end the tuple (`in` after a for target).
  ExprPtr parse_tuple(bool simplified, bool with_condexpr, const std::vector<std::string>& extra_end,
                      bool explicit_parens, bool with_namespace = false);
  // A name, a tuple of names, or (with_namespace) `ns.attr`.
  ExprPtr parse_assign_target(bool with_tuple, const std::vector<std::string>& extra_end, bool with_namespace);
  // `| f | g(args)` applied to input (null for {% filter %} and {% set x | f %} blocks).
  ExprPtr parse_filter(ExprPtr input, bool start_inline);

 private:
  ExprPtr node(EK k, size_t pos) { return std::make_unique<Expr>(k, pos); }
  ExprPtr node(EK k, size_t pos, ExprPtr a, ExprPtr b = nullptr) {
    auto e = node(k, pos);
    e->operands.push_back(std::move(a));
    if (b) e->operands.push_back(std::move(b));
    return e;
  }
  bool is_tuple_end(const std::vector<std::string>& extra_end) const;
  ExprPtr parse_condexpr();
  ExprPtr parse_or();
  ExprPtr parse_and();
  ExprPtr parse_not();
  ExprPtr parse_compare();
  ExprPtr binary(ExprPtr left, const Token& op, ExprPtr right);
  ExprPtr parse_math1();
  ExprPtr parse_concat();
  ExprPtr parse_math2();
  ExprPtr parse_pow();
  ExprPtr parse_unary(bool with_filter);
  ExprPtr parse_primary(bool with_namespace);
  ExprPtr parse_list();
  ExprPtr parse_dict();
  ExprPtr parse_postfix(ExprPtr e);
  ExprPtr parse_filter_expr(ExprPtr e);
  ExprPtr parse_subscript(ExprPtr obj);
  ExprPtr parse_subscribed();
  void parse_call_args(Expr& e);
  ExprPtr parse_call(ExprPtr callee);
  ExprPtr parse_test(ExprPtr input);
};

}  // namespace tsc::chat
