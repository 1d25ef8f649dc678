// Parse-time check of filter and test names, where Jinja makes one (outside if statements and x if y else z).
#include "runtime/chat/builtins.h"
#include "runtime/chat/parser.h"

namespace tsc::chat {
namespace {

using EK = Expr::Kind;
using SK = Stmt::Kind;

// Jinja fails to compile a template that names an unknown filter or test, except inside an if statement or
// an `a if b else c` expression ("soft" frames), where the error waits until rendering reaches it; any new
// scope (for, macro, set/filter block, with) is hard again. tsc does the same, and treats Jinja's filters
// and tests outside its subset like unknown ones: a template that always uses one is rejected up front.
class NameCheck {
 public:
  explicit NameCheck(const SourceText& src) : src_(src) {}

  void body(const Body& b, bool soft) {
    for (const auto& s : b) stmt(*s, soft);
  }

 private:
  void stmt(const Stmt& s, bool soft) {
    switch (s.kind) {
      case SK::kIf:
        for (const auto& e : s.exprs) expr(e.get(), true);
        for (const auto& b : s.bodies) body(b, true);
        return;
      case SK::kFor:
        expr(s.exprs[1].get(), soft);
        expr(s.exprs[2].get(), false);
        for (const auto& b : s.bodies) body(b, false);
        return;
      case SK::kOutput:
      case SK::kSet:
        for (const auto& e : s.exprs) expr(e.get(), soft);
        return;
      default:  // statements that open a scope
        for (const auto& e : s.exprs) expr(e.get(), false);
        for (const auto& e : s.defaults) expr(e.get(), false);
        for (const auto& b : s.bodies) body(b, false);
    }
  }

  void expr(const Expr* e, bool soft) {
    if (!e) return;
    if (e->kind == EK::kCond) soft = true;
    if (!soft && (e->kind == EK::kFilter || e->kind == EK::kTest)) {
      bool filter = e->kind == EK::kFilter;
      NameStatus st = filter ? filter_status(e->name) : test_status(e->name);
      const char* what = filter ? "filter" : "test";
      if (st == NameStatus::kUnknown)
        fail_at(src_, e->pos, std::string("no ") + what + " named '" + e->name + "'");
      if (st == NameStatus::kUnsupported)
        fail_at(src_, e->pos, std::string("unsupported ") + what + " '" + e->name + "'");
    }
    for (const auto& o : e->operands) expr(o.get(), soft);
    for (const auto& kv : e->kwargs) expr(kv.second.get(), soft);
  }

  const SourceText& src_;
};

}  // namespace

void check_names(const SourceText& src, const Body& body) { NameCheck(src).body(body, false); }

}  // namespace tsc::chat
