// Symbolic integers for shapes: polynomials with integer coefficients over named dims ("batch", "seq").
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "contract/error.h"

namespace tsc {

// Shape arithmetic whose coefficients leave int64 (a corrupt or absurd graph); inference names the node.
class SymOverflow : public Error {
 public:
  explicit SymOverflow(const std::string& what) : Error(what, "the graph's shapes are absurd; re-export the model") {}
};

// A polynomial Σ coef·(product of symbols). Enough for shape arithmetic of exported graphs:
// seq + past, batch*seq, (batch*seq*192)/64.
class SymExpr {
 public:
  using Monomial = std::vector<std::string>;  // sorted symbol names; empty = constant term

  SymExpr() = default;
  SymExpr(int64_t c);  // NOLINT: implicit from constants is the common case
  static SymExpr symbol(const std::string& name);

  bool is_const() const;
  std::optional<int64_t> as_const() const;
  // Degree-1 single symbol with coefficient 1 and no constant ("seq").
  std::optional<std::string> as_symbol() const;

  // Arithmetic is checked: a coefficient past int64 throws SymOverflow.
  SymExpr operator+(const SymExpr& o) const;
  SymExpr operator-(const SymExpr& o) const;
  SymExpr operator*(const SymExpr& o) const;
  // Non-zero for every assignment of symbols >= 1: not zero, and every coefficient has the same sign.
  bool provably_nonzero() const;
  // Value for concrete symbols; nullopt if a symbol is missing or the value leaves int64.
  std::optional<int64_t> eval(const std::map<std::string, int64_t>& symbols) const;
  // Exact division; nullopt when not provably exact.
  std::optional<SymExpr> div(const SymExpr& o) const;
  bool operator==(const SymExpr& o) const { return terms_ == o.terms_; }
  bool operator!=(const SymExpr& o) const { return !(*this == o); }

  std::string str() const;

 private:
  std::map<Monomial, int64_t> terms_;  // no zero coefficients stored
  void normalize();
};

using SymShape = std::vector<SymExpr>;
std::string shape_str(const SymShape& s);

}  // namespace tsc
