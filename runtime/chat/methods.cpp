// Python's str and dict methods, the globals of transformers' environment, and call-argument binding.
#include <ctime>

#include "runtime/chat/builtins.h"
#include "runtime/chat/text.h"
#include "runtime/chat/unicode.h"
#include "contract/error.h"

namespace tsc::chat {
namespace {

using K = Value::Kind;

// Python's str, dict and list methods: names that resolve to a method (so never to an item), whether
// tsc implements them or not.
const std::vector<std::string> kStrMethods = {
    "capitalize", "casefold",     "center",       "count",   "encode",     "endswith",    "expandtabs",
    "find",       "format",       "format_map",   "index",   "isalnum",    "isalpha",     "isascii",
    "isdecimal",  "isdigit",      "isidentifier", "islower", "isnumeric",  "isprintable", "isspace",
    "istitle",    "isupper",      "join",         "ljust",   "lower",      "lstrip",      "maketrans",
    "partition",  "removeprefix", "removesuffix", "replace", "rfind",      "rindex",      "rjust",
    "rpartition", "rsplit",       "rstrip",       "split",   "splitlines", "startswith",  "strip",
    "swapcase",   "title",        "translate",    "upper",   "zfill"};
const std::vector<std::string> kDictMethods = {"clear", "copy",    "fromkeys",   "get",    "items", "keys",
                                               "pop",   "popitem", "setdefault", "update", "values"};
const std::vector<std::string> kListMethods = {"append", "clear", "copy",   "count",   "extend", "index",
                                               "insert", "pop",   "remove", "reverse", "sort"};

bool in(const std::vector<std::string>& names, const std::string& n) {
  for (const auto& m : names)
    if (m == n) return true;
  return false;
}

std::string need_str(const Value* v, const char* what) {
  if (!v || !v->is_string()) throw OpError(std::string(what) + " must be a string");
  return v->str_ref();
}

std::optional<std::string> opt_str(const Value* v, const char* what) {
  if (!v || v->is_none()) return std::nullopt;
  return need_str(v, what);
}

int64_t opt_int(const Value* v, int64_t fallback, const char* what) {
  if (!v || v->is_none()) return fallback;
  if (!v->is_int()) throw OpError(std::string(what) + " must be an integer");
  return v->as_int();
}

bool str_pred(const std::string& s, bool (*pred)(char32_t)) {
  std::u32string u = utf8_decode(s);
  if (u.empty()) return false;
  for (char32_t c : u)
    if (!pred(c)) return false;
  return true;
}

Value str_method(const std::string& s, const std::string& name, const CallArgs& call) {
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    Bound b(name, call, {"chars"});
    return Value::string(py_strip(s, opt_str(b.get("chars"), "chars"), name != "rstrip", name != "lstrip"));
  }
  if (name == "split" || name == "rsplit") {
    Bound b(name, call, {"sep", "maxsplit"});
    std::optional<std::string> sep = opt_str(b.get("sep"), "sep");
    if (sep && sep->empty()) throw OpError("empty separator");
    std::vector<Value> parts;
    for (auto& p : py_split(s, sep, opt_int(b.get("maxsplit"), -1, "maxsplit"), name == "rsplit"))
      parts.push_back(Value::string(std::move(p)));
    return Value::list(std::move(parts));
  }
  if (name == "startswith" || name == "endswith") {
    Bound b(name, call, {"prefix"}, 1);
    const Value& p = *b.get("prefix");
    std::vector<Value> options = p.kind() == K::kTuple ? p.items() : std::vector<Value>{p};
    for (const Value& o : options) {
      std::string t = need_str(&o, "the prefix/suffix");
      bool hit = name == "startswith" ? s.compare(0, t.size(), t) == 0
                                      : s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0;
      if (hit) return Value::boolean(true);
    }
    return Value::boolean(false);
  }
  if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
    Bound b(name, call, {});
    if (name == "upper") return Value::string(py_upper(s));
    if (name == "lower") return Value::string(py_lower(s));
    return Value::string(name == "title" ? py_title(s) : py_capitalize(s));
  }
  if (name == "replace") {
    Bound b(name, call, {"old", "new", "count"}, 2);
    return Value::string(py_replace(s, need_str(b.get("old"), "old"), need_str(b.get("new"), "new"),
                                    opt_int(b.get("count"), -1, "count")));
  }
  if (name == "find" || name == "rfind" || name == "count") {
    Bound b(name, call, {"sub"}, 1);
    std::string sub = need_str(b.get("sub"), "sub");
    return Value::integer(name == "count" ? py_count(s, sub) : py_find(s, sub, name == "rfind"));
  }
  if (name == "removeprefix" || name == "removesuffix") {
    Bound b(name, call, {"affix"}, 1);
    std::string t = need_str(b.get("affix"), "the prefix/suffix");
    if (name == "removeprefix" && s.compare(0, t.size(), t) == 0) return Value::string(s.substr(t.size()));
    if (name == "removesuffix" && s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0)
      return Value::string(s.substr(0, s.size() - t.size()));
    return Value::string(s);
  }
  if (name == "join") {
    Bound b(name, call, {"iterable"}, 1);
    std::string out;
    bool first = true;
    for (const Value& v : iterate(*b.get("iterable"))) {
      if (!v.is_string()) throw OpError("sequence item: expected str instance, " + v.type_name() + " found");
      if (!first) out += s;
      out += v.str_ref();
      first = false;
    }
    return Value::string(out);
  }
  if (name == "isdigit" || name == "isspace" || name == "isalpha" || name == "isalnum" || name == "islower" ||
      name == "isupper") {
    Bound b(name, call, {});
    if (name == "isdigit") return Value::boolean(str_pred(s, uni::is_digit));
    if (name == "isspace") return Value::boolean(str_pred(s, py_isspace));
    if (name == "isalpha") return Value::boolean(str_pred(s, uni::is_alpha));
    if (name == "isalnum")
      return Value::boolean(str_pred(s, [](char32_t c) { return uni::is_alpha(c) || uni::is_digit(c); }));
    // islower (isupper): no upper- or titlecase (lower- or titlecase) letter, and at least one lower (upper).
    bool want_lower = name == "islower", any = false;
    for (char32_t c : utf8_decode(s)) {
      bool up = uni::is_upper(c), lo = uni::is_lower(c), ti = uni::is_title(c);
      if (ti || (want_lower ? up : lo)) return Value::boolean(false);
      any = any || (want_lower ? lo : up);
    }
    return Value::boolean(any);
  }
  throw Unsupported("unsupported string method '" + name + "'");
}

