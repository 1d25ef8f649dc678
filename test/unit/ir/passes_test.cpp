// Each simplification pass on small graphs: the rewrite when its pattern matches, and when a predicate fails,
// the graph left exactly as it was with a -v note that says why.
#include <gtest/gtest.h>

#include <sstream>

#include "builder.h"
#include "compiler/ir/infer.h"
#include "compiler/ir/passes/pass.h"
#include "contract/error.h"

namespace tsc {
namespace {

using test::af;
using test::ai;
using test::aints;
using test::as;
using test::atensor;
using test::Builder;
using test::f32;
using test::i64;
using test::producer;
using test::S;

struct PassRun {
  std::ostringstream log;
  PassContext ctx;
  PassRun() {
    ctx.verbose = true;
    ctx.log = &log;
  }
};

// Types first (every pass relies on them), then the pass; returns its rewrite count.
int run_pass(Graph& g, int (*pass)(Graph&, const PassContext&), PassRun& r) {
  pass_fold(g, r.ctx);
  return pass(g, r.ctx);
}

TEST(Passes, PipelineOrder) {
  std::vector<std::string> names;
  for (auto& p : simplify_passes()) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"fold", "fold-io-casts", "decompose-ms-ops", "lower-gqa", "retype", "dequantize-tables", "fuse-quantized-linear", "fuse-linear",
                                             "div-to-reciprocal", "fuse-layernorm", "fuse-rmsnorm", "fuse-activation", "fuse-head-norm", "fuse-rope",
                                             "fuse-attention", "unflatten-linear", "drop-identity", "dead-code", "refold"}));
  for (auto& p : simplify_passes()) EXPECT_NE(std::string(p.summary), "") << p.name;
}

TEST(FuseLinear, MatMulPlusBiasOnEitherSide) {
  Builder b;
  b.input("x", DType::kF32, {S("b"), S("s"), SymExpr(4)});
  b.constant("W", Tensor::alloc(DType::kF32, {4, 3})).constant("bias", f32({1, 2, 3}, {3}));
  b.node("MatMul", {"x", "W"}, {"mm"});
  b.node("Add", {"bias", "mm"}, {"y"});
  b.output("y");
  PassRun r;
  EXPECT_EQ(run_pass(b.g, pass_fuse_linear, r), 2);  // the MatMul, then the bias Add
  const Node* y = producer(b.g, "y");
  ASSERT_TRUE(y);
  EXPECT_TRUE(y->is_tsc("Linear"));
  EXPECT_EQ(y->inputs, (std::vector<std::string>{"x", "W", "bias"}));
  EXPECT_EQ(y->attr_i("w_in_out", -1), 1);
  pass_dead_code(b.g, r.ctx);
  EXPECT_EQ(b.g.nodes.size(), 1u);
}

TEST(FuseLinear, GemmLayouts) {
  Builder b;
  b.input("x", DType::kF32, {S("n"), SymExpr(4)});
  b.constant("Wt", Tensor::alloc(DType::kF32, {3, 4})).constant("W", Tensor::alloc(DType::kF32, {4, 3}));
  b.constant("bias", f32({1, 2, 3}, {1, 3}));
  b.node("Gemm", {"x", "Wt", "bias"}, {"a"}, {{"transB", ai(1)}});
  b.node("Gemm", {"x", "W"}, {"c"});
  b.output("a").output("c");
  PassRun r;
  EXPECT_EQ(run_pass(b.g, pass_fuse_linear, r), 2);
  EXPECT_EQ(producer(b.g, "a")->attr_i("w_in_out", -1), 0);
  EXPECT_EQ(producer(b.g, "a")->inputs.size(), 3u);  // [1, out] bias accepted
  EXPECT_EQ(producer(b.g, "c")->attr_i("w_in_out", -1), 1);
}

