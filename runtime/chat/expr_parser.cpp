// Chat-template expression parser, following jinja2/parser.py's parse_tuple .. parse_primary one by one.
#include "runtime/chat/expr_parser.h"

namespace tsc::chat {

ExprPtr ExprParser::parse_assign_target(bool with_tuple, const std::vector<std::string>& extra_end,
                                        bool with_namespace) {
  size_t pos = cur().pos;
  ExprPtr target =
      with_tuple ? parse_tuple(true, true, extra_end, false, with_namespace) : parse_primary(with_namespace);
  auto assignable = [](const Expr& e) {
    if (e.kind == EK::kNsRef) return true;
    return e.kind == EK::kName && e.name != "true" && e.name != "false" && e.name != "none" && e.name != "True" &&
           e.name != "False" && e.name != "None";
  };
  bool ok = assignable(*target);
  if (target->kind == EK::kTuple) {
    ok = true;
    for (const auto& item : target->operands) ok = ok && item->kind == EK::kName && assignable(*item);
  }
  if (!ok) fail(pos, "can't assign to this expression");
  return target;
}

bool ExprParser::is_tuple_end(const std::vector<std::string>& extra_end) const {
  if (cur().type == Tok::kVarEnd || cur().type == Tok::kBlockEnd || is_op(")")) return true;
  return cur().type == Tok::kName && std::find(extra_end.begin(), extra_end.end(), cur().text) != extra_end.end();
}

// A comma-separated list of expressions is a tuple; one without a comma is that expression.
ExprPtr ExprParser::parse_tuple(bool simplified, bool with_condexpr, const std::vector<std::string>& extra_end,
                                bool explicit_parens, bool with_namespace) {
  size_t pos = cur().pos;
  std::vector<ExprPtr> args;
  bool is_tuple = false;
  while (true) {
    if (!args.empty()) expect_op(",");
    if (is_tuple_end(extra_end)) break;
    args.push_back(simplified ? parse_primary(with_namespace) : parse_expression(with_condexpr));
    if (is_op(","))
      is_tuple = true;
    else
      break;
  }
  if (!is_tuple) {
    if (!args.empty()) return std::move(args[0]);
    if (!explicit_parens) fail(cur().pos, "expected an expression, got '" + describe(cur()) + "'");
  }
  auto e = node(EK::kTuple, pos);
  e->operands = std::move(args);
  return e;
}

ExprPtr ExprParser::parse_expression(bool with_condexpr) { return with_condexpr ? parse_condexpr() : parse_or(); }

ExprPtr ExprParser::parse_condexpr() {
  ExprPtr expr1 = parse_or();
  while (is_name("if")) {
    size_t pos = next().pos;
    ExprPtr expr2 = parse_or();
    ExprPtr expr3 = skip_name("else") ? parse_condexpr() : nullptr;
    auto e = node(EK::kCond, pos);
    e->operands.push_back(std::move(expr1));
    e->operands.push_back(std::move(expr2));
    e->operands.push_back(std::move(expr3));
    expr1 = std::move(e);
  }
  return expr1;
}

ExprPtr ExprParser::parse_or() {
  ExprPtr left = parse_and();
  while (is_name("or")) {
    size_t pos = next().pos;
    left = node(EK::kOr, pos, std::move(left), parse_and());
  }
  return left;
}

ExprPtr ExprParser::parse_and() {
  ExprPtr left = parse_not();
  while (is_name("and")) {
    size_t pos = next().pos;
    left = node(EK::kAnd, pos, std::move(left), parse_not());
  }
  return left;
}

ExprPtr ExprParser::parse_not() {
  if (is_name("not")) {
    size_t pos = next().pos;
    return node(EK::kNot, pos, parse_not());
  }
  return parse_compare();
}

ExprPtr ExprParser::parse_compare() {
  size_t pos = cur().pos;
  ExprPtr first = parse_math1();
  std::vector<std::string> ops;
  std::vector<ExprPtr> rest;
  while (true) {
    const Token& t = cur();
    if (t.type == Tok::kOp &&
        (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == ">" || t.text == "<=" || t.text == ">=")) {
      ops.push_back(next().text);
    } else if (skip_name("in")) {
      ops.push_back("in");
    } else if (is_name("not") && look().type == Tok::kName && look().text == "in") {
      next();
      next();
      ops.push_back("notin");
    } else {
      break;
    }
    rest.push_back(parse_math1());
  }
  if (ops.empty()) return first;
  auto e = node(EK::kCompare, pos);
  e->operands.push_back(std::move(first));
  for (auto& r : rest) e->operands.push_back(std::move(r));
  e->ops = std::move(ops);
  return e;
}

ExprPtr ExprParser::binary(ExprPtr left, const Token& op, ExprPtr right) {
  auto e = node(EK::kBinary, op.pos, std::move(left), std::move(right));
  e->name = op.text;
  return e;
}

ExprPtr ExprParser::parse_math1() {
  ExprPtr left = parse_concat();
  while (is_op("+") || is_op("-")) {
    const Token& op = next();
    left = binary(std::move(left), op, parse_concat());
  }
  return left;
}

ExprPtr ExprParser::parse_concat() {
  size_t pos = cur().pos;
  std::vector<ExprPtr> args;
  args.push_back(parse_math2());
  while (skip_op("~")) args.push_back(parse_math2());
  if (args.size() == 1) return std::move(args[0]);
  auto e = node(EK::kConcat, pos);
  e->operands = std::move(args);
  return e;
}

ExprPtr ExprParser::parse_math2() {
  ExprPtr left = parse_pow();
  while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
    const Token& op = next();
    left = binary(std::move(left), op, parse_pow());
  }
  return left;
}

