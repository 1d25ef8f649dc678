// Syntax tree of a parsed chat template: expressions and statements, as jinja2/nodes.py names them.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/chat/value.h"

namespace tsc::chat {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    kConst,    // value
    kName,     // name
    kNsRef,    // name.attr as an assignment target (`set ns.x = ...`)
    kList,     // operands: items
    kTuple,    // operands: items
    kDict,     // operands: key0, value0, key1, value1, ...
    kGetattr,  // operands: [object]; attr
    kGetitem,  // operands: [object, index]
    kSlice,    // operands: [start, stop, step], each possibly null
    kCall,     // operands: [callee, args...]; kwargs
    kFilter,   // operands: [input (null in a filter block), args...]; name; kwargs
    kTest,     // operands: [input, args...]; name; kwargs
    kNeg,      // operands: [x]
    kPos,      // operands: [x]
    kNot,      // operands: [x]
    kAnd,      // operands: [left, right]
    kOr,       // operands: [left, right]
    kBinary,   // operands: [left, right]; name: + - * / // % **
    kConcat,   // operands: the pieces of a ~ b ~ c
    kCompare,  // operands: [first, then one per op]; ops: == != < > <= >= in notin
    kCond,     // operands: [then, condition, else (may be null)]
  };
  Kind kind;
  size_t pos;  // offset in the SourceText, for messages
  Value value;
  std::string name;
  std::string attr;
  std::vector<ExprPtr> operands;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;

  Expr(Kind k, size_t p) : kind(k), pos(p) {}
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct Stmt {
  enum class Kind {
    kData,      // text
    kOutput,    // exprs: what {{ }} prints
    kIf,        // exprs: one condition per if/elif; bodies: one per condition, then the else body
    kFor,       // exprs: [target, iterable, filter (may be null)]; bodies: [body, else body]
    kSet,       // exprs: [target, value]
    kSetBlock,  // exprs: [target, filter (may be null)]; bodies: [body]
    kMacro,     // text: name; params; defaults (for the last params); bodies: [body]
    kBreak,
    kContinue,
    kFilterBlock,  // exprs: [filter chain with a null innermost input]; bodies: [body]
    kWith,         // exprs: target0, value0, target1, value1, ...; bodies: [body]
    kScope,        // bodies: [body]; transformers' {% generation %}, which renders its body as is
  };
  Kind kind;
  size_t pos;
  std::string text;
  std::vector<ExprPtr> exprs;
  std::vector<Body> bodies;
  std::vector<std::string> params;
  std::vector<ExprPtr> defaults;

  Stmt(Kind k, size_t p) : kind(k), pos(p) {}
};

}  // namespace tsc::chat
