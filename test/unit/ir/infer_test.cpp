// infer_and_fold (symbolic shapes, shape arithmetic, folding), topo_sort, remove_dead and probe_value on small graphs.
#include <gtest/gtest.h>

#include <limits>

#include "builder.h"
#include "compiler/ir/infer.h"
#include "compiler/ir/probe.h"
#include "contract/error.h"

namespace tsc {
namespace {

using test::ai;
using test::aints;
using test::Builder;
using test::i64;
using test::S;
using test::shape_of;

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

std::string sym_str(const Graph& g, const std::string& v) {
  auto it = g.sym_values.find(v);
  if (it == g.sym_values.end()) return "none";
  return shape_str(it->second);
}

TEST(Infer, ShapeGatherConcatReshapeWithSymbolicDims) {
  // x: [batch, seq, 64] -> Reshape(x, Concat(Shape(x)[0], Shape(x)[1], [4], [16])) -> [batch, seq, 4, 16]
  Builder b;
  b.input("x", DType::kF32, {S("batch"), S("seq"), SymExpr(64)});
  b.constant("i0", i64({0}, {1})).constant("i1", i64({1}, {1})).constant("tail", i64({4, 16}, {2}));
  b.node("Shape", {"x"}, {"sh"});
  b.node("Gather", {"sh", "i0"}, {"b"}, {{"axis", ai(0)}});
  b.node("Gather", {"sh", "i1"}, {"s"}, {{"axis", ai(0)}});
  b.node("Concat", {"b", "s", "tail"}, {"target"}, {{"axis", ai(0)}});
  b.node("Reshape", {"x", "target"}, {"y"});
  b.output("y");
  Graph& g = b.g;
  InferStats st = infer_and_fold(g);
  EXPECT_EQ(shape_of(g, "y"), "[batch,seq,4,16]");
  EXPECT_EQ(g.type("y")->dtype, DType::kF32);
  EXPECT_EQ(sym_str(g, "sh"), "[batch,seq,64]");
  EXPECT_EQ(sym_str(g, "target"), "[batch,seq,4,16]");
  EXPECT_EQ(shape_of(g, "target"), "[4]");
  EXPECT_EQ(st.folded, 0);  // nothing here is a constant
  EXPECT_GE(st.symbolic, 4);
}

TEST(Infer, StaticShapeArithmeticFolds) {
  // Shape of a static tensor is a constant; so is everything computed from it.
  Builder b;
  b.input("x", DType::kF32, {S("batch"), SymExpr(8)});
  b.constant("c", Tensor::alloc(DType::kF32, {2, 4}));
  b.constant("two", i64({2}, {1}));
  b.node("Shape", {"c"}, {"cs"});
  b.node("Mul", {"cs", "two"}, {"cs2"});
  b.node("Reshape", {"x", "cs2"}, {"y"});  // [batch,8] -> [4,8]: only consistent for batch 2, fine symbolically
  b.output("y");
  Graph& g = b.g;
  InferStats st = infer_and_fold(g);
  ASSERT_TRUE(g.is_const("cs2"));
  EXPECT_EQ(g.constant("cs2")->to_i64(), (std::vector<int64_t>{4, 8}));
  EXPECT_EQ(shape_of(g, "y"), "[4,8]");
  EXPECT_EQ(st.folded, 2);
  EXPECT_EQ(test::producer(g, "cs2"), nullptr);  // folded nodes leave the graph
}

TEST(Infer, ReshapeMinusOneWithSymbolicDims) {
  Builder b;
  b.input("x", DType::kF32, {S("batch"), S("seq"), SymExpr(64)});
  b.constant("heads", i64({0, 0, -1, 16}, {4}));
  b.constant("rows", i64({-1, 64}, {2}));
  b.node("Reshape", {"x", "heads"}, {"y"});
  b.node("Reshape", {"x", "rows"}, {"flat"});
  // Back from rows: [batch, -1, 64] built from Shape(x)[0].
  b.constant("i0", i64({0}, {1})).constant("m1", i64({-1, 64}, {2}));
  b.node("Shape", {"x"}, {"sh"});
  b.node("Gather", {"sh", "i0"}, {"b"}, {{"axis", ai(0)}});
  b.node("Concat", {"b", "m1"}, {"back_shape"}, {{"axis", ai(0)}});
  b.node("Reshape", {"flat", "back_shape"}, {"back"});
  b.output("y").output("back");
  Graph& g = b.g;
  infer_and_fold(g);
  EXPECT_EQ(shape_of(g, "y"), "[batch,seq,4,16]");
  EXPECT_EQ(shape_of(g, "flat"), "[batch*seq,64]");
  EXPECT_EQ(shape_of(g, "back"), "[batch,seq,64]");  // (batch*seq*64) / (batch*64)
}

TEST(Infer, ReshapeMinusOneThatDoesNotDivideGetsAFreshDim) {
  Builder b;
  b.input("x", DType::kF32, {S("batch"), S("seq"), SymExpr(6)});
  b.constant("t", i64({0, -1, 4}, {3}));
  b.node("Reshape", {"x", "t"}, {"y"});
  b.output("y");
  infer_and_fold(b.g);
  auto s = b.g.shape("y");
  ASSERT_TRUE(s);
  EXPECT_EQ((*s)[0], S("batch"));
  EXPECT_FALSE((*s)[1].is_const());
  EXPECT_NE((*s)[1], S("seq"));  // 6*seq/4 is not a polynomial: an unknown dim, not a wrong one
  EXPECT_EQ((*s)[2], SymExpr(4));
}

TEST(Infer, SliceEnds) {
  Builder b;
  b.input("x", DType::kF32, {S("batch"), S("seq"), SymExpr(8)});
  b.constant("s1", i64({1}, {1})).constant("big", i64({kMax}, {1})).constant("ax1", i64({1}, {1}));
  b.constant("m2", i64({-2}, {1})).constant("ax2", i64({2}, {1})).constant("s3", i64({3}, {1}));
  b.constant("min", i64({std::numeric_limits<int64_t>::min()}, {1})).constant("neg1", i64({-1}, {1}));
  b.node("Slice", {"x", "s1", "big", "ax1"}, {"tail"});       // seq - 1
  b.node("Slice", {"x", "m2", "big", "ax1"}, {"last2"});      // 2
  b.node("Slice", {"x", "s3", "big", "ax2"}, {"feat"});       // 8 - 3
  b.node("Slice", {"x", "neg1", "min", "ax2", "neg1"}, {"rev"});  // all 8, reversed
  b.output("tail").output("last2").output("feat").output("rev");
  infer_and_fold(b.g);
  EXPECT_EQ(shape_of(b.g, "tail"), "[batch,seq - 1,8]");
  EXPECT_EQ(shape_of(b.g, "last2"), "[batch,2,8]");
  EXPECT_EQ(shape_of(b.g, "feat"), "[batch,seq,5]");
  EXPECT_EQ(shape_of(b.g, "rev"), "[batch,seq,8]");
}

TEST(Infer, SymbolicVectorsThroughWhereEqualAndSlice) {
  // Dynamo's Expand idiom: Where(Equal(shape, -1), ones, shape).
  Builder b;
  b.input("x", DType::kF32, {S("batch"), SymExpr(1), S("seq")});
  b.constant("m1", i64({-1}, {1})).constant("ones", i64({1, 1, 1}, {3}));
  b.constant("a", i64({0}, {1})).constant("c", i64({2}, {1}));
  b.node("Shape", {"x"}, {"sh"});
  b.node("Equal", {"sh", "m1"}, {"eq"});
  b.node("Where", {"eq", "ones", "sh"}, {"w"});
  b.node("Slice", {"w", "a", "c"}, {"head"});
  b.node("Expand", {"x", "w"}, {"y"});
  b.output("y").output("head");
  infer_and_fold(b.g);
  EXPECT_EQ(sym_str(b.g, "w"), "[batch,1,seq]");
  EXPECT_EQ(sym_str(b.g, "head"), "[batch,1]");
  EXPECT_EQ(shape_of(b.g, "y"), "[batch,1,seq]");
}

TEST(Infer, ConcatAddsAxisSizesAndMatMulBroadcasts) {
  Builder b;
  b.input("past", DType::kF32, {S("b"), SymExpr(4), S("past"), SymExpr(16)});
  b.input("k", DType::kF32, {S("b"), SymExpr(4), S("seq"), SymExpr(16)});
  b.node("Concat", {"past", "k"}, {"kv"}, {{"axis", ai(-2)}});
  b.node("Transpose", {"kv"}, {"kt"}, {{"perm", aints({0, 1, 3, 2})}});
  b.node("MatMul", {"k", "kt"}, {"scores"});
  b.output("scores");
  infer_and_fold(b.g);
  EXPECT_EQ(shape_of(b.g, "kv"), "[b,4,past + seq,16]");
  EXPECT_EQ(shape_of(b.g, "scores"), "[b,4,seq,past + seq]");
}

TEST(Infer, InconsistentShapesThrowNamingTheNode) {
  {
    Builder b;
    b.input("x", DType::kF32, {S("batch"), SymExpr(16)});
    b.constant("w", Tensor::alloc(DType::kF32, {15, 4}));
    b.node("MatMul", {"x", "w"}, {"y"});
    b.output("y");
    try {
      infer_and_fold(b.g);
      FAIL() << "no error";
    } catch (const Error& e) {
      EXPECT_STREQ(e.what(), "node 'y' (MatMul): inner dimensions differ: [batch,16] x [15,4]");
      EXPECT_FALSE(e.hint().empty());
    }
  }
  {
    Builder b;
    b.input("x", DType::kF32, {SymExpr(2), SymExpr(3)});
    b.input("z", DType::kF32, {SymExpr(4)});
    b.node("Add", {"x", "z"}, {"y"});
    b.output("y");
    EXPECT_THROW(infer_and_fold(b.g), Error);
  }
  {
    Builder b;
    b.input("x", DType::kF32, {SymExpr(2), SymExpr(3)});
    b.constant("t", i64({4, 2}, {2}));
    b.node("Reshape", {"x", "t"}, {"y"});
    b.output("y");
    EXPECT_THROW(infer_and_fold(b.g), Error);
  }
}

TEST(Infer, LimitsKeepWeightsAndBigResultsUnfolded) {
  Builder b;
  b.input("x", DType::kF32, {S("n"), SymExpr(80)});
  b.constant("W", Tensor::alloc(DType::kF32, {64, 80}));  // 5120 elements: a weight
  b.constant("w", Tensor::alloc(DType::kF32, {4, 8}));     // 32: folded through
  b.node("Transpose", {"W"}, {"Wt"});
  b.node("Transpose", {"w"}, {"wt"});
  b.node("MatMul", {"x", "Wt"}, {"y"});
  b.output("y").output("wt");
  InferOptions opt;
  InferStats st = infer_and_fold(b.g, opt);
  EXPECT_FALSE(b.g.is_const("Wt"));
  EXPECT_TRUE(b.g.is_const("wt"));
  EXPECT_EQ(st.folded, 1);
  EXPECT_EQ(shape_of(b.g, "y"), "[n,64]");
  // fold_limit: an output larger than it is not materialized.
  Builder c;
  c.constant("s", i64({0}, {})).constant("l", i64({1000}, {})).constant("d", i64({1}, {}));
  c.node("Range", {"s", "l", "d"}, {"r"});
  c.output("r");
  InferOptions small;
  small.fold_limit = 100;
  infer_and_fold(c.g, small);
  EXPECT_FALSE(c.g.is_const("r"));
  EXPECT_EQ(shape_of(c.g, "r"), "[1000]");
}

// A matrix initializer of the file is never replaced by a folded Transpose/Cast copy, whatever its size: weight
// bindings name initializers (lit: lift/tied_small_table.test). Constants that are no initializer still fold.
TEST(Infer, InitializerMatricesAreNotFoldedThroughViews) {
  Builder b;
  b.constant("wte", Tensor::alloc(DType::kF32, {32, 16}));  // 512 elements: under weight_threshold
  b.constant("c", Tensor::alloc(DType::kF32, {4, 8}));
  b.g.initializers.insert("wte");
  b.node("Transpose", {"wte"}, {"lmw"});
  b.node("Transpose", {"c"}, {"ct"});
  b.output("lmw").output("ct");
  infer_and_fold(b.g);
  EXPECT_FALSE(b.g.is_const("lmw"));
  EXPECT_EQ(shape_of(b.g, "lmw"), "[16,32]");
  EXPECT_TRUE(b.g.is_const("ct"));
}

TEST(Infer, RerunIsANoOp) {
  Builder b;
  b.input("x", DType::kF32, {S("batch"), S("seq"), SymExpr(64)});
  b.constant("t", i64({0, 0, 4, 16}, {4})).constant("p", i64({0}, {1}));
  b.node("Reshape", {"x", "t"}, {"y"});
  b.node("Shape", {"y"}, {"ys"});
  b.node("Gather", {"ys", "p"}, {"yb"});
  b.node("Cast", {"yb"}, {"ybf"}, {{"to", ai(1)}});
  b.output("y").output("ybf");
  infer_and_fold(b.g);
  const std::string first = print_graph(b.g, true);
  InferStats again = infer_and_fold(b.g);
  EXPECT_EQ(again.folded, 0);
  EXPECT_EQ(print_graph(b.g, true), first);
}

TEST(Infer, UnknownOpsKeepDtypeAndCountAsUnknown) {
  Builder b;
  b.input("x", DType::kF16, {S("n"), SymExpr(8)});
  b.node("Einsum", {"x"}, {"h"});
  b.node("Relu", {"h"}, {"y"});
  b.output("y");
  InferStats st = infer_and_fold(b.g);
  EXPECT_EQ(b.g.type("h")->dtype, DType::kF16);
  EXPECT_FALSE(b.g.type("h")->shape.has_value());
  EXPECT_EQ(st.unknown, 2);  // and the unknown shape propagates through Relu
}

TEST(TopoSort, OrdersAndKeepsIndependentNodesStable) {
  Builder b;
  b.input("x", DType::kF32, {SymExpr(2)});
  b.node("Relu", {"b"}, {"c"});
  b.node("Neg", {"x"}, {"a"});
  b.node("Abs", {"a"}, {"b"});
  b.node("Exp", {"x"}, {"e"});
  b.output("c").output("e");
  topo_sort(b.g);
  std::vector<std::string> order;
  for (auto& n : b.g.nodes) order.push_back(n->outputs[0]);
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "c", "e"}));
}

