// Attribute, item and slice access, `in` and arithmetic on values, with Python's and Jinja's semantics.
#include <cmath>

#include "runtime/chat/builtins.h"
#include "runtime/chat/text.h"

namespace tsc::chat {
namespace {

using K = Value::Kind;

// Python's hash() succeeds: not a list or dict, nor a tuple holding one.
bool hashable(const Value& v) {
  if (v.kind() == K::kList || v.is_mapping()) return false;
  if (v.kind() == K::kTuple)
    for (const Value& e : v.items())
      if (!hashable(e)) return false;
  return true;
}

// Jinja's object_type_repr: "None", or "<type> object".
std::string object_name(const Value& obj) { return obj.is_none() ? "None" : obj.type_name() + " object"; }

// Jinja's wording: "'dict object' has no attribute 'x'", but "list object has no element 5".
Value no_attribute(const Value& obj, const std::string& name) {
  return Value::undefined("'" + object_name(obj) + "' has no attribute '" + name + "'");
}

// Python's slice.indices(): clamp start and stop for a sequence of length n.
void adjust_slice(int64_t n, const Value& start, const Value& stop, int64_t step, int64_t& b, int64_t& e) {
  auto clamp = [&](const Value& v, int64_t none_value) {
    if (v.is_none()) return none_value;
    int64_t i = v.as_int();
    if (i < 0) {
      i += n;
      if (i < 0) i = step < 0 ? -1 : 0;
    } else if (i >= n) {
      i = step < 0 ? n - 1 : n;
    }
    return i;
  };
  b = clamp(start, step < 0 ? n - 1 : 0);
  e = clamp(stop, step < 0 ? -1 : n);
}

[[noreturn]] void overflow() { throw OpError("integer overflow (chat-template integers are 64-bit)"); }

// a op b on int64 with Python's answer or an error, never a wrapped value.
int64_t add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) overflow();
  return r;
}
int64_t sub(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) overflow();
  return r;
}
int64_t mul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) overflow();
  return r;
}

int64_t floor_div(int64_t a, int64_t b) {
  if (b == 0) throw OpError("integer division or modulo by zero");
  if (a == INT64_MIN && b == -1) overflow();
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// CPython's float_divmod quotient: floor((a - fmod(a, b)) / b), rounded as CPython rounds it (1 // 0.1 is 9.0).
double float_floor_div(double a, double b) {
  double mod = std::fmod(a, b);
  double div = (a - mod) / b;
  if (mod != 0 && ((b < 0) != (mod < 0))) div -= 1.0;
  if (div == 0) return std::copysign(0.0, a / b);
  double q = std::floor(div);
  return div - q > 0.5 ? q + 1.0 : q;
}

int64_t floor_mod(int64_t a, int64_t b) {
  if (b == 0) throw OpError("integer division or modulo by zero");
  if (b == -1) return 0;
  int64_t r = a % b;
  return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}

Value repeat(const Value& seq, int64_t n) {
  if (seq.is_markup()) return Value::markup(repeat(Value::string(seq.str_ref()), n).str_ref());
  // Python would try (and fail) to allocate 'x' * 2**40; a prompt that large is a template bug anyway.
  constexpr int64_t kMaxItems = int64_t{1} << 26;
  int64_t unit =
      seq.is_string() ? static_cast<int64_t>(seq.str_ref().size()) : static_cast<int64_t>(seq.items().size());
  if (n > 0 && unit > 0 && n > kMaxItems / unit) throw OpError("repetition result too large");
  if (seq.is_string()) {
    std::string out;
    for (int64_t i = 0; i < n; ++i) out += seq.str_ref();
    return Value::string(out);
  }
  std::vector<Value> out;
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), seq.items().begin(), seq.items().end());
  return Value::list(std::move(out), seq.kind());
}
// markupsafe.escape of a plain string.
std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

Value get_attr(const Value& obj, const std::string& name) {
  obj.require_defined();
  if (std::optional<Value> m = method_of(obj, name)) return *m;
  switch (obj.kind()) {
    case K::kDict: {
      const Value* v = obj.dict().find(name);
      return v ? *v : no_attribute(obj, name);
    }
    case K::kNamespace: {
      const Value* v = obj.ns_dict().find(name);
      return v ? *v : no_attribute(obj, name);
    }
    default: return no_attribute(obj, name);
  }
}

Value get_item(const Value& obj, const Value& key) {
  obj.require_defined();
  if (key.kind() == K::kInt || key.kind() == K::kBool) {
    bool view = obj.kind() == K::kList && !obj.view_name().empty();  // dict views are not subscriptable
    int64_t n = obj.is_string()                   ? utf8_length(obj.str_ref())
                : obj.is_sequence_kind() && !view ? static_cast<int64_t>(obj.items().size())
                                                  : -1;
    if (n >= 0) {
      int64_t i = key.as_int() < 0 ? key.as_int() + n : key.as_int();
      if (i < 0 || i >= n) return Value::undefined(object_name(obj) + " has no element " + key.repr());
      if (obj.is_string()) return Value::string(utf8_encode(std::u32string(1, utf8_decode(obj.str_ref())[i])));
      return obj.items()[i];
    }
  }
  if (obj.is_mapping() && key.is_string()) {
    if (const Value* v = obj.dict().find(key.str_ref())) return *v;
  }
  if (key.is_string()) return get_attr(obj, key.str_ref());
  return Value::undefined(object_name(obj) + " has no element " + key.repr());
}

Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step) {
  // Jinja compiles slices to Python's own x[a:b:c] (not its forgiving getitem), so every misuse raises.
  obj.require_defined();
  if (obj.kind() == K::kList && !obj.view_name().empty())
    throw OpError("'" + obj.view_name() + "' object is not subscriptable");
  if (!obj.is_string() && !obj.is_sequence_kind())
    throw OpError(obj.is_mapping() ? "unhashable type: 'slice'"
                                   : "'" + obj.type_name() + "' object is not subscriptable");
  for (const Value* v : {&start, &stop, &step})
    if (!v->is_none() && !v->is_int()) throw OpError("slice indices must be integers or None");
  int64_t st = step.is_none() ? 1 : step.as_int();
  if (st == 0) throw OpError("slice step cannot be zero");
  std::u32string u = obj.is_string() ? utf8_decode(obj.str_ref()) : std::u32string();
  int64_t n = obj.is_string() ? static_cast<int64_t>(u.size()) : static_cast<int64_t>(obj.items().size());
  int64_t b, e;
  adjust_slice(n, start, stop, st, b, e);
  std::u32string s;
  std::vector<Value> items;
  for (int64_t i = b; st > 0 ? i < e : i > e; i += st) {
    if (obj.is_string())
      s.push_back(u[i]);
    else
      items.push_back(obj.items()[i]);
  }
  return obj.is_string() ? Value::string(utf8_encode(s)) : Value::list(std::move(items), obj.kind());
}