TEST(FuseLinear, TransposedWeightBindsTheInitializer) {
  Builder b;
  b.input("x", DType::kF32, {S("n"), SymExpr(64)});
  b.constant("W", Tensor::alloc(DType::kF32, {80, 64}));  // above the weight threshold: not folded
  b.node("Transpose", {"W"}, {"Wt"}, {{"perm", aints({1, 0})}});
  b.node("MatMul", {"x", "Wt"}, {"y"});
  b.output("y");
  PassRun r;
  EXPECT_EQ(run_pass(b.g, pass_fuse_linear, r), 1);
  const Node* y = producer(b.g, "y");
  EXPECT_EQ(y->inputs, (std::vector<std::string>{"x", "W"}));
  EXPECT_EQ(y->attr_i("w_in_out", -1), 0);
}

TEST(FuseLinear, DeclinedCasesLeaveTheGraph) {
  Builder b;
  b.input("x", DType::kF32, {S("n"), SymExpr(4)});
  b.input("pos", DType::kF32, {S("n"), SymExpr(1)});
  b.constant("W", Tensor::alloc(DType::kF32, {3, 4})).constant("inv", f32({1, 0.5f}, {1, 2}));
  b.node("Gemm", {"x", "W"}, {"a"}, {{"transB", ai(1)}, {"alpha", af(2.f)}});
  b.node("MatMul", {"pos", "inv"}, {"ang"});  // an outer product, not a projection
  b.node("Gemm", {"x", "x"}, {"xx"}, {{"transB", ai(1)}});
  b.output("a").output("ang").output("xx");
  PassRun r;
  pass_fold(b.g, r.ctx);
  const std::string before = print_graph(b.g, true);
  EXPECT_EQ(pass_fuse_linear(b.g, r.ctx), 0);
  EXPECT_EQ(print_graph(b.g, true), before);
  EXPECT_NE(r.log.str().find("[fuse-linear] node 'a' (Gemm): transA/alpha/beta other than 0/1/1"), std::string::npos) << r.log.str();
  EXPECT_NE(r.log.str().find("[fuse-linear] node 'xx' (Gemm): B is not a constant weight"), std::string::npos) << r.log.str();
}

TEST(FuseLinear, SharedLinearOutputKeepsItsBiasAddSeparate) {
  Builder b;
  b.input("x", DType::kF32, {S("n"), SymExpr(4)});
  b.constant("W", Tensor::alloc(DType::kF32, {4, 3})).constant("bias", f32({1, 2, 3}, {3}));
  b.node("MatMul", {"x", "W"}, {"mm"});
  b.node("Add", {"mm", "bias"}, {"y"});
  b.node("Relu", {"mm"}, {"z"});
  b.output("y").output("z");
  PassRun r;
  EXPECT_EQ(run_pass(b.g, pass_fuse_linear, r), 1);  // folding the bias would change z
  EXPECT_TRUE(producer(b.g, "y")->is("Add"));
}

TEST(UnflattenLinear, GemmOnFlattenedRows) {
  Builder b;
  b.input("x", DType::kF32, {S("b"), S("s"), SymExpr(4)});
  b.constant("rows", i64({-1, 4}, {2})).constant("W", Tensor::alloc(DType::kF32, {3, 4}));
  b.constant("i0", i64({0}, {1})).constant("i1", i64({1}, {1})).constant("three", i64({3}, {1}));
  b.node("Reshape", {"x", "rows"}, {"x2"});
  b.node("Gemm", {"x2", "W"}, {"g"}, {{"transB", ai(1)}});
  b.node("Shape", {"x"}, {"sh"});
  b.node("Gather", {"sh", "i0"}, {"d0"});
  b.node("Gather", {"sh", "i1"}, {"d1"});
  b.node("Concat", {"d0", "d1", "three"}, {"t"}, {{"axis", ai(0)}});
  b.node("Reshape", {"g", "t"}, {"y"});
  b.output("y");
  PassRun r;
  run_pass(b.g, pass_fuse_linear, r);
  EXPECT_EQ(pass_unflatten_linear(b.g, r.ctx), 1);
  const Node* y = producer(b.g, "y");
  EXPECT_TRUE(y->is_tsc("Linear"));
  EXPECT_EQ(y->inputs[0], "x");
  EXPECT_EQ(y->attr_i("w_in_out", -1), 0);
}

