// Jinja's built-in filters and tests that chat templates use (jinja2/filters.py, tests.py; transformers' tojson).
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <unordered_map>

#include "runtime/chat/builtins.h"
#include "runtime/chat/text.h"

namespace tsc::chat {
namespace {

using K = Value::Kind;
using FilterFn = Value (*)(const std::string& name, const Value& v, const CallArgs& call);

std::optional<std::string> opt_str(const Value* v) {
  if (!v || v->is_none()) return std::nullopt;
  return v->to_str();
}

// The item's attribute along a dotted path ("function.name", "0"), as Jinja's make_attrgetter does it.
Value attr_path(const Value& item, const Value& attribute) {
  if (!attribute.is_string()) return get_item(item, attribute);
  Value cur = item;
  const std::string& path = attribute.str_ref();
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool digits =
        !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    cur = get_item(cur, digits ? Value::integer(std::stoll(part)) : Value::string(part));
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

// Python's int(str, base): surrounding whitespace, a sign, digits with single underscores between them.
std::optional<int64_t> parse_int(const std::string& text, int base) {
  std::string s = py_strip(text, std::nullopt, true, true);
  size_t i = 0;
  bool neg = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
  if (base == 16 && s.compare(i, 2, "0x") == 0) i += 2;
  std::string digits;
  for (; i < s.size(); ++i) {
    if (s[i] == '_' && !digits.empty() && i + 1 < s.size() && s[i + 1] != '_') continue;
    int d = s[i] >= '0' && s[i] <= '9'                     ? s[i] - '0'
            : (s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z' ? (s[i] | 0x20) - 'a' + 10
                                                           : 99;
    if (d >= base) return std::nullopt;
    digits += s[i];
  }
  if (digits.empty()) return std::nullopt;
  errno = 0;
  long long v = std::strtoll(digits.c_str(), nullptr, base);
  if (errno == ERANGE) throw OpError("integer overflow (chat-template integers are 64-bit)");
  return neg ? -v : v;
}

// Python's float(str): decimal or exponent forms, inf/infinity/nan, underscores between digits; no hex.
std::optional<double> parse_float(const std::string& text) {
  std::string s = py_strip(text, std::nullopt, true, true), clean;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == 'x' || s[i] == 'X' || s[i] == '(') return std::nullopt;
    bool digit_around = i > 0 && i + 1 < s.size() && isdigit(static_cast<unsigned char>(s[i - 1])) &&
                        isdigit(static_cast<unsigned char>(s[i + 1]));
    if (s[i] == '_' && !digit_around) return std::nullopt;
    if (s[i] != '_') clean += s[i];
  }
  if (clean.empty()) return std::nullopt;
  char* end = nullptr;
  double d = std::strtod(clean.c_str(), &end);
  if (end != clean.c_str() + clean.size()) return std::nullopt;
  return d;
}

Value to_int(const Value& v, const Value& fallback, int base) {
  v.require_defined();  // int(Undefined) raises UndefinedError, which Jinja's int filter does not catch
  if (v.is_int()) return Value::integer(v.as_int());
  if (v.kind() == K::kFloat) {
    double f = v.as_float();
    if (std::isnan(f) || std::isinf(f)) throw OpError("cannot convert float " + v.repr() + " to integer");
    return Value::integer(static_cast<int64_t>(f));
  }
  if (v.is_string()) {
    if (auto i = parse_int(v.str_ref(), base)) return Value::integer(*i);
    if (auto f = parse_float(v.str_ref())) return to_int(Value::number(*f), fallback, base);
  }
  return fallback;
}

Value f_length(const std::string& n, const Value& v, const CallArgs& c) {
  Bound b(n, c, {});
  return Value::integer(length(v));
}

// The result of a filter that goes through soft_str and str methods: Markup in, Markup out.
Value like(const Value& input, std::string s) {
  return input.is_markup() ? Value::markup(std::move(s)) : Value::string(std::move(s));
}

Value f_trim(const std::string& n, const Value& v, const CallArgs& c) {
  Bound b(n, c, {"chars"});
  return like(v, py_strip(v.to_str(), opt_str(b.get("chars")), true, true));
}

Value f_case(const std::string& n, const Value& v, const CallArgs& c) {
  Bound b(n, c, {});
  std::string s = v.to_str();
  if (n == "upper") return like(v, py_upper(s));
  if (n == "lower") return like(v, py_lower(s));
  if (n == "capitalize") return like(v, py_capitalize(s));
  return like(v, jinja_title(s));
}

Value f_replace(const std::string& n, const Value& v, const CallArgs& c) {
  Bound b(n, c, {"old", "new", "count"}, 2);
  const Value* count = b.get("count");
  int64_t k = -1;
  if (count && !count->is_none()) {
    if (!count->is_int()) throw OpError("replace(): count must be an integer");
    k = count->as_int();
  }
  return Value::string(py_replace(v.to_str(), b.get("old")->to_str(), b.get("new")->to_str(), k));
}

Value f_string(const std::string& n, const Value& v, const CallArgs& c) {
  Bound b(n, c, {});
  return like(v, v.to_str());
}

Value f_safe(const std::string& n, const Value& v, const CallArgs& c) {
  Bound b(n, c, {});  // Markup(v); with autoescape off nothing is escaped when printing it
  return Value::markup(v.to_str());
}

// Jinja's map/select/reject/selectattr/rejectattr start with `if seq:`, so a false value (0, None, False)
// gives nothing rather than failing to iterate.
std::vector<Value> iterate_if_true(const Value& v) { return v.truthy() ? iterate(v) : std::vector<Value>{}; }

Value f_default(const std::string& n, const Value& v, const CallArgs& c) {
  Bound b(n, c, {"default_value", "boolean"});
  bool boolean = b.get_or("boolean", Value::boolean(false)).truthy();
  if (v.is_undefined() || (boolean && !v.truthy())) return b.get_or("default_value", Value::string(""));
  return v;
}

Value f_int(const std::string& n, const Value& v, const CallArgs& c) {
  Bound b(n, c, {"default", "base"});
  Value base = b.get_or("base", Value::integer(10));
  if (!base.is_int()) throw OpError("int(): base must be an integer");
  return to_int(v, b.get_or("default", Value::integer(0)), static_cast<int>(base.as_int()));
}

Value f_float(const std::string& n, const Value& v, const CallArgs& c) {
  Bound b(n, c, {"default"});
  v.require_defined();
  if (v.is_number()) return Value::number(v.as_float());
  if (v.is_string())
    if (auto f = parse_float(v.str_ref())) return Value::number(*f);
  return b.get_or("default", Value::number(0.0));
}

Value f_abs(const std::string& n, const Value& v, const CallArgs& c) {
  Bound b(n, c, {});
  if (v.kind() == K::kFloat) return Value::number(std::fabs(v.as_float()));
  if (v.is_int()) {
    if (v.as_int() == INT64_MIN) throw OpError("integer overflow (chat-template integers are 64-bit)");
    return Value::integer(v.as_int() < 0 ? -v.as_int() : v.as_int());
  }
  throw OpError("bad operand type for abs(): '" + v.type_name() + "'");
}

Value f_first(const std::string& n, const Value& v, const CallArgs& c) {
  Bound b(n, c, {});
  std::vector<Value> items = iterate(v);
  return items.empty() ? Value::undefined("No first item, sequence was empty.") : items.front();
}

Value f_last(const std::string& n, const Value& v, const CallArgs& c) {
  Bound b(n, c, {});
  if (v.kind() == K::kIterator) throw OpError("'generator' object is not reversible");
  std::vector<Value> items = iterate(v);
  return items.empty() ? Value::undefined("No last item, sequence was empty.") : items.back();
}

Value f_join(const std::string& n, const Value& v, const CallArgs& c) {
  Bound b(n, c, {"d", "attribute"});
  std::string sep = b.get_or("d", Value::string("")).to_str(), out;
  const Value* attribute = b.get("attribute");
  bool first = true;
  for (const Value& item : iterate(v)) {
    if (!first) out += sep;
    out += (attribute && !attribute->is_none() ? attr_path(item, *attribute) : item).to_str();
    first = false;
  }
  return Value::string(out);
}

Value f_list(const std::string& n, const Value& v, const CallArgs& c) {
  Bound b(n, c, {});
  return Value::list(iterate(v));
}

Value f_reverse(const std::string& n, const Value& v, const CallArgs& c) {
  Bound b(n, c, {});
  if (v.is_string()) {
    std::u32string u = utf8_decode(v.str_ref());
    std::reverse(u.begin(), u.end());
    return Value::string(utf8_encode(u));
  }
  if (v.is_none() || v.is_number() || v.kind() == K::kNamespace || v.kind() == K::kCallable)
    throw OpError("argument must be iterable");
  std::vector<Value> items = iterate(v);
  std::reverse(items.begin(), items.end());
  // reversed() of a sequence is an iterator; of a generator, Jinja falls back to a reversed list.
  return Value::list(std::move(items), v.kind() == K::kIterator ? K::kList : K::kIterator);
}

Value f_sort(const std::string& n, const Value& v, const CallArgs& c) {
  Bound b(n, c, {"reverse", "case_sensitive", "attribute"});
  bool reverse = b.get_or("reverse", Value::boolean(false)).truthy();
  bool case_sensitive = b.get_or("case_sensitive", Value::boolean(false)).truthy();
  const Value* attribute = b.get("attribute");
  std::vector<Value> items = iterate(v);
  std::vector<std::pair<Value, size_t>> keyed;
  for (size_t i = 0; i < items.size(); ++i) {
    Value key = attribute && !attribute->is_none() ? attr_path(items[i], *attribute) : items[i];
    if (!case_sensitive && key.is_string()) key = Value::string(py_lower(key.str_ref()));
    keyed.emplace_back(std::move(key), i);
  }
  // Python's sorted() is stable in both directions: equal keys keep their order even with reverse=True.
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
    return reverse ? less(y.first, x.first) : less(x.first, y.first);
  });
  std::vector<Value> out;
  for (const auto& [key, i] : keyed) out.push_back(items[i]);
  return Value::list(std::move(out));
}