Value dict_method(const Dict& d, const std::string& name, const CallArgs& call) {
  if (name == "get") {
    Bound b(name, call, {"key", "default"}, 1);
    const Value& key = *b.get("key");
    const Value* v = key.is_string() ? d.find(key.str_ref()) : nullptr;
    return v ? *v : b.get_or("default", Value::none());
  }
  Bound b(name, call, {});
  std::vector<Value> out;
  for (const auto& [k, v] : d.items) {
    if (name == "keys")
      out.push_back(Value::string(k));
    else if (name == "values")
      out.push_back(v);
    else
      out.push_back(Value::list({Value::string(k), v}, K::kTuple));
  }
  return Value::dict_view(std::move(out), "dict_" + name);
}

// A bound method value; methods Jinja's sandbox forbids or tsc lacks raise when called.
Value bound_method(const Value& obj, const std::string& name) {
  std::string qual = obj.type_name() + "." + name;
  if (obj.is_markup()) {
    // Markup's methods return Markup and escape string arguments; tsc keeps the ones that take none.
    static const std::vector<std::string> kSame = {
        "strip", "lstrip", "rstrip", "upper",   "lower",   "title",   "capitalize", "startswith", "endswith",
        "find",  "rfind",  "count",  "isdigit", "isspace", "isalpha", "isalnum",    "islower",    "isupper"};
    if (!in(kSame, name))
      return Value::callable(qual, [name](CallArgs&) -> Value {
        throw Unsupported("unsupported: the method '" + name + "' on the result of |safe (a Markup string)");
      });
    return Value::callable(qual, [s = obj.str_ref(), name](CallArgs& a) {
      Value v = str_method(s, name, a);
      return v.is_string() ? Value::markup(v.str_ref()) : v;
    });
  }
  if (obj.is_string()) {
    return Value::callable(qual, [s = obj.str_ref(), name](CallArgs& a) { return str_method(s, name, a); });
  }
  if (obj.is_mapping() && (name == "get" || name == "items" || name == "keys" || name == "values")) {
    return Value::callable(qual, [obj, name](CallArgs& a) { return dict_method(obj.dict(), name, a); });
  }
  bool mutates = obj.is_mapping() ? name != "copy" && name != "fromkeys"
                                  : name != "copy" && name != "count" && name != "index";
  return Value::callable(qual, [qual, mutates](CallArgs&) -> Value {
    if (mutates) throw OpError("cannot call " + qual + "(): chat templates may not modify lists or dicts");
    throw Unsupported("unsupported method " + qual + "()");
  });
}

std::string strftime_now(const std::string& fmt) {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  std::string buf(256 + fmt.size() * 4, '\0');
  size_t n = std::strftime(buf.data(), buf.size(), fmt.c_str(), &tm);
  if (n == 0 && !fmt.empty()) throw OpError("strftime_now: the format gives an empty or too long result");
  buf.resize(n);
  return buf;
}