ExprPtr ExprParser::parse_pow() {
  ExprPtr left = parse_unary(true);
  while (is_op("**")) {
    const Token& op = next();
    left = binary(std::move(left), op, parse_unary(true));
  }
  return left;
}

// Unary minus binds looser than postfix and filters: -x|abs is (-x)|abs, as in Jinja.
ExprPtr ExprParser::parse_unary(bool with_filter) {
  ExprPtr e;
  if (is_op("-") || is_op("+")) {
    const Token& op = next();
    e = node(op.text == "-" ? EK::kNeg : EK::kPos, op.pos, parse_unary(false));
  } else {
    e = parse_primary(false);
  }
  e = parse_postfix(std::move(e));
  if (with_filter) e = parse_filter_expr(std::move(e));
  return e;
}

ExprPtr ExprParser::parse_primary(bool with_namespace) {
  const Token& t = cur();
  if (t.type == Tok::kName) {
    next();
    auto e = node(EK::kConst, t.pos);
    if (t.text == "true" || t.text == "True" || t.text == "false" || t.text == "False") {
      e->value = Value::boolean(t.text == "true" || t.text == "True");
    } else if (t.text == "none" || t.text == "None") {
      e->value = Value::none();
    } else if (with_namespace && is_op(".")) {
      next();
      e = node(EK::kNsRef, t.pos);
      e->name = t.text;
      e->attr = expect(Tok::kName, "attribute name").text;
    } else {
      e = node(EK::kName, t.pos);
      e->name = t.text;
    }
    return e;
  }
  if (t.type == Tok::kString) {
    std::string s;
    while (cur().type == Tok::kString) s += next().text;  // adjacent literals concatenate
    auto e = node(EK::kConst, t.pos);
    e->value = Value::string(std::move(s));
    return e;
  }
  if (t.type == Tok::kInt || t.type == Tok::kFloat) {
    next();
    auto e = node(EK::kConst, t.pos);
    e->value = t.type == Tok::kInt ? Value::integer(t.ival) : Value::number(t.fval);
    return e;
  }
  if (is_op("(")) {
    next();
    ExprPtr e = parse_tuple(false, true, {}, true);
    expect_op(")");
    return e;
  }
  if (is_op("[")) return parse_list();
  if (is_op("{")) return parse_dict();
  fail(t.pos, "unexpected '" + describe(t) + "'");
}

ExprPtr ExprParser::parse_list() {
  auto e = node(EK::kList, next().pos);
  while (!is_op("]")) {
    if (!e->operands.empty()) expect_op(",");
    if (is_op("]")) break;
    e->operands.push_back(parse_expression(true));
  }
  expect_op("]");
  return e;
}

ExprPtr ExprParser::parse_dict() {
  auto e = node(EK::kDict, next().pos);
  while (!is_op("}")) {
    if (!e->operands.empty()) expect_op(",");
    if (is_op("}")) break;
    e->operands.push_back(parse_expression(true));
    expect_op(":");
    e->operands.push_back(parse_expression(true));
  }
  expect_op("}");
  return e;
}

ExprPtr ExprParser::parse_postfix(ExprPtr e) {
  while (true) {
    if (is_op(".") || is_op("["))
      e = parse_subscript(std::move(e));
    else if (is_op("("))
      e = parse_call(std::move(e));
    else
      return e;
  }
}

ExprPtr ExprParser::parse_filter_expr(ExprPtr e) {
  while (true) {
    if (is_op("|"))
      e = parse_filter(std::move(e), false);
    else if (is_name("is"))
      e = parse_test(std::move(e));
    else if (is_op("("))
      e = parse_call(std::move(e));
    else
      return e;
  }
}

