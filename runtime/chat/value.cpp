// Values of the chat-template interpreter: construction, Python's str/repr/==/</len, and json.dumps.
#include "runtime/chat/value.h"

#include <algorithm>
#include <cmath>

#include "runtime/chat/text.h"

namespace tsc::chat {

const Value* Dict::find(std::string_view key) const {
  for (const auto& [k, v] : items)
    if (k == key) return &v;
  return nullptr;
}

void Dict::set(std::string key, Value value) {
  for (auto& [k, v] : items) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  items.emplace_back(std::move(key), std::move(value));
}

Value Value::undefined(std::string why) {
  Value v;
  v.s_ = std::move(why);
  return v;
}

Value Value::none() {
  Value v;
  v.kind_ = Kind::kNone;
  return v;
}

Value Value::boolean(bool b) {
  Value v;
  v.kind_ = Kind::kBool;
  v.b_ = b;
  return v;
}

Value Value::integer(int64_t i) {
  Value v;
  v.kind_ = Kind::kInt;
  v.i_ = i;
  return v;
}

Value Value::number(double f) {
  Value v;
  v.kind_ = Kind::kFloat;
  v.f_ = f;
  return v;
}

Value Value::string(std::string s) {
  Value v;
  v.kind_ = Kind::kString;
  v.s_ = std::move(s);
  return v;
}

Value Value::markup(std::string s) {
  Value v = string(std::move(s));
  v.b_ = true;
  return v;
}

Value Value::list(std::vector<Value> items, Kind kind) {
  Value v;
  v.kind_ = kind;
  v.list_ = std::make_shared<const std::vector<Value>>(std::move(items));
  return v;
}

Value Value::dict_view(std::vector<Value> items, std::string view_name) {
  Value v = list(std::move(items));
  v.s_ = std::move(view_name);
  return v;
}

Value Value::dict(Dict d) {
  Value v;
  v.kind_ = Kind::kDict;
  v.dict_ = std::make_shared<Dict>(std::move(d));
  return v;
}

Value Value::ns(Dict d) {
  Value v = dict(std::move(d));
  v.kind_ = Kind::kNamespace;
  return v;
}

Value Value::callable(std::string name, Function fn) {
  Value v;
  v.kind_ = Kind::kCallable;
  v.s_ = std::move(name);
  v.fn_ = std::make_shared<const Function>(std::move(fn));
  return v;
}

namespace {

template <class Json>
Value value_from_json(const Json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null: return Value::none();
    case nlohmann::json::value_t::boolean: return Value::boolean(j.template get<bool>());
    case nlohmann::json::value_t::number_integer: return Value::integer(j.template get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      uint64_t u = j.template get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX))
        throw OpError("integer " + std::to_string(u) + " is too large for the chat template");
      return Value::integer(static_cast<int64_t>(u));
    }
    case nlohmann::json::value_t::number_float: return Value::number(j.template get<double>());
    case nlohmann::json::value_t::string: return Value::string(j.template get<std::string>());
    case nlohmann::json::value_t::array: {
      std::vector<Value> items;
      for (const auto& e : j) items.push_back(value_from_json(e));
      return Value::list(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      Dict d;
      for (auto it = j.begin(); it != j.end(); ++it) d.items.emplace_back(it.key(), value_from_json(it.value()));
      return Value::dict(std::move(d));
    }
    default: throw OpError("unsupported JSON value (binary or discarded) in chat template variables");
  }
}

std::string join_repr(const std::vector<Value>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i].repr();
  return out;
}

std::string dict_repr(const Dict& d) {
  std::string out = "{";
  for (size_t i = 0; i < d.items.size(); ++i)
    out += (i ? ", " : "") + py_repr(d.items[i].first) + ": " + d.items[i].second.repr();
  return out + "}";
}