TEST(FuseLayerNorm, OpAndDecomposition) {
  Builder b;
  b.input("x", DType::kF32, {S("b"), SymExpr(4)});
  b.input("x3", DType::kF32, {SymExpr(2), SymExpr(3), SymExpr(4)});
  b.constant("g", f32({1, 2, 3, 4}, {4})).constant("beta", f32({0, 0, 0, 1}, {4}));
  b.constant("two", f32({2}, {})).constant("eps", f32({1e-5f}, {})).constant("g34", Tensor::alloc(DType::kF32, {3, 4}));
  b.node("LayerNormalization", {"x", "g", "beta"}, {"ln", "mean", "inv"}, {{"epsilon", af(1e-6f)}});
  b.node("LayerNormalization", {"x3", "g34"}, {"other"}, {{"axis", ai(1)}});
  b.node("ReduceMean", {"x"}, {"m"}, {{"axes", aints({-1})}});
  b.node("Sub", {"x", "m"}, {"d"});
  b.node("Pow", {"d", "two"}, {"d2"});
  b.node("ReduceMean", {"d2"}, {"v"}, {{"axes", aints({1})}});
  b.node("Add", {"v", "eps"}, {"ve"});
  b.node("Sqrt", {"ve"}, {"sd"});
  b.node("Div", {"d", "sd"}, {"n"});
  b.node("Mul", {"n", "g"}, {"s"});
  b.node("Add", {"s", "beta"}, {"y"});
  b.output("ln").output("other").output("y");
  PassRun r;
  EXPECT_EQ(run_pass(b.g, pass_fuse_layernorm, r), 2);
  const Node* ln = producer(b.g, "ln");
  EXPECT_TRUE(ln->is_tsc("LayerNorm"));
  EXPECT_EQ(ln->outputs.size(), 1u);  // unused mean/inv_std outputs dropped
  EXPECT_FLOAT_EQ(ln->attr_f("epsilon", 0), 1e-6f);
  const Node* y = producer(b.g, "y");
  EXPECT_TRUE(y->is_tsc("LayerNorm"));
  EXPECT_EQ(y->inputs, (std::vector<std::string>{"x", "g", "beta"}));
  EXPECT_FLOAT_EQ(y->attr_f("epsilon", 0), 1e-5f);
  EXPECT_TRUE(producer(b.g, "other")->is("LayerNormalization"));
  EXPECT_NE(r.log.str().find("[fuse-layernorm] node 'other' (LayerNormalization): normalizes an axis other than the last"),
            std::string::npos) << r.log.str();
}

TEST(FuseLayerNorm, UsedStatisticsOutputsBlockTheRewrite) {
  Builder b;
  b.input("x", DType::kF32, {S("b"), SymExpr(4)});
  b.constant("g", f32({1, 2, 3, 4}, {4}));
  b.node("LayerNormalization", {"x", "g"}, {"ln", "mean"});
  b.output("ln").output("mean");
  PassRun r;
  pass_fold(b.g, r.ctx);
  const std::string before = print_graph(b.g);
  EXPECT_EQ(pass_fuse_layernorm(b.g, r.ctx), 0);
  EXPECT_EQ(print_graph(b.g), before);
  EXPECT_NE(r.log.str().find("mean/inv_std outputs are used"), std::string::npos);
}