ExprPtr ExprParser::parse_subscript(ExprPtr obj) {
  const Token& t = next();
  if (t.text == ".") {
    const Token& a = next();
    if (a.type == Tok::kName) {
      auto e = node(EK::kGetattr, t.pos, std::move(obj));
      e->attr = a.text;
      return e;
    }
    if (a.type != Tok::kInt) fail(a.pos, "expected name or number after '.'");
    auto idx = node(EK::kConst, a.pos);
    idx->value = Value::integer(a.ival);
    return node(EK::kGetitem, t.pos, std::move(obj), std::move(idx));
  }
  std::vector<ExprPtr> args;
  while (!is_op("]")) {
    if (!args.empty()) expect_op(",");
    args.push_back(parse_subscribed());
  }
  expect_op("]");
  ExprPtr index;
  if (args.size() == 1) {
    index = std::move(args[0]);
  } else {
    index = node(EK::kTuple, t.pos);
    index->operands = std::move(args);
  }
  return node(EK::kGetitem, t.pos, std::move(obj), std::move(index));
}

ExprPtr ExprParser::parse_subscribed() {
  size_t pos = cur().pos;
  std::vector<ExprPtr> args;
  if (skip_op(":")) {
    args.push_back(nullptr);
  } else {
    ExprPtr e = parse_expression(true);
    if (!skip_op(":")) return e;
    args.push_back(std::move(e));
  }
  auto at_end = [&] { return is_op("]") || is_op(","); };
  if (is_op(":"))
    args.push_back(nullptr);
  else if (!at_end())
    args.push_back(parse_expression(true));
  else
    args.push_back(nullptr);
  if (skip_op(":"))
    args.push_back(at_end() ? nullptr : parse_expression(true));
  else
    args.push_back(nullptr);
  auto e = node(EK::kSlice, pos);
  e->operands = std::move(args);
  return e;
}

void ExprParser::parse_call_args(Expr& e) {
  size_t pos = cur().pos;
  expect_op("(");
  bool require_comma = false;
  while (!is_op(")")) {
    if (require_comma) {
      expect_op(",");
      if (is_op(")")) break;
    }
    if (is_op("*") || is_op("**")) fail(cur().pos, "unsupported: *args / **kwargs in calls");
    if (cur().type == Tok::kName && is_op(look(), "=")) {
      std::string key = next().text;
      next();
      e.kwargs.emplace_back(key, parse_expression(true));
    } else {
      if (!e.kwargs.empty()) fail(pos, "invalid syntax for function call expression (positional after keyword)");
      e.operands.push_back(parse_expression(true));
    }
    require_comma = true;
  }
  expect_op(")");
}

ExprPtr ExprParser::parse_call(ExprPtr callee) {
  auto e = node(EK::kCall, cur().pos, std::move(callee));
  parse_call_args(*e);
  return e;
}

ExprPtr ExprParser::parse_filter(ExprPtr input, bool start_inline) {
  while (is_op("|") || start_inline) {
    if (!start_inline) next();
    const Token& name = expect(Tok::kName, "filter name");
    auto e = node(EK::kFilter, name.pos);
    e->name = name.text;
    while (skip_op(".")) e->name += "." + expect(Tok::kName, "filter name").text;
    e->operands.push_back(std::move(input));
    if (is_op("(")) parse_call_args(*e);
    input = std::move(e);
    start_inline = false;
  }
  return input;
}

ExprPtr ExprParser::parse_test(ExprPtr input) {
  size_t pos = next().pos;
  bool negated = skip_name("not");
  auto e = node(EK::kTest, pos);
  e->name = expect(Tok::kName, "test name").text;
  while (skip_op(".")) e->name += "." + expect(Tok::kName, "test name").text;
  e->operands.push_back(std::move(input));
  const Token& t = cur();
  bool arg_start = t.type == Tok::kName || t.type == Tok::kString || t.type == Tok::kInt ||
                   t.type == Tok::kFloat || is_op("[") || is_op("{");
  if (is_op("(")) {
    parse_call_args(*e);
  } else if (arg_start && !is_name("else") && !is_name("or") && !is_name("and")) {
    // `x is divisibleby 3`: one argument without parentheses.
    if (is_name("is")) fail(t.pos, "you cannot chain multiple tests with 'is'");
    e->operands.push_back(parse_postfix(parse_primary(false)));
  }
  return negated ? node(EK::kNot, pos, std::move(e)) : std::move(e);
}

}  // namespace tsc::chat
