// Chat-template evaluator: statements write to an output string, expressions evaluate to Values.
//
// Scoping is Jinja's: a for loop's body gets a fresh scope per iteration, if does not scope, macros close over
// the scope they are defined in, and assignments write to the innermost scope.
#include "runtime/chat/eval.h"

#include <unordered_map>
#include <unordered_set>

#include "runtime/chat/builtins.h"

namespace tsc::chat {
namespace {

using EK = Expr::Kind;
using SK = Stmt::Kind;

struct Frame {
  std::unordered_map<std::string, Value> vars;
  std::shared_ptr<Frame> parent;
};
using FramePtr = std::shared_ptr<Frame>;

FramePtr child(const FramePtr& parent) {
  auto f = std::make_shared<Frame>();
  f->parent = parent;
  return f;
}

// Deep enough for any real template; a recursive macro that runs away fails instead of overflowing the stack.
constexpr int kMaxCallDepth = 256;

class Interpreter {
 public:
  Interpreter(const SourceText& src, const Dict& variables) : src_(src), root_(std::make_shared<Frame>()) {
    for (const auto& [k, v] : variables.items) root_->vars[k] = v;
  }

  // Macros close over the frame that holds them, and namespaces can hold themselves: shared_ptr cycles.
  // Nothing from a render outlives it, so emptying those frames and namespaces at the end frees them.
  ~Interpreter() {
    for (const FramePtr& f : macro_frames_) f->vars.clear();
    for (const Value& ns : namespaces_) ns.ns_dict().items.clear();
  }

  std::string run(const Body& body) {
    std::string out;
    exec(body, root_, out);
    return out;
  }

 private:
  enum class Flow { kNormal, kBreak, kContinue };

  Flow exec(const Body& body, const FramePtr& f, std::string& out) {
    for (const auto& s : body) {
      Flow flow = exec_stmt(*s, f, out);
      if (flow != Flow::kNormal) return flow;
    }
    return Flow::kNormal;
  }

  Flow exec_stmt(const Stmt& s, const FramePtr& f, std::string& out) {
    switch (s.kind) {
      case SK::kData: out += s.text; return Flow::kNormal;
      case SK::kOutput:
        for (const auto& e : s.exprs) out += to_str(*e, *f);
        return Flow::kNormal;
      case SK::kIf:
        for (size_t i = 0; i < s.exprs.size(); ++i)
          if (eval(*s.exprs[i], *f).truthy()) return exec(s.bodies[i], f, out);
        return exec(s.bodies.back(), f, out);
      case SK::kFor: return exec_for(s, f, out);
      case SK::kSet: assign(*s.exprs[0], eval(*s.exprs[1], *f), *f); return Flow::kNormal;
      case SK::kSetBlock: {
        std::string captured;
        Flow flow = exec(s.bodies[0], child(f), captured);
        Value v = Value::string(std::move(captured));
        if (s.exprs[1]) v = apply_block_filter(*s.exprs[1], std::move(v), *f);
        assign(*s.exprs[0], std::move(v), *f);
        return flow;
      }
      case SK::kMacro: f->vars[s.text] = make_macro(s, f); return Flow::kNormal;
      case SK::kBreak: return Flow::kBreak;
      case SK::kContinue: return Flow::kContinue;
      case SK::kFilterBlock: {
        std::string captured;
        Flow flow = exec(s.bodies[0], child(f), captured);
        out += apply_block_filter(*s.exprs[0], Value::string(std::move(captured)), *f).to_str();
        return flow;
      }
      case SK::kWith: {
        // Values are evaluated in the outer scope, then bound in the inner one.
        FramePtr inner = child(f);
        for (size_t i = 0; i + 1 < s.exprs.size(); i += 2) assign(*s.exprs[i], eval(*s.exprs[i + 1], *f), *inner);
        return exec(s.bodies[0], inner, out);
      }
      case SK::kScope: return exec(s.bodies[0], child(f), out);
    }
    return Flow::kNormal;
  }

