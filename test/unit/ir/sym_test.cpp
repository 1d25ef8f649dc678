// SymExpr: polynomial arithmetic, exact division and printing of symbolic dims.
#include <gtest/gtest.h>

#include <limits>

#include "builder.h"
#include "compiler/ir/sym.h"

namespace tsc {
namespace {

using test::S;

TEST(SymExpr, ConstantsAndSymbols) {
  EXPECT_TRUE(SymExpr(7).is_const());
  EXPECT_EQ(SymExpr(7).as_const(), 7);
  EXPECT_EQ(SymExpr().as_const(), 0);
  EXPECT_EQ(SymExpr(0), SymExpr());
  EXPECT_FALSE(S("seq").is_const());
  EXPECT_EQ(S("seq").as_symbol(), "seq");
  EXPECT_EQ(S("seq").as_const(), std::nullopt);
  // Not a bare symbol: coefficient, constant term or product.
  EXPECT_EQ((S("seq") * SymExpr(2)).as_symbol(), std::nullopt);
  EXPECT_EQ((S("seq") + SymExpr(1)).as_symbol(), std::nullopt);
  EXPECT_EQ((S("a") * S("b")).as_symbol(), std::nullopt);
}

TEST(SymExpr, ArithmeticNormalizes) {
  SymExpr past = S("past"), seq = S("seq");
  EXPECT_EQ(seq + past, past + seq);
  EXPECT_EQ(seq - seq, SymExpr(0));
  EXPECT_TRUE((seq - seq).is_const());
  EXPECT_EQ((seq + SymExpr(3)) - SymExpr(3), seq);
  EXPECT_EQ(S("b") * S("s"), S("s") * S("b"));
  // (b + 1)(s - 1) = b*s - b + s - 1
  EXPECT_EQ((S("b") + SymExpr(1)) * (S("s") - SymExpr(1)), S("b") * S("s") - S("b") + S("s") - SymExpr(1));
  EXPECT_EQ(seq * SymExpr(0), SymExpr(0));
  EXPECT_EQ(SymExpr(6) * SymExpr(7), SymExpr(42));
  EXPECT_NE(seq * seq, seq * SymExpr(2));
}

TEST(SymExpr, ExactDivision) {
  SymExpr b = S("batch"), s = S("seq");
  // (batch*seq*192)/64 = 3*batch*seq
  EXPECT_EQ((b * s * SymExpr(192)).div(SymExpr(64)), b * s * SymExpr(3));
  EXPECT_EQ((b * s * SymExpr(64)).div(b), s * SymExpr(64));
  EXPECT_EQ((b * s).div(b * s), SymExpr(1));
  // Each term divides: (4*s + 8)/4 = s + 2.
  EXPECT_EQ((s * SymExpr(4) + SymExpr(8)).div(SymExpr(4)), s + SymExpr(2));
  // A polynomial divisor divides only itself.
  EXPECT_EQ((s + S("past")).div(s + S("past")), SymExpr(1));
  // s*s / s = s (multiset difference of symbols).
  EXPECT_EQ((s * s).div(s), s);
}

TEST(SymExpr, InexactDivisionIsNullopt) {
  SymExpr b = S("batch"), s = S("seq");
  EXPECT_EQ((s * SymExpr(6)).div(SymExpr(4)), std::nullopt);   // 6/4 is not integral
  EXPECT_EQ((s + SymExpr(1)).div(SymExpr(2)), std::nullopt);   // constant term not divisible
  EXPECT_EQ(s.div(b), std::nullopt);                           // batch does not appear
  EXPECT_EQ(SymExpr(8).div(s), std::nullopt);
  EXPECT_EQ(s.div(SymExpr(0)), std::nullopt);                  // division by zero
  EXPECT_EQ((s * SymExpr(2)).div(s + SymExpr(1)), std::nullopt);
  EXPECT_EQ(s.div(s * s), std::nullopt);
}

TEST(SymExpr, OverflowThrows) {
  const SymExpr big(int64_t{1} << 62);
  EXPECT_THROW(big * SymExpr(4), SymOverflow);
  EXPECT_THROW(S("n") * big * SymExpr(2) + S("n") * big * SymExpr(2), SymOverflow);
  EXPECT_THROW(SymExpr(std::numeric_limits<int64_t>::min()) - SymExpr(1), SymOverflow);
  EXPECT_EQ(SymExpr(std::numeric_limits<int64_t>::min()).str(), "-9223372036854775808");
  EXPECT_THROW(SymExpr(std::numeric_limits<int64_t>::min()).div(SymExpr(-1)), SymOverflow);
}

TEST(SymExpr, ProvablyNonzeroForPositiveSymbols) {
  SymExpr b = S("batch"), s = S("seq");
  EXPECT_TRUE((b * s * SymExpr(16) - b * s * SymExpr(24)).provably_nonzero());
  EXPECT_TRUE((s + SymExpr(1)).provably_nonzero());
  EXPECT_FALSE((s - SymExpr(1)).provably_nonzero());  // seq = 1
  EXPECT_FALSE((b * s - s * b).provably_nonzero());
  EXPECT_TRUE(SymExpr(3).provably_nonzero());
}

TEST(SymExpr, Printing) {
  EXPECT_EQ(SymExpr(0).str(), "0");
  EXPECT_EQ(SymExpr(-3).str(), "-3");
  EXPECT_EQ(S("seq").str(), "seq");
  EXPECT_EQ((S("seq") + SymExpr(1)).str(), "seq + 1");
  EXPECT_EQ((S("seq") - SymExpr(1)).str(), "seq - 1");
  EXPECT_EQ((SymExpr(0) - S("seq")).str(), "-seq");
  EXPECT_EQ((S("seq") * SymExpr(2)).str(), "2*seq");
  EXPECT_EQ((S("seq") * S("batch")).str(), "batch*seq");
  EXPECT_EQ((S("past") + S("seq")).str(), "past + seq");
  EXPECT_EQ(shape_str({S("batch"), S("seq") + S("past"), SymExpr(64)}), "[batch,past + seq,64]");
  EXPECT_EQ(shape_str({}), "[]");
}

}  // namespace
}  // namespace tsc