TEST(FuseRmsNorm, DecomposedWithCastsAndOp) {
  Builder b;
  b.input("x", DType::kF16, {S("b"), SymExpr(4)});
  b.input("z", DType::kF32, {S("b"), SymExpr(4)});
  b.constant("g", test::typed(DType::kF16, {1, 2, 3, 4}, {4})).constant("gz", f32({1, 1, 1, 1}, {4}));
  b.constant("two", f32({2}, {})).constant("eps", f32({1e-6f}, {})).constant("ax", i64({-1}, {1}));
  b.node("Cast", {"x"}, {"xf"}, {{"to", ai(1)}});
  b.node("Pow", {"xf", "two"}, {"sq"});
  b.node("ReduceMean", {"sq", "ax"}, {"ms"});
  b.node("Add", {"ms", "eps"}, {"a"});
  b.node("Sqrt", {"a"}, {"s"});
  b.node("Reciprocal", {"s"}, {"r"});
  b.node("Mul", {"xf", "r"}, {"n"});
  b.node("Cast", {"n"}, {"nh"}, {{"to", ai(10)}});
  b.node("Mul", {"g", "nh"}, {"y"});
  b.node("RMSNormalization", {"z", "gz"}, {"w"}, {{"epsilon", af(1e-5f)}});
  b.output("y").output("w");
  PassRun r;
  EXPECT_EQ(run_pass(b.g, pass_fuse_rmsnorm, r), 2);
  const Node* y = producer(b.g, "y");
  EXPECT_TRUE(y->is_tsc("RMSNorm"));
  EXPECT_EQ(y->inputs, (std::vector<std::string>{"x", "g"}));  // reads the float16 input itself
  EXPECT_FLOAT_EQ(y->attr_f("epsilon", 0), 1e-6f);
  EXPECT_TRUE(producer(b.g, "w")->is_tsc("RMSNorm"));
}

// Qwen3's q_norm: an RMSNorm over head_dim of q split into heads becomes tsc.HeadRMSNorm on the token-major q, and
// the same head split follows it; a norm over a [heads*head_dim]-wide last axis (OLMo 2's) or with a weight not of
// head_dim is left alone.
TEST(FuseHeadNorm, PerHeadNormMovesBeforeTheSplit) {
  Builder b;
  b.input("q", DType::kF32, {S("b"), S("s"), SymExpr(8)});
  b.constant("split", i64({0, 0, 2, 4}, {4})).constant("g", f32({1, 2, 3, 4}, {4})).constant("g8", f32({1, 1, 1, 1, 2, 2, 2, 2}, {8}));
  b.node("Reshape", {"q", "split"}, {"q4"});
  b.node("RMSNorm", {"q4", "g"}, {"n4"}, {{"epsilon", af(1e-6f)}}, "tsc");
  b.node("RMSNorm", {"q", "g8"}, {"n8"}, {{"epsilon", af(1e-6f)}}, "tsc");
  b.output("n4").output("n8");
  PassRun r;
  EXPECT_EQ(run_pass(b.g, pass_fuse_head_norm, r), 1);
  const Node* split = producer(b.g, "n4");
  ASSERT_TRUE(split && split->is("Reshape"));
  const Node* hn = producer(b.g, split->inputs[0]);
  ASSERT_TRUE(hn && hn->is_tsc("HeadRMSNorm"));
  EXPECT_EQ(hn->inputs, (std::vector<std::string>{"q", "g"}));
  EXPECT_EQ(hn->attr_i("head_dim", 0), 4);
  EXPECT_FLOAT_EQ(hn->attr_f("epsilon", 0), 1e-6f);
  EXPECT_TRUE(producer(b.g, "n8")->is_tsc("RMSNorm"));  // the whole-projection norm stays
}