Dict namespace_attrs(const CallArgs& a, const char* what) {
  Dict d;
  for (const Value& v : a.args) {
    if (!v.is_mapping()) throw OpError(std::string(what) + "() takes mappings as positional arguments");
    for (const auto& [k, x] : v.dict().items) d.set(k, x);
  }
  for (const auto& [k, x] : a.kwargs) d.set(k, x);
  return d;
}
}  // namespace

Bound::Bound(std::string_view func, const CallArgs& call, std::initializer_list<const char*> params,
             size_t required) {
  for (const char* p : params) names_.emplace_back(p);
  values_.assign(names_.size(), nullptr);
  if (call.args.size() > names_.size())
    throw OpError(std::string(func) + "() takes at most " + std::to_string(names_.size()) + " argument(s) (" +
                  std::to_string(call.args.size()) + " given)");
  for (size_t i = 0; i < call.args.size(); ++i) values_[i] = &call.args[i];
  for (const auto& [k, v] : call.kwargs) {
    size_t i = 0;
    while (i < names_.size() && names_[i] != k) ++i;
    if (i == names_.size()) throw OpError(std::string(func) + "() got an unexpected keyword argument '" + k + "'");
    if (values_[i]) throw OpError(std::string(func) + "() got multiple values for argument '" + k + "'");
    values_[i] = &v;
  }
  for (size_t i = 0; i < required; ++i)
    if (!values_[i]) throw OpError(std::string(func) + "() missing required argument '" + names_[i] + "'");
}

const Value* Bound::get(std::string_view name) const {
  for (size_t i = 0; i < names_.size(); ++i)
    if (names_[i] == name) return values_[i];
  return nullptr;
}

Value Bound::get_or(std::string_view name, Value fallback) const {
  const Value* v = get(name);
  return v ? *v : fallback;
}
std::optional<Value> method_of(const Value& obj, const std::string& name) {
  bool is_method = obj.is_string()           ? in(kStrMethods, name)
                   : obj.is_mapping()        ? in(kDictMethods, name)
                   : obj.kind() == K::kList  ? in(kListMethods, name)
                   : obj.kind() == K::kTuple ? name == "count" || name == "index"
                                             : false;
  if (!is_method) return std::nullopt;
  return bound_method(obj, name);
}

Value global(const std::string& name) {
  if (name == "raise_exception") {
    return Value::callable(name, [](CallArgs& a) -> Value {
      Bound b("raise_exception", a, {"message"}, 1);
      // The template's own message, unchanged: it is what users (and HF's tests) see.
      throw Error(b.get("message")->to_str(), "the chat template rejected this conversation (raise_exception)");
    });
  }
  if (name == "strftime_now") {
    return Value::callable(name, [](CallArgs& a) {
      Bound b("strftime_now", a, {"format"}, 1);
      return Value::string(strftime_now(need_str(b.get("format"), "format")));
    });
  }
  if (name == "namespace") {
    return Value::callable(name, [](CallArgs& a) {
      Dict d = namespace_attrs(a, "namespace");
      for (const auto& kv : d.items)
        if (!kv.first.empty() && kv.first[0] == '_')
          throw OpError("chat templates cannot store underscore-prefixed attributes on a namespace, but got '" +
                        kv.first + "'");
      return Value::ns(std::move(d));
    });
  }
  if (name == "dict") {
    return Value::callable(name, [](CallArgs& a) { return Value::dict(namespace_attrs(a, "dict")); });
  }
  if (name == "range") {
    return Value::callable(name, [](CallArgs& a) {
      if (!a.kwargs.empty() || a.args.empty() || a.args.size() > 3) throw OpError("range() takes 1 to 3 integers");
      for (const Value& v : a.args)
        if (!v.is_int()) throw OpError("range() arguments must be integers");
      int64_t start = a.args.size() > 1 ? a.args[0].as_int() : 0;
      int64_t stop = a.args.size() > 1 ? a.args[1].as_int() : a.args[0].as_int();
      int64_t step = a.args.size() > 2 ? a.args[2].as_int() : 1;
      if (step == 0) throw OpError("range() arg 3 must not be zero");
      std::vector<Value> out;
      for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
        // Jinja's sandbox refuses ranges over 100000 items (MAX_RANGE).
        if (out.size() >= 100000) throw OpError("range too big (more than 100000 items)");
        out.push_back(Value::integer(i));
      }
      return Value::list(std::move(out));
    });
  }
  if (name == "cycler" || name == "joiner" || name == "lipsum") {
    return Value::callable(
        name, [name](CallArgs&) -> Value { throw Unsupported("unsupported global function '" + name + "()'"); });
  }
  return Value::undefined("'" + name + "' is undefined");
}
}  // namespace tsc::chat