Value f_map(const std::string& n, const Value& v, const CallArgs& c) {
  std::vector<Value> out;
  if (c.args.empty()) {
    Bound b(n, c, {"attribute", "default"});
    const Value* attribute = b.get("attribute");
    if (!attribute) throw OpError("map requires a filter argument");
    const Value* fallback = b.get("default");
    for (const Value& item : iterate_if_true(v)) {
      Value x = attr_path(item, *attribute);
      out.push_back(x.is_undefined() && fallback ? *fallback : x);
    }
  } else {
    CallArgs rest{std::vector<Value>(c.args.begin() + 1, c.args.end()), c.kwargs};
    std::string filter = c.args[0].to_str();
    for (const Value& item : iterate_if_true(v)) out.push_back(call_filter(filter, item, rest));
  }
  return Value::list(std::move(out), K::kIterator);
}

Value f_select(const std::string& n, const Value& v, const CallArgs& c) {
  bool by_attr = n == "selectattr" || n == "rejectattr";
  bool keep_if = n == "select" || n == "selectattr";
  size_t off = by_attr ? 1 : 0;
  if (by_attr && c.args.empty()) throw OpError(n + "() missing required argument 'attr'");
  std::optional<std::string> test;
  if (c.args.size() > off) test = c.args[off].to_str();
  CallArgs rest{
      c.args.size() > off + 1 ? std::vector<Value>(c.args.begin() + off + 1, c.args.end()) : std::vector<Value>{},
      c.kwargs};
  std::vector<Value> out;
  for (const Value& item : iterate_if_true(v)) {
    Value x = by_attr ? attr_path(item, c.args[0]) : item;
    bool pass = test ? call_test(*test, x, rest) : x.truthy();
    if (pass == keep_if) out.push_back(item);
  }
  return Value::list(std::move(out), K::kIterator);
}