TEST(FuseRmsNorm, NoGammaIsNoted) {
  Builder b;
  b.input("x", DType::kF32, {S("b"), SymExpr(4)});
  b.constant("two", f32({2}, {})).constant("eps", f32({1e-6f}, {})).constant("ax", i64({-1}, {1}));
  b.node("Pow", {"x", "two"}, {"sq"});
  b.node("ReduceMean", {"sq", "ax"}, {"ms"});
  b.node("Add", {"eps", "ms"}, {"a"});
  b.node("Sqrt", {"a"}, {"s"});
  b.node("Div", {"x", "s"}, {"y"});
  b.output("y");
  PassRun r;
  pass_fold(b.g, r.ctx);
  const std::string before = print_graph(b.g);
  EXPECT_EQ(pass_fuse_rmsnorm(b.g, r.ctx), 0);
  EXPECT_EQ(print_graph(b.g), before);
  EXPECT_NE(r.log.str().find("[fuse-rmsnorm] node 'y' (Div): normalized value is not scaled by a [4] constant"), std::string::npos)
      << r.log.str();
}

// 0.5*x*(1 + tanh(sqrt(2/pi)*(x + 0.044715*x^3))) on input `x`, ending in `out`.
void gelu_tanh(Builder& b, const std::string& x, const std::string& out, float k = 0.044715f) {
  b.constant(out + "_h", f32({0.5f}, {})).constant(out + "_1", f32({1}, {})).constant(out + "_3", f32({3}, {}));
  b.constant(out + "_k", f32({k}, {})).constant(out + "_c", f32({0.7978845608f}, {}));
  b.node("Pow", {x, out + "_3"}, {out + "p"});
  b.node("Mul", {out + "p", out + "_k"}, {out + "kp"});
  b.node("Add", {x, out + "kp"}, {out + "in"});
  b.node("Mul", {out + "in", out + "_c"}, {out + "sc"});
  b.node("Tanh", {out + "sc"}, {out + "t"});
  b.node("Add", {out + "t", out + "_1"}, {out + "tp"});
  b.node("Mul", {x, out + "_h"}, {out + "hx"});
  b.node("Mul", {out + "hx", out + "tp"}, {out});
}

TEST(FuseActivation, GeluSiluAndNearMiss) {
  Builder b;
  b.input("x", DType::kF32, {S("n"), SymExpr(8)});
  b.input("u", DType::kF32, {S("n"), SymExpr(8)});
  b.input("w", DType::kF32, {S("n"), SymExpr(8)});
  b.input("h", DType::kF16, {S("n"), SymExpr(8)});
  gelu_tanh(b, "x", "gx");
  gelu_tanh(b, "w", "gw", 0.05f);
  gelu_tanh(b, "h", "gh");  // float16: compared with the float16 tolerance
  b.node("Sigmoid", {"u"}, {"su"});
  b.node("Mul", {"su", "u"}, {"silu"});
  b.output("gx").output("gw").output("gh").output("silu");
  PassRun r;
  EXPECT_EQ(run_pass(b.g, pass_fuse_activation, r), 3);
  const Node* gx = producer(b.g, "gx");
  EXPECT_TRUE(gx->is_tsc("Gelu"));
  EXPECT_EQ(gx->attr_s("approximate", ""), "tanh");
  EXPECT_EQ(gx->inputs, (std::vector<std::string>{"x"}));
  EXPECT_TRUE(producer(b.g, "gh")->is_tsc("Gelu"));
  EXPECT_TRUE(producer(b.g, "silu")->is_tsc("Silu"));
  EXPECT_TRUE(producer(b.g, "gw")->is("Mul"));
  EXPECT_NE(r.log.str().find("[fuse-activation] node 'gw' (Mul): computes no known activation (max error"), std::string::npos)
      << r.log.str();
}

TEST(FuseActivation, OpsetTwentyGelu) {
  Builder b;
  b.input("x", DType::kF32, {S("n"), SymExpr(8)});
  b.node("Gelu", {"x"}, {"y"}, {{"approximate", as("tanh")}});
  b.node("Gelu", {"x"}, {"z"});
  b.output("y").output("z");
  PassRun r;
  EXPECT_EQ(run_pass(b.g, pass_fuse_activation, r), 2);
  EXPECT_EQ(producer(b.g, "y")->attr_s("approximate", ""), "tanh");
  EXPECT_EQ(producer(b.g, "z")->attr_s("approximate", ""), "none");
}

