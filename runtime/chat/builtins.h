// The chat-template interpreter's built-ins: filters, tests, attribute/item access, methods, globals.
#pragma once
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/chat/value.h"

namespace tsc::chat {

// Binds a call's arguments to a Python-style signature (positional, then by name); raises OpError for
// too many arguments, unknown or repeated keywords, and missing required ones.
class Bound {
 public:
  Bound(std::string_view func, const CallArgs& call, std::initializer_list<const char*> params,
        size_t required = 0);
  const Value* get(std::string_view name) const;  // nullptr when not passed
  Value get_or(std::string_view name, Value fallback) const;

 private:
  std::vector<std::string> names_;
  std::vector<const Value*> values_;
};

// Whether a filter or test name is one tsc implements, one of Jinja's built-ins that tsc does not, or
// unknown to Jinja too. The parser uses it to reject names where Jinja does, at parse time.
enum class NameStatus { kSupported, kUnsupported, kUnknown };
NameStatus filter_status(const std::string& name);
NameStatus test_status(const std::string& name);

// Applies the filter `name` (Jinja's built-in of that name, transformers' tojson); unknown names and Jinja
// filters outside the subset raise Unsupported when the filter runs, as Jinja does for unknown filters.
Value call_filter(const std::string& name, const Value& input, const CallArgs& call);
// Applies the test `name` (`x is name(args)`).
bool call_test(const std::string& name, const Value& input, const CallArgs& call);

// obj.name when it names a Python method of obj's type (str, dict, list, tuple): the bound method, which
// raises when called if tsc lacks it or the sandbox forbids it. nullopt for other names.
std::optional<Value> method_of(const Value& obj, const std::string& name);

// obj.name as Jinja's sandbox resolves it: a Python attribute first (so d.items is the method), then the
// item; missing gives Undefined, and any access on Undefined raises.
Value get_attr(const Value& obj, const std::string& name);
// obj[key]: the item first, then (for string keys) the attribute.
Value get_item(const Value& obj, const Value& key);
// obj[start:stop:step] with Python's index rules; start/stop/step are None or integers.
Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step);
// `item in container`.
bool contains(const Value& container, const Value& item);

// Globals of transformers' environment: raise_exception, strftime_now, namespace, dict, range (and
// Jinja's cycler/joiner/lipsum, which raise Unsupported). Undefined for other names.
Value global(const std::string& name);

// Arithmetic with Python's semantics (int overflow raises, // and % floor); op is one of + - * / // % **.
Value arithmetic(const std::string& op, const Value& a, const Value& b);

}  // namespace tsc::chat