  Flow exec_for(const Stmt& s, const FramePtr& f, std::string& out) {
    const Expr& target = *s.exprs[0];
    const Expr& iter = *s.exprs[1];
    std::vector<Value> items = guarded(iter.pos, [&] { return iterate(eval(iter, *f)); });
    if (const Expr* filter = s.exprs[2].get()) {
      // `for x in xs if cond`: filtered before the loop starts, so loop.length/last count kept items only.
      std::vector<Value> kept;
      for (Value& item : items) {
        FramePtr tf = child(f);
        assign(target, item, *tf);
        if (eval(*filter, *tf).truthy()) kept.push_back(std::move(item));
      }
      items = std::move(kept);
    }
    // Jinja marks the loop as iterated at the end of the body, so `else` also runs when every iteration
    // ended in break or continue (a quirk of its code generator, kept for identical output).
    bool completed = false;
    for (size_t i = 0; i < items.size(); ++i) {
      FramePtr lf = child(f);
      lf->vars["loop"] = loop_object(items, i);
      assign(target, items[i], *lf);
      Flow flow = exec(s.bodies[0], lf, out);
      if (flow == Flow::kBreak) break;
      if (flow == Flow::kNormal) completed = true;
    }
    if (!completed) return exec(s.bodies[1], child(f), out);
    return Flow::kNormal;
  }

  // Jinja's LoopContext, as a dict: loop.index, loop.first, loop.cycle(...), ...
  Value loop_object(const std::vector<Value>& items, size_t i) {
    int64_t n = static_cast<int64_t>(items.size()), k = static_cast<int64_t>(i);
    Dict d;
    d.items = {{"index", Value::integer(k + 1)},    {"index0", Value::integer(k)},
               {"revindex", Value::integer(n - k)}, {"revindex0", Value::integer(n - k - 1)},
               {"first", Value::boolean(k == 0)},   {"last", Value::boolean(k == n - 1)},
               {"length", Value::integer(n)},       {"depth", Value::integer(1)},
               {"depth0", Value::integer(0)}};
    if (k > 0) d.items.emplace_back("previtem", items[i - 1]);
    if (k + 1 < n) d.items.emplace_back("nextitem", items[i + 1]);
    d.items.emplace_back("cycle", Value::callable("loop.cycle", [k](CallArgs& a) {
                           if (a.args.empty()) throw OpError("no items for cycling given");
                           return a.args[static_cast<size_t>(k) % a.args.size()];
                         }));
    return Value::dict(std::move(d));
  }

  Value make_macro(const Stmt& s, const FramePtr& defining) {
    macro_frames_.push_back(defining);
    const Stmt* m = &s;
    return Value::callable(s.text, [this, m, defining](CallArgs& a) -> Value {
      const auto& params = m->params;
      size_t first_default = params.size() - m->defaults.size();
      if (a.args.size() > params.size())
        throw OpError("macro '" + m->text + "' takes not more than " + std::to_string(params.size()) +
                      " argument(s)");
      FramePtr mf = child(defining);
      std::vector<bool> given(params.size(), false);
      for (size_t i = 0; i < a.args.size(); ++i) {
        mf->vars[params[i]] = a.args[i];
        given[i] = true;
      }
      for (const auto& [k, v] : a.kwargs) {
        size_t i = 0;
        while (i < params.size() && params[i] != k) ++i;
        if (i == params.size()) throw OpError("macro '" + m->text + "' takes no keyword argument '" + k + "'");
        if (given[i]) throw OpError("macro '" + m->text + "' got multiple values for argument '" + k + "'");
        mf->vars[k] = v;
        given[i] = true;
      }
      for (size_t i = 0; i < params.size(); ++i) {
        if (given[i]) continue;
        mf->vars[params[i]] = i >= first_default
                                  ? eval(*m->defaults[i - first_default], *mf)
                                  : Value::undefined("parameter '" + params[i] + "' was not provided");
      }
      std::string out;
      exec(m->bodies[0], mf, out);
      return Value::string(std::move(out));
    });
  }