void dump_json(const Value& v, const JsonStyle& st, int depth, std::string& out) {
  auto newline = [&](int d) {
    if (!st.indent) return;
    out += '\n';
    for (int k = 0; k < d; ++k) out += *st.indent;
  };
  switch (v.kind()) {
    case Value::Kind::kNone: out += "null"; return;
    case Value::Kind::kBool: out += v.as_bool() ? "true" : "false"; return;
    case Value::Kind::kInt: out += std::to_string(v.as_int()); return;
    case Value::Kind::kFloat: {
      double f = v.as_float();
      // json.dumps writes Python's float repr, and these three names for the non-finite values.
      out += std::isnan(f) ? "NaN" : std::isinf(f) ? (f < 0 ? "-Infinity" : "Infinity") : py_float_repr(f);
      return;
    }
    case Value::Kind::kString: out += json_quote(v.str_ref()); return;
    case Value::Kind::kList:
    case Value::Kind::kTuple: {
      if (!v.view_name().empty() && v.kind() == Value::Kind::kList)
        throw OpError("Object of type " + v.view_name() + " is not JSON serializable");
      const auto& items = v.items();
      if (items.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += st.item_sep;
        newline(depth + 1);
        dump_json(items[i], st, depth + 1, out);
      }
      newline(depth);
      out += ']';
      return;
    }
    case Value::Kind::kDict: {
      std::vector<const std::pair<std::string, Value>*> items;
      for (const auto& kv : v.dict().items) items.push_back(&kv);
      if (items.empty()) {
        out += "{}";
        return;
      }
      if (st.sort_keys)
        std::stable_sort(items.begin(), items.end(), [](auto* a, auto* b) { return a->first < b->first; });
      out += '{';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += st.item_sep;
        newline(depth + 1);
        out += json_quote(items[i]->first) + st.key_sep;
        dump_json(items[i]->second, st, depth + 1, out);
      }
      newline(depth);
      out += '}';
      return;
    }
    default: throw OpError("Object of type " + v.type_name() + " is not JSON serializable");
  }
}

}  // namespace

Value Value::from_json(const nlohmann::json& j) { return value_from_json(j); }
Value Value::from_json(const nlohmann::ordered_json& j) { return value_from_json(j); }

bool Value::truthy() const {
  switch (kind_) {
    case Kind::kUndefined:
    case Kind::kNone: return false;
    case Kind::kBool: return b_;
    case Kind::kInt: return i_ != 0;
    case Kind::kFloat: return f_ != 0;
    case Kind::kString: return !s_.empty();
    case Kind::kList:
    case Kind::kTuple: return !list_->empty();
    case Kind::kDict: return !dict_->items.empty();
    default: return true;
  }
}

std::string Value::to_str() const {
  switch (kind_) {
    case Kind::kUndefined: return "";
    case Kind::kString: return s_;
    case Kind::kIterator:
      // Jinja prints "<generator object ... at 0x...>", which no template means to print.
      throw OpError("printing a generator (the result of select/map/reverse); add '| list' before printing it");
    case Kind::kCallable: throw OpError("printing the function '" + s_ + "' instead of calling it");
    default: return repr();
  }
}

std::string Value::repr() const {
  switch (kind_) {
    case Kind::kUndefined: return "Undefined";
    case Kind::kNone: return "None";
    case Kind::kBool: return b_ ? "True" : "False";
    case Kind::kInt: return std::to_string(i_);
    case Kind::kFloat: return py_float_repr(f_);
    case Kind::kString: return b_ ? "Markup(" + py_repr(s_) + ")" : py_repr(s_);
    case Kind::kList: return s_.empty() ? "[" + join_repr(*list_) + "]" : s_ + "([" + join_repr(*list_) + "])";
    case Kind::kTuple: return "(" + join_repr(*list_) + (list_->size() == 1 ? ",)" : ")");
    case Kind::kDict: return dict_repr(*dict_);
    case Kind::kNamespace: return "<Namespace " + dict_repr(*dict_) + ">";
    default: return to_str();  // raises
  }
}