Value f_items(const std::string& n, const Value& v, const CallArgs& c) {
  Bound b(n, c, {});
  if (v.is_undefined()) return Value::list({}, K::kIterator);
  if (!v.is_mapping()) throw OpError("Can only get item pairs from a mapping.");
  std::vector<Value> out;
  for (const auto& [k, x] : v.dict().items) out.push_back(Value::list({Value::string(k), x}, K::kTuple));
  return Value::list(std::move(out), K::kIterator);
}

Value f_sum(const std::string& n, const Value& v, const CallArgs& c) {
  Bound b(n, c, {"attribute", "start"});
  const Value* attribute = b.get("attribute");
  Value total = b.get_or("start", Value::integer(0));
  for (const Value& item : iterate(v))
    total = arithmetic("+", total, attribute && !attribute->is_none() ? attr_path(item, *attribute) : item);
  return total;
}

// transformers' tojson: json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False),
// so no HTML escaping (unlike Jinja's own tojson).
Value f_tojson(const std::string& n, const Value& v, const CallArgs& c) {
  Bound b(n, c, {"ensure_ascii", "indent", "separators", "sort_keys"});
  JsonStyle style;
  Value indent = b.get_or("indent", Value::none());
  if (indent.is_int())
    style.indent = std::string(std::max<int64_t>(0, indent.as_int()), ' ');
  else if (indent.is_string())
    style.indent = indent.str_ref();
  else if (!indent.is_none())
    throw OpError("tojson: indent must be an integer or a string");
  if (style.indent) style.item_sep = ",";
  Value seps = b.get_or("separators", Value::none());
  if (!seps.is_none()) {
    if (!seps.is_sequence_kind() || seps.items().size() != 2 || !seps.items()[0].is_string() ||
        !seps.items()[1].is_string())
      throw OpError("tojson: separators must be a pair of strings");
    style.item_sep = seps.items()[0].str_ref();
    style.key_sep = seps.items()[1].str_ref();
  }
  style.sort_keys = b.get_or("sort_keys", Value::boolean(false)).truthy();
  std::string json = to_json(v, style);
  if (!b.get_or("ensure_ascii", Value::boolean(false)).truthy()) return Value::string(json);
  // ensure_ascii: non-ASCII (only ever inside strings) as \uXXXX, with surrogate pairs above the BMP.
  std::string out;
  for (char32_t cp : utf8_decode(json)) {
    char buf[16];
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x10000) {
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
      out += buf;
    } else {
      cp -= 0x10000;
      std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", static_cast<unsigned>(0xD800 + (cp >> 10)),
                    static_cast<unsigned>(0xDC00 + (cp & 0x3FF)));
      out += buf;
    }
  }
  return Value::string(out);
}

