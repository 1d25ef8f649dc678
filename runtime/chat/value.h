// Values of the chat-template interpreter: Python's None/bool/int/float/str/list/tuple/dict and Jinja's extras.
#pragma once
#include <nlohmann/json.hpp>

#include "runtime/chat/op_error.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tsc::chat {

class Value;

// Dicts keep insertion order, as Python's do: templates iterate them and tojson prints them in that order.
// Keys are strings (JSON's keys); templates rarely need others, and a literal with one is rejected.
struct Dict {
  std::vector<std::pair<std::string, Value>> items;
  const Value* find(std::string_view key) const;
  void set(std::string key, Value value);
};

struct CallArgs {
  std::vector<Value> args;
  std::vector<std::pair<std::string, Value>> kwargs;
};
using Function = std::function<Value(CallArgs&)>;

class Value {
 public:
  // kIterator stands for the generators that Jinja's select/map/reverse return: iterable, always true,
  // and without len() or indexing (so `x|select|length` raises, as it does in Jinja).
  enum class Kind {
    kUndefined,
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,
    kList,
    kTuple,
    kIterator,
    kDict,
    kNamespace,
    kCallable
  };

  Value() = default;                        // Undefined
  static Value undefined(std::string why);  // why: the message an operation on it raises
  static Value none();
  static Value boolean(bool b);
  static Value integer(int64_t i);
  static Value number(double f);
  static Value string(std::string s);
  // markupsafe's Markup, which |safe returns: prints as the text, but `+` HTML-escapes a plain operand and
  // repr() shows Markup('...'). Autoescape is off in transformers, so nothing else marks strings safe.
  static Value markup(std::string s);
  static Value list(std::vector<Value> items, Kind kind = Kind::kList);
  // dict.items()/keys()/values(): a list that prints as dict_items([...]) and is neither indexable nor JSON.
  static Value dict_view(std::vector<Value> items, std::string view_name);
  static Value dict(Dict d);
  static Value ns(Dict d);  // a namespace(): a dict whose attributes `set ns.x = ...` may change
  static Value callable(std::string name, Function fn);
  static Value from_json(const nlohmann::json& j);
  static Value from_json(const nlohmann::ordered_json& j);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_markup() const { return kind_ == Kind::kString && b_; }
  bool is_int() const { return kind_ == Kind::kInt || kind_ == Kind::kBool; }  // bool is an int in Python
  bool is_number() const { return is_int() || kind_ == Kind::kFloat; }
  bool is_sequence_kind() const { return kind_ == Kind::kList || kind_ == Kind::kTuple; }
  bool is_mapping() const { return kind_ == Kind::kDict; }

  bool as_bool() const { return b_; }
  int64_t as_int() const { return kind_ == Kind::kBool ? (b_ ? 1 : 0) : i_; }
  double as_float() const { return kind_ == Kind::kFloat ? f_ : static_cast<double>(as_int()); }
  const std::string& str_ref() const { return s_; }  // the string of a kString, the reason of a kUndefined
  const std::vector<Value>& items() const { return *list_; }
  const Dict& dict() const { return *dict_; }
  Dict& ns_dict() const { return *dict_; }
  const Function& function() const { return *fn_; }
  const std::string& callable_name() const { return s_; }
  const std::string& view_name() const { return s_; }  // "dict_items"... for dict views, else ""

  // Python's truth value (Undefined is false, iterators true).
  bool truthy() const;
  // str(value): what {{ }}, ~ and |string print. Undefined prints as "".
  std::string to_str() const;
  // repr(value): how values print inside lists and dicts.
  std::string repr() const;
  // Python's type name, for messages ("str", "list", "NoneType").
  std::string type_name() const;
  // Raises Jinja's UndefinedError when this is Undefined; what the operations that Undefined refuses call.
  void require_defined() const;

 private:
  Kind kind_ = Kind::kUndefined;
  bool b_ = false;
  int64_t i_ = 0;
  double f_ = 0;
  std::string s_;
  std::shared_ptr<const std::vector<Value>> list_;
  std::shared_ptr<Dict> dict_;
  std::shared_ptr<const Function> fn_;
};

// Python's == (1 == 1.0 == True; lists and dicts compare by content; Undefined equals only Undefined).
bool equals(const Value& a, const Value& b);
// Python's <, for numbers, strings (code-point order) and lists/tuples; other pairs raise OpError.
bool less(const Value& a, const Value& b);
// The elements a for loop visits: list items, string code points, dict keys; Undefined gives none.
std::vector<Value> iterate(const Value& v);
// len(); raises OpError for values without one.
int64_t length(const Value& v);
// json.dumps(v, ensure_ascii=False, indent=..., separators=..., sort_keys=...), as transformers' tojson.
struct JsonStyle {
  std::optional<std::string> indent;  // nullopt: one line
  std::string item_sep = ", ";
  std::string key_sep = ": ";
  bool sort_keys = false;
};
std::string to_json(const Value& v, const JsonStyle& style);

}  // namespace tsc::chat