  void assign(const Expr& target, Value v, Frame& f) {
    if (target.kind == EK::kName) {
      f.vars[target.name] = std::move(v);
    } else if (target.kind == EK::kTuple) {
      std::vector<Value> parts = guarded(target.pos, [&] { return iterate(v); });
      size_t n = target.operands.size();
      if (parts.size() != n)
        fail_at(src_, target.pos,
                parts.size() > n ? "too many values to unpack (expected " + std::to_string(n) + ")"
                                 : "not enough values to unpack (expected " + std::to_string(n) + ", got " +
                                       std::to_string(parts.size()) + ")",
                kRenderHint);
      for (size_t i = 0; i < n; ++i) assign(*target.operands[i], std::move(parts[i]), f);
    } else {  // kNsRef
      Value ns = lookup(target.name, f);
      if (ns.kind() != Value::Kind::kNamespace)
        fail_at(src_, target.pos, "cannot assign attribute on non-namespace object", kRenderHint);
      if (!target.attr.empty() && target.attr[0] == '_')
        fail_at(src_, target.pos, "chat templates cannot store underscore-prefixed attributes on a namespace",
                kRenderHint);
      ns.ns_dict().set(target.attr, std::move(v));
      if (seen_namespaces_.insert(&ns.ns_dict()).second) namespaces_.push_back(std::move(ns));
    }
  }

  Value lookup(const std::string& name, const Frame& f) const {
    for (const Frame* fr = &f; fr; fr = fr->parent.get()) {
      auto it = fr->vars.find(name);
      if (it != fr->vars.end()) return it->second;
    }
    return global(name);
  }

  // Runs fn, turning a value error into a tsc::Error at `pos`.
  template <class Fn>
  auto guarded(size_t pos, Fn&& fn) -> decltype(fn()) {
    try {
      return fn();
    } catch (const Unsupported& e) {
      fail_at(src_, pos, e.what(), kSubsetHint);
    } catch (const OpError& e) {
      fail_at(src_, pos, e.what(), kRenderHint);
    }
  }

  Value eval(const Expr& e, Frame& f) {
    return guarded(e.pos, [&] { return eval_node(e, f); });
  }

  std::string to_str(const Expr& e, Frame& f) {
    Value v = eval(e, f);
    return guarded(e.pos, [&] { return v.to_str(); });
  }

  Value apply_block_filter(const Expr& filter, Value input, Frame& f) {
    Value saved = std::move(block_input_);
    block_input_ = std::move(input);
    Value out = eval(filter, f);
    block_input_ = std::move(saved);
    return out;
  }

  CallArgs eval_args(const Expr& e, size_t first, Frame& f) {
    CallArgs call;
    for (size_t i = first; i < e.operands.size(); ++i) call.args.push_back(eval(*e.operands[i], f));
    for (const auto& [k, v] : e.kwargs) call.kwargs.emplace_back(k, eval(*v, f));
    return call;
  }

  Value call(const Value& callee, CallArgs& args) {
    callee.require_defined();
    if (callee.kind() != Value::Kind::kCallable)
      throw OpError("'" + callee.type_name() + "' object is not callable");
    if (depth_ >= kMaxCallDepth) throw OpError("calls nested too deeply (a macro recursing without end?)");
    ++depth_;
    struct Leave {
      int& d;
      ~Leave() { --d; }
    } leave{depth_};
    return callee.function()(args);
  }

  bool compare(const std::string& op, const Value& a, const Value& b) {
    if (op == "==") return equals(a, b);
    if (op == "!=") return !equals(a, b);
    if (op == "<") return less(a, b);
    if (op == ">") return less(b, a);
    if (op == "<=") return less(a, b) || equals(a, b);
    if (op == ">=") return less(b, a) || equals(a, b);
    if (op == "in") return contains(b, a);
    return !contains(b, a);  // notin
  }