bool contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case K::kString:
      if (!item.is_string())
        throw OpError("'in <string>' requires string as left operand, not " + item.type_name());
      return container.str_ref().find(item.str_ref()) != std::string::npos;
    case K::kDict:
      if (!hashable(item)) throw OpError("unhashable type: '" + item.type_name() + "'");
      return item.is_string() && container.dict().find(item.str_ref()) != nullptr;
    case K::kUndefined:
    case K::kList:
    case K::kTuple:
    case K::kIterator:
      for (const Value& v : iterate(container))
        if (equals(v, item)) return true;
      return false;
    default: throw OpError("argument of type '" + container.type_name() + "' is not iterable");
  }
}

Value arithmetic(const std::string& op, const Value& a, const Value& b) {
  if (op == "%" && a.is_string())
    throw Unsupported("unsupported: printf-style string formatting ('...' % values)");
  a.require_defined();
  b.require_defined();
  bool ints = a.is_int() && b.is_int();
  bool nums = a.is_number() && b.is_number();
  if (op == "+") {
    if (ints) return Value::integer(add(a.as_int(), b.as_int()));
    if (nums) return Value::number(a.as_float() + b.as_float());
    if (a.is_string() && b.is_string()) {
      if (!a.is_markup() && !b.is_markup()) return Value::string(a.str_ref() + b.str_ref());
      // Markup + str escapes the str (Markup.__add__ / __radd__).
      return Value::markup((a.is_markup() ? a.str_ref() : html_escape(a.str_ref())) +
                           (b.is_markup() ? b.str_ref() : html_escape(b.str_ref())));
    }
    if (a.is_sequence_kind() && a.kind() == b.kind()) {
      std::vector<Value> items = a.items();
      items.insert(items.end(), b.items().begin(), b.items().end());
      return Value::list(std::move(items), a.kind());
    }
  } else if (op == "-") {
    if (ints) return Value::integer(sub(a.as_int(), b.as_int()));
    if (nums) return Value::number(a.as_float() - b.as_float());
  } else if (op == "*") {
    if (ints) return Value::integer(mul(a.as_int(), b.as_int()));
    if (nums) return Value::number(a.as_float() * b.as_float());
    if ((a.is_string() || a.is_sequence_kind()) && b.is_int()) return repeat(a, b.as_int());
    if ((b.is_string() || b.is_sequence_kind()) && a.is_int()) return repeat(b, a.as_int());
  } else if (op == "/") {
    if (nums) {
      if (b.as_float() == 0) throw OpError("division by zero");
      return Value::number(a.as_float() / b.as_float());
    }
  } else if (op == "//") {
    if (ints) return Value::integer(floor_div(a.as_int(), b.as_int()));
    if (nums) {
      if (b.as_float() == 0) throw OpError("float floor division by zero");
      return Value::number(float_floor_div(a.as_float(), b.as_float()));
    }
  } else if (op == "%") {
    if (ints) return Value::integer(floor_mod(a.as_int(), b.as_int()));
    if (nums) {
      if (b.as_float() == 0) throw OpError("float modulo");
      double m = std::fmod(a.as_float(), b.as_float());
      if (m != 0 && ((m < 0) != (b.as_float() < 0))) m += b.as_float();
      return Value::number(m);
    }
  } else if (op == "**") {
    if (ints && b.as_int() >= 0) {
      // Exponentiation by squaring; |base| <= 1 never overflows, however large the exponent.
      int64_t base = a.as_int(), e = b.as_int(), result = 1;
      if (base == 0 || base == 1) return Value::integer(e == 0 ? 1 : base);
      if (base == -1) return Value::integer(e % 2 ? -1 : 1);
      while (true) {
        if (e & 1) result = mul(result, base);
        e >>= 1;
        if (!e) break;
        base = mul(base, base);
      }
      return Value::integer(result);
    }
    if (nums) {
      double x = a.as_float(), y = b.as_float();
      if (x == 0 && y < 0) throw OpError("0.0 cannot be raised to a negative power");
      double r = std::pow(x, y);
      // Python raises where C's pow overflows (and never returns a complex for a negative base).
      if (std::isinf(r) && std::isfinite(x) && std::isfinite(y)) throw OpError("Numerical result out of range");
      if (std::isnan(r) && !std::isnan(x) && !std::isnan(y))
        throw Unsupported("unsupported: a negative number raised to a fractional power (a complex number)");
      return Value::number(r);
    }
  }
  throw OpError("unsupported operand type(s) for " + op + ": '" + a.type_name() + "' and '" + b.type_name() + "'");
}
}  // namespace tsc::chat