TEST(TopoSort, RejectsCyclesUndefinedValuesAndTwoProducers) {
  {
    Builder b;
    b.input("x", DType::kF32, {SymExpr(2)});
    b.node("Add", {"x", "b"}, {"a"});
    b.node("Relu", {"a"}, {"b"});
    b.output("b");
    try {
      topo_sort(b.g);
      FAIL() << "no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("is part of a cycle"), std::string::npos) << e.what();
    }
  }
  {
    Builder b;
    b.input("x", DType::kF32, {SymExpr(2)});
    b.node("Add", {"x", "ghost"}, {"a"});
    b.output("a");
    try {
      topo_sort(b.g);
      FAIL() << "no error";
    } catch (const Error& e) {
      EXPECT_STREQ(e.what(), "node 'a' (Add) reads 'ghost', which no node, input or initializer defines");
    }
  }
  {
    Builder b;
    b.input("x", DType::kF32, {SymExpr(2)});
    b.node("Relu", {"x"}, {"a"});
    b.node("Neg", {"x"}, {"a"});
    b.output("a");
    EXPECT_THROW(topo_sort(b.g), Error);
  }
  {
    // A self-loop.
    Builder b;
    b.node("Relu", {"a"}, {"a"});
    b.output("a");
    EXPECT_THROW(topo_sort(b.g), Error);
  }
}