// softmax(Q K^T * scale) V over `heads` heads of head_dim 4, from token-major q/k/v [b, s, heads*4].
// kt_perm_kind: "direct" (K^T), "not-transposed" (K left [b, h, s, d]) or "no-mask" (K^T, no causal mask).
void attention(Builder& b, int heads, const char* kt_perm_kind = "direct") {
  const int64_t f = heads * 4;
  b.input("q", DType::kF32, {S("b"), S("s"), SymExpr(f)});
  b.input("k", DType::kF32, {S("b"), S("s"), SymExpr(f)});
  b.input("v", DType::kF32, {S("b"), S("s"), SymExpr(f)});
  b.constant("split", i64({0, 0, heads, 4}, {4})).constant("merge", i64({0, 0, f}, {3}));
  b.constant("scale", f32({0.5f}, {}));
  b.node("Reshape", {"q", "split"}, {"q4"});
  b.node("Transpose", {"q4"}, {"qh"}, {{"perm", aints({0, 2, 1, 3})}});
  b.node("Reshape", {"k", "split"}, {"k4"});
  if (std::string(kt_perm_kind) == "direct") {
    b.node("Transpose", {"k4"}, {"kt"}, {{"perm", aints({0, 2, 3, 1})}});
  } else if (std::string(kt_perm_kind) == "no-mask") {
    b.node("Transpose", {"k4"}, {"kt"}, {{"perm", aints({0, 2, 3, 1})}});
  } else {
    b.node("Transpose", {"k4"}, {"kt"}, {{"perm", aints({0, 2, 1, 3})}});  // [b, h, s, d]: not K^T
  }
  b.node("Reshape", {"v", "split"}, {"v4"});
  b.node("Transpose", {"v4"}, {"vh"}, {{"perm", aints({0, 2, 1, 3})}});
  b.node("MatMul", {"qh", "kt"}, {"sc"});
  b.node("Mul", {"sc", "scale"}, {"ss"});
  if (std::string(kt_perm_kind) == "no-mask") {
    b.node("Softmax", {"ss"}, {"p"}, {{"axis", ai(-1)}});
  } else {
    // Causal mask: -1e9 above the diagonal of the [s, s] scores.
    b.constant("one", i64({1}, {})).constant("neg", f32({-1e9f}, {}));
    b.node("Shape", {"sc"}, {"sqk"}, {{"start", ai(2)}, {"end", ai(4)}});
    b.node("ConstantOfShape", {"sqk"}, {"ones"}, {{"value", atensor(f32({1.f}, {1}))}});
    b.node("Trilu", {"ones", "one"}, {"upper"}, {{"upper", ai(1)}});
    b.node("Mul", {"upper", "neg"}, {"mask"});
    b.node("Add", {"ss", "mask"}, {"sm"});
    b.node("Softmax", {"sm"}, {"p"}, {{"axis", ai(-1)}});
  }
  b.node("MatMul", {"p", "vh"}, {"o"});
  b.node("Transpose", {"o"}, {"ot"}, {{"perm", aints({0, 2, 1, 3})}});
  b.node("Reshape", {"ot", "merge"}, {"y"});
  b.output("y");
}

TEST(FuseAttention, MultiHead) {
  Builder b;
  attention(b, 2);
  PassRun r;
  EXPECT_EQ(run_pass(b.g, pass_fuse_attention, r), 1);
  pass_dead_code(b.g, r.ctx);
  ASSERT_EQ(b.g.nodes.size(), 1u);
  const Node& a = *b.g.nodes[0];
  EXPECT_TRUE(a.is_tsc("Attention"));
  EXPECT_EQ(a.inputs, (std::vector<std::string>{"q", "k", "v"}));
  EXPECT_EQ(a.outputs, (std::vector<std::string>{"y"}));
  EXPECT_EQ(a.attr_i("num_heads", 0), 2);
  EXPECT_EQ(a.attr_i("num_kv_heads", 0), 2);
  EXPECT_EQ(a.attr_i("head_dim", 0), 4);
  EXPECT_FLOAT_EQ(a.attr_f("scale", 0), 0.5f);
}