  Value eval_node(const Expr& e, Frame& f) {
    const auto& ops = e.operands;
    switch (e.kind) {
      case EK::kConst: return e.value;
      case EK::kName: return lookup(e.name, f);
      case EK::kNsRef: throw OpError("namespace reference outside an assignment");
      case EK::kList:
      case EK::kTuple: {
        std::vector<Value> items;
        for (const auto& x : ops) items.push_back(eval(*x, f));
        return Value::list(std::move(items), e.kind == EK::kList ? Value::Kind::kList : Value::Kind::kTuple);
      }
      case EK::kDict: {
        Dict d;
        for (size_t i = 0; i + 1 < ops.size(); i += 2) {
          Value k = eval(*ops[i], f);
          if (!k.is_string()) throw Unsupported("unsupported: dict keys other than strings");
          d.set(k.str_ref(), eval(*ops[i + 1], f));
        }
        return Value::dict(std::move(d));
      }
      case EK::kGetattr: return get_attr(eval(*ops[0], f), e.attr);
      case EK::kGetitem: {
        Value obj = eval(*ops[0], f);
        const Expr& index = *ops[1];
        if (index.kind != EK::kSlice) return get_item(obj, eval(index, f));
        auto part = [&](size_t i) { return index.operands[i] ? eval(*index.operands[i], f) : Value::none(); };
        return get_slice(obj, part(0), part(1), part(2));
      }
      case EK::kSlice: throw Unsupported("unsupported: a slice inside a tuple subscript");
      case EK::kCall: {
        Value callee = eval(*ops[0], f);
        CallArgs args = eval_args(e, 1, f);
        return call(callee, args);
      }
      case EK::kFilter: {
        Value input = ops[0] ? eval(*ops[0], f) : block_input_;
        CallArgs args = eval_args(e, 1, f);
        return call_filter(e.name, input, args);
      }
      case EK::kTest: {
        Value input = eval(*ops[0], f);
        CallArgs args = eval_args(e, 1, f);
        return Value::boolean(call_test(e.name, input, args));
      }
      case EK::kNeg:
      case EK::kPos: {
        Value v = eval(*ops[0], f);
        v.require_defined();
        if (!v.is_number())
          throw OpError(std::string("bad operand type for unary ") + (e.kind == EK::kNeg ? "-" : "+") + ": '" +
                        v.type_name() + "'");
        if (e.kind == EK::kPos) return v.kind() == Value::Kind::kFloat ? v : Value::integer(v.as_int());
        if (v.kind() == Value::Kind::kFloat) return Value::number(-v.as_float());
        return arithmetic("-", Value::integer(0), v);  // overflow-checked
      }
      case EK::kNot: return Value::boolean(!eval(*ops[0], f).truthy());
      case EK::kAnd: {
        Value l = eval(*ops[0], f);
        return l.truthy() ? eval(*ops[1], f) : l;
      }
      case EK::kOr: {
        Value l = eval(*ops[0], f);
        return l.truthy() ? l : eval(*ops[1], f);
      }
      case EK::kBinary: {
        Value l = eval(*ops[0], f);
        Value r = eval(*ops[1], f);
        return arithmetic(e.name, l, r);
      }
      case EK::kConcat: {
        std::string s;
        for (const auto& x : ops) s += to_str(*x, f);
        return Value::string(std::move(s));
      }
      case EK::kCompare: {
        Value left = eval(*ops[0], f);
        for (size_t i = 0; i < e.ops.size(); ++i) {
          Value right = eval(*ops[i + 1], f);
          if (!compare(e.ops[i], left, right)) return Value::boolean(false);
          left = std::move(right);
        }
        return Value::boolean(true);
      }
      case EK::kCond:
        if (eval(*ops[1], f).truthy()) return eval(*ops[0], f);
        if (ops[2]) return eval(*ops[2], f);
        return Value::undefined("the inline if-expression at " + src_.where(e.pos) +
                                " evaluated to false and no else section was defined");
    }
    throw OpError("internal error: unknown expression kind");
  }

  const SourceText& src_;
  FramePtr root_;
  Value block_input_;  // the rendered body a {% filter %} or {% set x | f %} block applies its filters to
  int depth_ = 0;
  std::vector<FramePtr> macro_frames_;
  std::vector<Value> namespaces_;
  std::unordered_set<const Dict*> seen_namespaces_;
};

}  // namespace

std::string render(const SourceText& src, const Body& body, const Dict& variables) {
  return Interpreter(src, variables).run(body);
}

}  // namespace tsc::chat