TEST(RemoveDead, KeepsOnlyWhatReachesOutputs) {
  Builder b;
  b.input("x", DType::kF32, {SymExpr(2)});
  b.constant("used", test::f32({1, 2}, {2})).constant("unused", test::f32({3, 4}, {2}));
  b.node("Add", {"x", "used"}, {"a"});
  b.node("Mul", {"x", "unused"}, {"dead1"});
  b.node("Neg", {"dead1"}, {"dead2"});
  b.node("Split", {"a"}, {"s0", "s1"}, {{"num_outputs", ai(2)}});  // one output used keeps the node
  b.output("s0");
  const int removed = remove_dead(b.g);
  EXPECT_EQ(removed, 2);
  ASSERT_EQ(b.g.nodes.size(), 2u);
  EXPECT_EQ(b.g.nodes[0]->outputs[0], "a");
  EXPECT_EQ(b.g.nodes[1]->op, "Split");
  EXPECT_TRUE(b.g.is_const("used"));
  EXPECT_FALSE(b.g.is_const("unused"));
  EXPECT_EQ(remove_dead(b.g), 0);
}

TEST(Probe, EvaluatesTheConeForBoundInputs) {
  Builder b;
  b.input("ids", DType::kI64, {SymExpr(1), S("seq")});
  b.constant("one", i64({1}, {})).constant("zero", i64({0}, {})).constant("inv", test::f32({1.f, 0.5f}, {2}));
  b.constant("ax", i64({-1}, {1}));
  b.node("Shape", {"ids"}, {"sh"}, {{"start", ai(1)}, {"end", ai(2)}});
  b.node("Squeeze", {"sh"}, {"n"});
  b.node("Range", {"zero", "n", "one"}, {"pos"});
  b.node("Cast", {"pos"}, {"pf"}, {{"to", ai(1)}});
  b.node("Unsqueeze", {"pf", "ax"}, {"pu"});
  b.node("Mul", {"pu", "inv"}, {"ang"});
  b.output("ang");
  std::map<std::string, Tensor> bound = {{"ids", Tensor::alloc(DType::kI64, {1, 3})}};
  auto ang = probe_value(b.g, "ang", bound);
  ASSERT_TRUE(ang);
  EXPECT_EQ(ang->shape, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(test::values(*ang), (std::vector<double>{0, 0, 1, 0.5, 2, 1}));
  // An unbound input, and a cone bigger than max_elems, give nullopt (not an error).
  EXPECT_FALSE(probe_value(b.g, "ang", {}).has_value());
  EXPECT_FALSE(probe_value(b.g, "ang", bound, /*max_elems=*/2).has_value());
  // Inconsistent bound values (rank 3 ids) make eval throw inside: the probe reports nullopt.
  std::map<std::string, Tensor> bad = {{"pu", test::f32({1, 2, 3}, {3})}};
  EXPECT_FALSE(probe_value(b.g, "ang", bad).has_value());
}

// Shape of a value the probe cannot (or need not) evaluate comes from its inferred shape, with the symbols the
// bound inputs fix: the hidden state behind an op eval_node does not run (tsc.Linear) still has a shape.
TEST(Probe, ShapeOfAnUnevaluableValueComesFromItsType) {
  Builder b;
  b.input("ids", DType::kI64, {S("batch"), S("seq")});
  b.input("past", DType::kF32, {S("batch"), SymExpr(2), S("past"), SymExpr(4)});
  b.constant("w", Tensor::alloc(DType::kF32, {4, 8}));
  b.node("Gather", {"w", "ids"}, {"x"});
  b.node("Linear", {"x", "w"}, {"h"}, {}, "tsc");
  b.node("Shape", {"h"}, {"hs"});
  b.output("hs");
  infer_and_fold(b.g);
  std::map<std::string, Tensor> bound = {{"ids", Tensor::alloc(DType::kI64, {1, 5})},
                                         {"past", Tensor::alloc(DType::kF32, {1, 2, 3, 4})}};
  EXPECT_EQ(bound_symbols(b.g, bound), (std::map<std::string, int64_t>{{"batch", 1}, {"past", 3}, {"seq", 5}}));
  auto hs = probe_value(b.g, "hs", bound);
  ASSERT_TRUE(hs);
  EXPECT_EQ(hs->to_i64(), (std::vector<int64_t>{1, 5, 8}));
  EXPECT_EQ(concrete_shape(b.g, "h", {{"batch", 1}}), std::nullopt);  // seq not fixed
  EXPECT_EQ((S("past") + S("seq") * SymExpr(2)).eval({{"past", 3}, {"seq", 5}}), 13);
}

}  // namespace
}  // namespace tsc