std::string Value::type_name() const {
  switch (kind_) {
    case Kind::kUndefined: return "Undefined";
    case Kind::kNone: return "NoneType";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return "str";
    case Kind::kList: return "list";
    case Kind::kTuple: return "tuple";
    case Kind::kIterator: return "generator";
    case Kind::kDict: return "dict";
    case Kind::kNamespace: return "Namespace";
    case Kind::kCallable: return "function";
  }
  return "?";
}

void Value::require_defined() const {
  if (kind_ == Kind::kUndefined) throw OpError(s_.empty() ? "value is undefined" : s_);
}

bool equals(const Value& a, const Value& b) {
  using K = Value::Kind;
  if (a.is_number() && b.is_number()) {
    if (a.is_int() && b.is_int()) return a.as_int() == b.as_int();
    return a.as_float() == b.as_float();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case K::kUndefined:
    case K::kNone: return true;
    case K::kString: return a.str_ref() == b.str_ref();
    case K::kList:
    case K::kTuple: {
      const auto &x = a.items(), &y = b.items();
      if (a.kind() == K::kList && a.view_name() != b.view_name()) return false;
      if (a.kind() == K::kList && !a.view_name().empty()) {
        // Python compares dict_keys/dict_items as sets; dict_values only by identity.
        if (a.view_name() == "dict_values" || x.size() != y.size()) return false;
        for (const Value& e : x)
          if (std::none_of(y.begin(), y.end(), [&](const Value& f) { return equals(e, f); })) return false;
        return true;
      }
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i)
        if (!equals(x[i], y[i])) return false;
      return true;
    }
    case K::kDict: {
      const auto &x = a.dict(), &y = b.dict();
      if (x.items.size() != y.items.size()) return false;
      for (const auto& [k, v] : x.items) {
        const Value* w = y.find(k);
        if (!w || !equals(v, *w)) return false;
      }
      return true;
    }
    case K::kNamespace: return &a.ns_dict() == &b.ns_dict();
    default: return false;  // generators and functions compare by identity in Python
  }
}

bool less(const Value& a, const Value& b) {
  a.require_defined();
  b.require_defined();
  if (a.is_number() && b.is_number()) {
    if (a.is_int() && b.is_int()) return a.as_int() < b.as_int();
    return a.as_float() < b.as_float();
  }
  if (a.is_string() && b.is_string()) return a.str_ref() < b.str_ref();  // UTF-8 byte order = code-point order
  if (a.kind() == b.kind() && a.is_sequence_kind()) {
    const auto &x = a.items(), &y = b.items();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (equals(x[i], y[i])) continue;
      return less(x[i], y[i]);
    }
    return x.size() < y.size();
  }
  throw OpError("'<' not supported between instances of '" + a.type_name() + "' and '" + b.type_name() + "'");
}

std::vector<Value> iterate(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return {};
    case Value::Kind::kList:
    case Value::Kind::kTuple:
    case Value::Kind::kIterator: return v.items();
    case Value::Kind::kString: {
      std::vector<Value> out;
      for (char32_t c : utf8_decode(v.str_ref())) out.push_back(Value::string(utf8_encode(std::u32string(1, c))));
      return out;
    }
    case Value::Kind::kDict: {
      std::vector<Value> out;
      for (const auto& kv : v.dict().items) out.push_back(Value::string(kv.first));
      return out;
    }
    default: throw OpError("'" + v.type_name() + "' object is not iterable");
  }
}

int64_t length(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return 0;
    case Value::Kind::kString: return utf8_length(v.str_ref());
    case Value::Kind::kList:
    case Value::Kind::kTuple: return static_cast<int64_t>(v.items().size());
    case Value::Kind::kDict: return static_cast<int64_t>(v.dict().items.size());
    default: throw OpError("object of type '" + v.type_name() + "' has no len()");
  }
}

std::string to_json(const Value& v, const JsonStyle& style) {
  std::string out;
  dump_json(v, style, 0, out);
  return out;
}

}  // namespace tsc::chat