const std::unordered_map<std::string, FilterFn>& filters() {
  static const std::unordered_map<std::string, FilterFn> table = {
      {"abs", f_abs},           {"capitalize", f_case},   {"count", f_length},    {"d", f_default},
      {"default", f_default},   {"first", f_first},       {"float", f_float},     {"int", f_int},
      {"items", f_items},       {"join", f_join},         {"last", f_last},       {"length", f_length},
      {"list", f_list},         {"lower", f_case},        {"map", f_map},         {"reject", f_select},
      {"rejectattr", f_select}, {"replace", f_replace},   {"reverse", f_reverse}, {"safe", f_safe},
      {"select", f_select},     {"selectattr", f_select}, {"sort", f_sort},       {"string", f_string},
      {"sum", f_sum},           {"title", f_case},        {"tojson", f_tojson},   {"trim", f_trim},
      {"upper", f_case}};
  return table;
}

// Jinja's other built-in filters and tests: named in messages as unsupported rather than unknown.
const std::vector<std::string> kOtherJinjaFilters = {
    "attr",        "batch",     "center",   "dictsort",  "e",        "escape", "filesizeformat",
    "forceescape", "format",    "groupby",  "indent",    "max",      "min",    "pprint",
    "random",      "round",     "slice",    "striptags", "truncate", "unique", "urlencode",
    "urlize",      "wordcount", "wordwrap", "xmlattr"};
const std::vector<std::string> kOtherJinjaTests = {"escaped", "filter", "test"};

bool listed(const std::vector<std::string>& names, const std::string& n) {
  return std::find(names.begin(), names.end(), n) != names.end();
}

// `value is other` for the values where Python's identity is predictable.
bool same_as(const Value& a, const Value& b) {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case K::kNone: return true;
    case K::kBool: return a.as_bool() == b.as_bool();
    case K::kInt: return a.as_int() == b.as_int() && a.as_int() >= -5 && a.as_int() <= 256;  // CPython's cache
    case K::kList:
    case K::kTuple:
    case K::kIterator: return &a.items() == &b.items();
    case K::kDict:
    case K::kNamespace: return &a.dict() == &b.dict();
    default: return false;
  }
}