// The runtime is causal: attention without a causal mask is an error naming the Softmax, not a silent change.
TEST(FuseAttention, AttentionWithoutACausalMaskIsAnError) {
  Builder b;
  attention(b, 2, "no-mask");
  PassRun r;
  pass_fold(b.g, r.ctx);
  try {
    pass_fuse_attention(b.g, r.ctx);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("node 'p' (Softmax): attention is not causal"), std::string::npos) << e.what();
  }
}

TEST(FuseAttention, KNotTransposedIsDeclinedWithAReason) {
  Builder b;
  attention(b, 2, "not-transposed");
  PassRun r;
  pass_fold(b.g, r.ctx);
  const std::string before = print_graph(b.g);
  EXPECT_EQ(pass_fuse_attention(b.g, r.ctx), 0);
  EXPECT_EQ(print_graph(b.g), before);
  EXPECT_NE(r.log.str().find("[fuse-attention] node 'p' (Softmax): K operand layout"), std::string::npos) << r.log.str();
}

TEST(DecomposeMsOps, SkipLayerNormAndSimplified) {
  Builder b;
  b.g.opsets["com.microsoft"] = 1;
  b.input("x", DType::kF32, {S("n"), SymExpr(4)});
  b.input("r", DType::kF32, {S("n"), SymExpr(4)});
  b.constant("g", f32({1, 2, 3, 4}, {4}));
  b.node("SkipLayerNormalization", {"x", "r", "g"}, {"y", "", "", "sum"}, {{"epsilon", af(1e-5f)}}, "com.microsoft");
  b.node("SimplifiedLayerNormalization", {"sum", "g"}, {"z"}, {}, "com.microsoft");
  b.output("y").output("z");
  PassRun r;
  EXPECT_EQ(run_pass(b.g, pass_decompose_ms_ops, r), 2);
  const Node* sum = producer(b.g, "sum");
  ASSERT_TRUE(sum);
  EXPECT_TRUE(sum->is("Add"));
  EXPECT_EQ(sum->inputs, (std::vector<std::string>{"x", "r"}));
  EXPECT_TRUE(producer(b.g, "y")->is_tsc("LayerNorm"));
  EXPECT_TRUE(producer(b.g, "z")->is_tsc("RMSNorm"));
  EXPECT_FLOAT_EQ(producer(b.g, "z")->attr_f("epsilon", 0), 1e-5f);  // the op's default
  Builder c;
  c.input("x", DType::kF32, {S("n"), SymExpr(4)});
  c.node("SkipLayerNormalization", {"x", "x"}, {"y"}, {}, "com.microsoft");
  c.output("y");
  EXPECT_THROW(run_pass(c.g, pass_decompose_ms_ops, r), Error);
}

TEST(DropIdentity, SameTypeMovesAreBypassedButNotOutputs) {
  Builder b;
  b.input("x", DType::kF32, {S("b"), SymExpr(4)});
  b.constant("same", i64({0, 4}, {2}));
  b.node("Reshape", {"x", "same"}, {"r"});
  b.node("Cast", {"r"}, {"c"}, {{"to", ai(1)}});
  b.node("Relu", {"c"}, {"y"});
  b.node("Identity", {"y"}, {"out"});  // a graph output keeps its producer
  b.output("out");
  PassRun r;
  EXPECT_EQ(run_pass(b.g, pass_drop_identity, r), 2);
  EXPECT_EQ(producer(b.g, "y")->inputs, (std::vector<std::string>{"x"}));
  EXPECT_TRUE(producer(b.g, "out")->is("Identity"));
  EXPECT_EQ(pass_dead_code(b.g, r.ctx), 2);
}

}  // namespace
}  // namespace tsc
