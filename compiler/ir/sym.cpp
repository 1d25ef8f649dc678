// SymExpr arithmetic.
#include "compiler/ir/sym.h"

#include <algorithm>

namespace tsc {
namespace {

int64_t add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) throw SymOverflow("shape arithmetic overflows int64 (" + std::to_string(a) + " + " + std::to_string(b) + ")");
  return r;
}
int64_t sub(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) throw SymOverflow("shape arithmetic overflows int64 (" + std::to_string(a) + " - " + std::to_string(b) + ")");
  return r;
}
int64_t mul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) throw SymOverflow("shape arithmetic overflows int64 (" + std::to_string(a) + " * " + std::to_string(b) + ")");
  return r;
}

}  // namespace

SymExpr::SymExpr(int64_t c) {
  if (c != 0) terms_[{}] = c;
}

SymExpr SymExpr::symbol(const std::string& name) {
  SymExpr e;
  e.terms_[{name}] = 1;
  return e;
}

void SymExpr::normalize() {
  for (auto it = terms_.begin(); it != terms_.end();) it = it->second == 0 ? terms_.erase(it) : std::next(it);
}

bool SymExpr::is_const() const { return terms_.empty() || (terms_.size() == 1 && terms_.begin()->first.empty()); }

std::optional<int64_t> SymExpr::as_const() const {
  if (terms_.empty()) return 0;
  if (terms_.size() == 1 && terms_.begin()->first.empty()) return terms_.begin()->second;
  return std::nullopt;
}

std::optional<std::string> SymExpr::as_symbol() const {
  if (terms_.size() == 1 && terms_.begin()->first.size() == 1 && terms_.begin()->second == 1)
    return terms_.begin()->first[0];
  return std::nullopt;
}

SymExpr SymExpr::operator+(const SymExpr& o) const {
  SymExpr r = *this;
  for (auto& [m, c] : o.terms_) r.terms_[m] = add(r.terms_[m], c);
  r.normalize();
  return r;
}

SymExpr SymExpr::operator-(const SymExpr& o) const {
  SymExpr r = *this;
  for (auto& [m, c] : o.terms_) r.terms_[m] = sub(r.terms_[m], c);
  r.normalize();
  return r;
}

SymExpr SymExpr::operator*(const SymExpr& o) const {
  SymExpr r;
  for (auto& [m1, c1] : terms_)
    for (auto& [m2, c2] : o.terms_) {
      Monomial m = m1;
      m.insert(m.end(), m2.begin(), m2.end());
      std::sort(m.begin(), m.end());
      r.terms_[m] = add(r.terms_[m], mul(c1, c2));
    }
  r.normalize();
  return r;
}

std::optional<SymExpr> SymExpr::div(const SymExpr& o) const {
  if (o.terms_.size() != 1) {
    if (*this == o && !o.terms_.empty()) return SymExpr(1);
    return std::nullopt;
  }
  const auto& [dm, dc] = *o.terms_.begin();
  if (dc == 0) return std::nullopt;
  SymExpr r;
  for (auto& [m, c] : terms_) {
    if (dc != -1 && c % dc != 0) return std::nullopt;  // (c % -1 and c / -1 overflow for INT64_MIN)
    // every symbol of the divisor monomial must appear in m (multiset difference)
    Monomial rest;
    size_t j = 0;
    for (size_t i = 0; i < m.size(); ++i) {
      if (j < dm.size() && m[i] == dm[j]) { ++j; continue; }
      rest.push_back(m[i]);
    }
    if (j != dm.size()) return std::nullopt;
    r.terms_[rest] = add(r.terms_[rest], dc == -1 ? sub(0, c) : c / dc);
  }
  r.normalize();
  return r;
}

bool SymExpr::provably_nonzero() const {
  if (terms_.empty()) return false;
  bool pos = false, neg = false;
  for (auto& [m, c] : terms_) (c > 0 ? pos : neg) = true;
  return pos != neg;
}

std::optional<int64_t> SymExpr::eval(const std::map<std::string, int64_t>& symbols) const {
  int64_t r = 0;
  for (auto& [m, c] : terms_) {
    int64_t t = c;
    for (auto& sym : m) {
      auto it = symbols.find(sym);
      if (it == symbols.end() || __builtin_mul_overflow(t, it->second, &t)) return std::nullopt;
    }
    if (__builtin_add_overflow(r, t, &r)) return std::nullopt;
  }
  return r;
}

std::string SymExpr::str() const {
  if (terms_.empty()) return "0";
  std::string s;
  bool first = true;
  // Print symbol terms first, constant last ("seq + 1").
  auto emit = [&](const Monomial& m, int64_t c) {
    std::string body;
    for (size_t i = 0; i < m.size(); ++i) body += (i ? "*" : "") + m[i];
    const uint64_t a = c < 0 ? 0 - static_cast<uint64_t>(c) : static_cast<uint64_t>(c);  // |INT64_MIN| too
    std::string term = m.empty() ? std::to_string(a) : (a == 1 ? body : std::to_string(a) + "*" + body);
    if (first) s = (c < 0 ? "-" : "") + term;
    else s += (c < 0 ? " - " : " + ") + term;
    first = false;
  };
  for (auto& [m, c] : terms_) if (!m.empty()) emit(m, c);
  auto it = terms_.find({});
  if (it != terms_.end()) emit({}, it->second);
  return s;
}

std::string shape_str(const SymShape& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + s[i].str();
  return r + "]";
}

}  // namespace tsc