const std::vector<std::string> kTests = {
    "defined", "undefined", "none",     "boolean",  "true",     "false",  "integer",     "float",       "number",
    "string",  "mapping",   "callable", "iterable", "sequence", "sameas", "in",          "eq",          "equalto",
    "==",      "ne",        "!=",       "lt",       "lessthan", "<",      "gt",          "greaterthan", ">",
    "le",      "<=",        "ge",       ">=",       "odd",      "even",   "divisibleby", "lower",       "upper"};

}  // namespace

NameStatus filter_status(const std::string& name) {
  if (filters().count(name)) return NameStatus::kSupported;
  return listed(kOtherJinjaFilters, name) ? NameStatus::kUnsupported : NameStatus::kUnknown;
}

NameStatus test_status(const std::string& name) {
  if (listed(kTests, name)) return NameStatus::kSupported;
  return listed(kOtherJinjaTests, name) ? NameStatus::kUnsupported : NameStatus::kUnknown;
}

Value call_filter(const std::string& name, const Value& input, const CallArgs& call) {
  const auto& table = filters();
  auto it = table.find(name);
  if (it == table.end()) {
    if (listed(kOtherJinjaFilters, name)) throw Unsupported("unsupported filter '" + name + "'");
    throw Unsupported("no filter named '" + name + "'");
  }
  return it->second(name, input, call);
}

bool call_test(const std::string& name, const Value& v, const CallArgs& call) {
  const std::string& n = name;
  auto arg = [&](const char* param) {
    Bound b(n, call, {param}, 1);
    return *b.get(param);
  };
  using K = Value::Kind;
  // Tests of the value alone.
  static const std::vector<std::string> kUnary = {
      "defined", "undefined", "none",     "boolean",  "true",     "false", "integer", "float", "number",
      "string",  "mapping",   "callable", "iterable", "sequence", "odd",   "even",    "lower", "upper"};
  if (listed(kUnary, n)) {
    Bound b(n, call, {});
    if (n == "defined" || n == "undefined") return v.is_undefined() == (n == "undefined");
    if (n == "none") return v.is_none();
    if (n == "boolean") return v.kind() == K::kBool;
    if (n == "true" || n == "false") return v.kind() == K::kBool && v.as_bool() == (n == "true");
    if (n == "integer") return v.kind() == K::kInt;
    if (n == "float") return v.kind() == K::kFloat;
    if (n == "number") return v.is_number();
    if (n == "string") return v.is_string();
    if (n == "mapping") return v.is_mapping();
    // Undefined is callable in Python's sense: it has a __call__, which raises.
    if (n == "callable") return v.kind() == K::kCallable || v.is_undefined();
    if (n == "iterable" || n == "sequence")
      // Undefined is both (it has __iter__ and __len__); generators are iterable but not sequences.
      return v.is_undefined() || v.is_string() || v.is_sequence_kind() || v.is_mapping() ||
             (n == "iterable" && v.kind() == K::kIterator);
    if (n == "odd" || n == "even")
      return equals(arithmetic("%", v, Value::integer(2)), Value::integer(n == "odd"));
    CallArgs none;  // lower/upper: str(v).islower() / .isupper()
    return get_attr(Value::string(v.to_str()), n == "lower" ? "islower" : "isupper").function()(none).truthy();
  }
  // Tests against one argument.
  if (n == "sameas") return same_as(v, arg("other"));
  if (n == "in") return contains(arg("seq"), v);
  if (n == "eq" || n == "equalto" || n == "==") return equals(v, arg("other"));
  if (n == "ne" || n == "!=") return !equals(v, arg("other"));
  if (n == "lt" || n == "lessthan" || n == "<") return less(v, arg("other"));
  if (n == "gt" || n == "greaterthan" || n == ">") return less(arg("other"), v);
  if (n == "le" || n == "<=") {
    Value o = arg("other");
    return less(v, o) || equals(v, o);
  }
  if (n == "ge" || n == ">=") {
    Value o = arg("other");
    return less(o, v) || equals(v, o);
  }
  if (n == "divisibleby") return equals(arithmetic("%", v, arg("num")), Value::integer(0));
  if (listed(kOtherJinjaTests, n)) throw Unsupported("unsupported test '" + n + "'");
  throw Unsupported("no test named '" + n + "'");
}

}  // namespace tsc::chat
