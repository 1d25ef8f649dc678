// Axis labels: which logical factor (batch, seq, heads, head_dim, repeat) each axis holds after data movement.
#include <gtest/gtest.h>

#include "builder.h"
#include "compiler/ir/infer.h"
#include "compiler/ir/passes/axis_labels.h"

namespace tsc {
namespace {

using test::ai;
using test::aints;
using test::Builder;
using test::i64;
using test::S;
using L = std::vector<std::vector<std::string>>;

// [B(batch)][S(seq)][F(64)], the token-major layout fuse-attention starts from.
Layout token_major(SymExpr f = SymExpr(64)) { return {{{"B", S("batch")}}, {{"S", S("seq")}}, {{"F", f}}}; }

// Applies the movement nodes of g in order to `l`.
std::optional<Layout> walk(const Graph& g, Layout l) {
  for (auto& n : g.nodes) {
    if (!is_movement(*n)) continue;
    auto next = apply_movement(g, *n, l);
    if (!next) return std::nullopt;
    l = *next;
  }
  return l;
}

TEST(AxisLabels, HeadSplitTransposeAndMerge) {
  Builder b;
  b.input("x", DType::kF32, {S("batch"), S("seq"), SymExpr(64)});
  b.constant("split", i64({0, 0, 4, 16}, {4})).constant("merge", i64({0, 0, 64}, {3}));
  b.node("Reshape", {"x", "split"}, {"x4"});
  b.node("Transpose", {"x4"}, {"xh"}, {{"perm", aints({0, 2, 1, 3})}});
  infer_and_fold(b.g);
  auto l = walk(b.g, token_major());
  ASSERT_TRUE(l);
  EXPECT_EQ(labels(*l), (L{{"B"}, {"F.0"}, {"S"}, {"F.1"}}));
  EXPECT_EQ(layout_str(*l), "[B(batch),F.0(4),S(seq),F.1(16)]");
  EXPECT_EQ(factor_size(*l, "F.0"), SymExpr(4));
  EXPECT_EQ(factor_size(*l, "F.1"), SymExpr(16));
  EXPECT_EQ(factor_size(*l, "R"), SymExpr(1));  // absent
  // And back: Transpose, then Reshape [b, s, 64].
  b.node("Transpose", {"xh"}, {"xt"}, {{"perm", aints({0, 2, 1, 3})}});
  b.node("Reshape", {"xt", "merge"}, {"y"});
  infer_and_fold(b.g);
  auto back = walk(b.g, token_major());
  ASSERT_TRUE(back);
  EXPECT_EQ(labels(*back), (L{{"B"}, {"S"}, {"F.0", "F.1"}}));
}

TEST(AxisLabels, UnsqueezeExpandIsARepeat) {
  // HF repeat_kv: [b, 2, s, 8] -> [b, 2, 1, s, 8] -> Expand [b, 2, 3, s, 8] -> [b, 6, s, 8]
  Builder b;
  b.input("k", DType::kF32, {S("batch"), S("seq"), SymExpr(16)});
  b.constant("split", i64({0, 0, 2, 8}, {4})).constant("ax", i64({2}, {1}));
  b.constant("rep", i64({1, 1, 3, 1, 1}, {5})).constant("merge", i64({0, 6, -1, 8}, {4}));
  b.node("Reshape", {"k", "split"}, {"k4"});
  b.node("Transpose", {"k4"}, {"kh"}, {{"perm", aints({0, 2, 1, 3})}});
  b.node("Unsqueeze", {"kh", "ax"}, {"ku"});
  b.node("Expand", {"ku", "rep"}, {"ke"});
  b.node("Reshape", {"ke", "merge"}, {"kr"});
  infer_and_fold(b.g);
  ASSERT_EQ(test::shape_of(b.g, "kr"), "[batch,6,seq,8]");
  auto l = walk(b.g, token_major(SymExpr(16)));
  ASSERT_TRUE(l);
  EXPECT_EQ(labels(*l), (L{{"B"}, {"F.0", "R"}, {"S"}, {"F.1"}}));
  EXPECT_EQ(factor_size(*l, "R"), SymExpr(3));
  EXPECT_EQ(factor_size(*l, "F.0"), SymExpr(2));
}

TEST(AxisLabels, MovesThatMixTokensOrSplitSymbolsAreRejected) {
  // [b, s, 64] -> [b, 2, 32*s]: the 2 would have to come out of seq.
  Builder b;
  b.input("x", DType::kF32, {S("batch"), S("seq"), SymExpr(64)});
  b.constant("t", i64({0, 2, -1}, {3}));
  b.node("Reshape", {"x", "t"}, {"y"});
  infer_and_fold(b.g);
  ASSERT_EQ(test::shape_of(b.g, "y"), "[batch,2,32*seq]");
  EXPECT_FALSE(walk(b.g, token_major()).has_value());
  // A split that does not divide the factor: 64 into 3 * ?
  Builder c;
  c.input("x", DType::kF32, {S("batch"), S("seq"), SymExpr(64)});
  c.node("Identity", {"x"}, {"y"});
  c.g.types["y"] = ValueType{DType::kF32, SymShape{S("batch"), S("seq"), SymExpr(3), SymExpr(21)}};
  c.g.nodes.back()->op = "Reshape";
  EXPECT_FALSE(apply_movement(c.g, *c.g.nodes.back(), token_major()).has_value());
  // Expand that broadcasts a non-1 axis to another size.
  Builder d;
  d.input("x", DType::kF32, {S("batch"), S("seq"), SymExpr(64)});
  d.constant("s", i64({1, 1, 128}, {3}));
  d.node("Expand", {"x", "s"}, {"y"});
  d.g.types["y"] = ValueType{DType::kF32, SymShape{S("batch"), S("seq"), SymExpr(128)}};
  EXPECT_FALSE(apply_movement(d.g, *d.g.nodes.back(), token_major()).has_value());
  // Transpose whose perm does not match the rank.
  Builder e;
  e.input("x", DType::kF32, {S("batch"), S("seq"), SymExpr(64)});
  e.node("Transpose", {"x"}, {"y"}, {{"perm", aints({1, 0})}});
  e.g.types["y"] = ValueType{DType::kF32, SymShape{S("seq"), S("batch")}};
  EXPECT_FALSE(apply_movement(e.g, *e.g.nodes.back(), token_major()).has_value());
}

TEST(AxisLabels, FlattenMergesRowsAndSizeOneAxesVanish) {
  Builder b;
  b.input("x", DType::kF32, {S("batch"), S("seq"), SymExpr(64)});
  b.constant("ax", i64({1}, {1}));
  b.node("Unsqueeze", {"x", "ax"}, {"xu"});  // [b, 1, s, 64]
  b.node("Flatten", {"xu"}, {"f"}, {{"axis", ai(3)}});  // [b*s, 64]
  b.node("Cast", {"f"}, {"fc"}, {{"to", ai(10)}});
  infer_and_fold(b.g);
  auto l = walk(b.g, token_major());
  ASSERT_TRUE(l);
  EXPECT_EQ(labels(*l), (L{{"B", "S"}, {"F"}}));
  EXPECT_TRUE(is_movement(*b.g.nodes.back()));
  EXPECT_FALSE(is_movement(test::make_node("Add")));
  EXPECT_FALSE(is_movement(test::make_node("Reshape", {}, 1, "com.microsoft")));
}

}  // namespace
}  // namespace tsc
