// eval_node, the reference evaluator used for folding and probing: every op on small hand-computed cases.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "builder.h"
#include "compiler/ir/eval.h"
#include "contract/error.h"

namespace tsc {
namespace {

using test::ai;
using test::aints;
using test::atensor;
using test::f32;
using test::i64;
using test::make_node;
using test::values;
using V = std::vector<double>;
using Shape = std::vector<int64_t>;

// Evaluates op on inputs (nullptr for an absent optional input) and returns its outputs.
std::vector<Tensor> eval(const Node& n, std::vector<const Tensor*> in) {
  auto r = eval_node(n, in);
  if (!r) throw std::runtime_error("eval_node declined " + n.op);
  return *r;
}
Tensor eval1(const std::string& op, std::vector<const Tensor*> in, std::map<std::string, Attribute> attrs = {}) {
  return eval(make_node(op, std::move(attrs)), std::move(in))[0];
}

TEST(Eval, UnaryFloat) {
  Tensor x = f32({-2.f, -0.5f, 0.f, 0.5f, 2.5f}, {5});
  EXPECT_EQ(values(eval1("Neg", {&x})), (V{2, 0.5, 0, -0.5, -2.5}));
  EXPECT_EQ(values(eval1("Abs", {&x})), (V{2, 0.5, 0, 0.5, 2.5}));
  EXPECT_EQ(values(eval1("Relu", {&x})), (V{0, 0, 0, 0.5, 2.5}));
  EXPECT_EQ(values(eval1("Sign", {&x})), (V{-1, -1, 0, 1, 1}));
  EXPECT_EQ(values(eval1("Floor", {&x})), (V{-2, -1, 0, 0, 2}));
  EXPECT_EQ(values(eval1("Ceil", {&x})), (V{-2, -0.0, 0, 1, 3}));
  // Round is half to even, as ONNX specifies: -0.5 -> -0, 0.5 -> 0, 2.5 -> 2.
  EXPECT_EQ(values(eval1("Round", {&x})), (V{-2, 0, 0, 0, 2}));
  EXPECT_EQ(values(eval1("Identity", {&x})), values(x));
  Tensor p = f32({0.25f, 1.f, 4.f}, {3});
  EXPECT_EQ(values(eval1("Sqrt", {&p})), (V{0.5, 1, 2}));
  EXPECT_EQ(values(eval1("Reciprocal", {&p})), (V{4, 1, 0.25}));
  Tensor z = f32({0.f}, {1});
  EXPECT_EQ(values(eval1("Exp", {&z})), (V{1}));
  EXPECT_EQ(values(eval1("Cos", {&z})), (V{1}));
  EXPECT_EQ(values(eval1("Sin", {&z})), (V{0}));
  EXPECT_EQ(values(eval1("Tanh", {&z})), (V{0}));
  EXPECT_EQ(values(eval1("Erf", {&z})), (V{0}));
  EXPECT_EQ(values(eval1("Sigmoid", {&z})), (V{0.5}));
  Tensor e = f32({1.f}, {1});
  EXPECT_EQ(values(eval1("Log", {&e})), (V{0}));
  // Results are rounded to the output type: float32 tanh(1), not the double.
  EXPECT_EQ(eval1("Tanh", {&e}).f64(0), static_cast<double>(static_cast<float>(std::tanh(1.0))));
}

TEST(Eval, UnaryIntegerAndDeclined) {
  Tensor x = i64({-3, 0, 4}, {3});
  Tensor n = eval1("Neg", {&x});
  EXPECT_EQ(n.dtype, DType::kI64);
  EXPECT_EQ(n.to_i64(), (std::vector<int64_t>{3, 0, -4}));
  EXPECT_EQ(eval1("Abs", {&x}).to_i64(), (std::vector<int64_t>{3, 0, 4}));
  // Sqrt of an integer tensor is not something folding needs: declined, not guessed.
  EXPECT_FALSE(eval_node(make_node("Sqrt"), {&x}).has_value());
  // Ops of other domains and unknown ops are declined.
  EXPECT_FALSE(is_evaluable(make_node("Linear", {}, 1, "tsc")));
  EXPECT_FALSE(eval_node(make_node("Relu", {}, 1, "com.microsoft"), {&x}).has_value());
  EXPECT_FALSE(is_evaluable(make_node("HardSwish")));
  EXPECT_TRUE(is_evaluable(make_node("Softmax")));
}

TEST(Eval, BinaryBroadcast) {
  Tensor a = f32({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor row = f32({10, 20, 30}, {3});
  Tensor col = f32({100, 200}, {2, 1});
  Tensor r = eval1("Add", {&a, &row});
  EXPECT_EQ(r.shape, (Shape{2, 3}));
  EXPECT_EQ(values(r), (V{11, 22, 33, 14, 25, 36}));
  EXPECT_EQ(values(eval1("Sub", {&col, &a})), (V{99, 98, 97, 196, 195, 194}));
  EXPECT_EQ(values(eval1("Mul", {&row, &col})), (V{1000, 2000, 3000, 2000, 4000, 6000}));
  EXPECT_EQ(eval1("Mul", {&row, &col}).shape, (Shape{2, 3}));
  EXPECT_EQ(values(eval1("Div", {&a, &row})), (V{0.1f, 0.1f, 0.1f, 0.4f, 0.25f, 0.2f}));
  Tensor two = f32({2}, {});
  EXPECT_EQ(values(eval1("Pow", {&row, &two})), (V{100, 400, 900}));
  EXPECT_EQ(values(eval1("Max", {&a, &two})), (V{2, 2, 3, 4, 5, 6}));
  EXPECT_EQ(values(eval1("Min", {&a, &two})), (V{1, 2, 2, 2, 2, 2}));
  Tensor c = f32({1, 2, 3}, {3});
  EXPECT_EQ(values(eval1("Sum", {&c, &c, &c})), (V{3, 6, 9}));
  Tensor bad = f32({1, 2}, {2});
  EXPECT_THROW(eval1("Add", {&a, &bad}), Error);
}

TEST(Eval, IntegerDivisionAndModulo) {
  Tensor a = i64({7, -7, 7, -7}, {4});
  Tensor b = i64({2, 2, -2, -2}, {4});
  // Integer Div truncates toward zero (C++ and onnxruntime).
  EXPECT_EQ(eval1("Div", {&a, &b}).to_i64(), (std::vector<int64_t>{3, -3, -3, 3}));
  // Mod with fmod=0 takes the divisor's sign (Python semantics); fmod=1 the dividend's.
  EXPECT_EQ(eval1("Mod", {&a, &b}).to_i64(), (std::vector<int64_t>{1, 1, -1, -1}));
  EXPECT_EQ(eval1("Mod", {&a, &b}, {{"fmod", ai(1)}}).to_i64(), (std::vector<int64_t>{1, -1, 1, -1}));
  Tensor zero = i64({0}, {1});
  EXPECT_THROW(eval1("Div", {&a, &zero}), Error);
  EXPECT_THROW(eval1("Mod", {&a, &zero}), Error);
  // Int64 stays exact beyond 2^53.
  Tensor big = i64({(int64_t{1} << 60) + 1}, {1}), one = i64({1}, {1});
  EXPECT_EQ(eval1("Add", {&big, &one}).i64(0), (int64_t{1} << 60) + 2);
}

TEST(Eval, ComparisonsAndLogic) {
  Tensor a = i64({1, 2, 3}, {3}), b = i64({2, 2, 2}, {3});
  auto as_ints = [](const Tensor& t) { return t.to_i64(); };
  Tensor eq = eval1("Equal", {&a, &b});
  EXPECT_EQ(eq.dtype, DType::kBool);
  EXPECT_EQ(as_ints(eq), (std::vector<int64_t>{0, 1, 0}));
  EXPECT_EQ(as_ints(eval1("Less", {&a, &b})), (std::vector<int64_t>{1, 0, 0}));
  EXPECT_EQ(as_ints(eval1("Greater", {&a, &b})), (std::vector<int64_t>{0, 0, 1}));
  EXPECT_EQ(as_ints(eval1("LessOrEqual", {&a, &b})), (std::vector<int64_t>{1, 1, 0}));
  EXPECT_EQ(as_ints(eval1("GreaterOrEqual", {&a, &b})), (std::vector<int64_t>{0, 1, 1}));
  Tensor t = test::typed(DType::kBool, {1, 1, 0, 0}, {4}), u = test::typed(DType::kBool, {1, 0, 1, 0}, {4});
  EXPECT_EQ(as_ints(eval1("And", {&t, &u})), (std::vector<int64_t>{1, 0, 0, 0}));
  EXPECT_EQ(as_ints(eval1("Or", {&t, &u})), (std::vector<int64_t>{1, 1, 1, 0}));
  EXPECT_EQ(as_ints(eval1("Xor", {&t, &u})), (std::vector<int64_t>{0, 1, 1, 0}));
  EXPECT_EQ(as_ints(eval1("Not", {&t})), (std::vector<int64_t>{0, 0, 1, 1}));
  Tensor f = f32({NAN, INFINITY, -INFINITY, 1.f}, {4});
  EXPECT_EQ(as_ints(eval1("IsNaN", {&f})), (std::vector<int64_t>{1, 0, 0, 0}));
  EXPECT_EQ(as_ints(eval1("IsInf", {&f})), (std::vector<int64_t>{0, 1, 1, 0}));
}

TEST(Eval, CastRoundsThroughTheTargetType) {
  Tensor x = f32({-1.7f, 0.4f, 2.9f, 65519.f}, {4});
  Tensor i = eval1("Cast", {&x}, {{"to", ai(7)}});
  EXPECT_EQ(i.dtype, DType::kI64);
  EXPECT_EQ(i.to_i64(), (std::vector<int64_t>{-1, 0, 2, 65519}));  // truncation toward zero
  Tensor h = eval1("Cast", {&x}, {{"to", ai(10)}});
  EXPECT_EQ(h.dtype, DType::kF16);
  EXPECT_EQ(values(h), (V{-1.7001953125, 0.39990234375, 2.900390625, 65504}));
  Tensor b = eval1("Cast", {&x}, {{"to", ai(9)}});
  EXPECT_EQ(b.to_i64(), (std::vector<int64_t>{1, 1, 1, 1}));
  Tensor bf = eval1("Cast", {&x}, {{"to", ai(16)}});
  EXPECT_EQ(bf.f64(1), 0.400390625);
  Tensor d = test::typed(DType::kF64, {0.1}, {1});
  EXPECT_EQ(eval1("Cast", {&d}, {{"to", ai(1)}}).f64(0), static_cast<double>(0.1f));
  Tensor like = test::typed(DType::kI32, {0}, {1});
  Tensor cl = eval1("CastLike", {&x, &like});
  EXPECT_EQ(cl.dtype, DType::kI32);
  EXPECT_EQ(cl.to_i64(), (std::vector<int64_t>{-1, 0, 2, 65519}));
}

TEST(Eval, Where) {
  Tensor c = test::typed(DType::kBool, {1, 0}, {2, 1});
  Tensor x = f32({1, 2, 3}, {3});
  Tensor y = f32({-1}, {});
  Tensor r = eval1("Where", {&c, &x, &y});
  EXPECT_EQ(r.shape, (Shape{2, 3}));
  EXPECT_EQ(values(r), (V{1, 2, 3, -1, -1, -1}));
}

TEST(Eval, ShapeAndSize) {
  Tensor x = Tensor::alloc(DType::kF32, {2, 3, 4, 5});
  EXPECT_EQ(eval1("Shape", {&x}).to_i64(), (std::vector<int64_t>{2, 3, 4, 5}));
  EXPECT_EQ(eval1("Shape", {&x}, {{"start", ai(1)}, {"end", ai(-1)}}).to_i64(), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(eval1("Shape", {&x}, {{"start", ai(-2)}}).to_i64(), (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(eval1("Shape", {&x}, {{"start", ai(3)}, {"end", ai(1)}}).numel(), 0);
  Tensor s = eval1("Size", {&x});
  EXPECT_EQ(s.shape, Shape{});
  EXPECT_EQ(s.i64(0), 120);
}

TEST(Eval, Concat) {
  Tensor a = f32({1, 2, 3, 4}, {2, 2}), b = f32({5, 6}, {2, 1});
  Tensor r = eval1("Concat", {&a, &b}, {{"axis", ai(1)}});
  EXPECT_EQ(r.shape, (Shape{2, 3}));
  EXPECT_EQ(values(r), (V{1, 2, 5, 3, 4, 6}));
  Tensor c = f32({7, 8}, {1, 2});
  EXPECT_EQ(values(eval1("Concat", {&a, &c}, {{"axis", ai(-2)}})), (V{1, 2, 3, 4, 7, 8}));
  Tensor v = f32({1}, {1});
  EXPECT_THROW(eval1("Concat", {&a, &v}, {{"axis", ai(0)}}), Error);  // ranks differ
  EXPECT_THROW(eval1("Concat", {&a, &b}, {{"axis", ai(0)}}), Error);  // dims differ off-axis
  EXPECT_THROW(eval1("Concat", {&a, &b}, {{"axis", ai(2)}}), Error);  // axis out of range
}

TEST(Eval, UnsqueezeSqueeze) {
  Tensor x = f32({1, 2, 3}, {3});
  Tensor ax = i64({0, -1}, {2});
  EXPECT_EQ(eval1("Unsqueeze", {&x, &ax}).shape, (Shape{1, 3, 1}));
  EXPECT_EQ(eval1("Unsqueeze", {&x}, {{"axes", aints({1})}}).shape, (Shape{3, 1}));  // opset < 13 attribute
  Tensor y = f32({1, 2, 3}, {1, 3, 1});
  EXPECT_EQ(eval1("Squeeze", {&y}).shape, (Shape{3}));
  Tensor a2 = i64({2}, {1});
  EXPECT_EQ(eval1("Squeeze", {&y, &a2}).shape, (Shape{1, 3}));
  Tensor a1 = i64({1}, {1});
  EXPECT_THROW(eval1("Squeeze", {&y, &a1}), Error);  // size 3 is not squeezable
}

TEST(Eval, ReshapeAndFlatten) {
  Tensor x = f32({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor s1 = i64({3, -1}, {2});
  EXPECT_EQ(eval1("Reshape", {&x, &s1}).shape, (Shape{3, 2}));
  Tensor s0 = i64({0, 3, 1}, {3});
  EXPECT_EQ(eval1("Reshape", {&x, &s0}).shape, (Shape{2, 3, 1}));  // 0 copies the input dim
  EXPECT_EQ(values(eval1("Reshape", {&x, &s1})), values(x));  // data order is unchanged
  Tensor bad = i64({4, 2}, {2});
  EXPECT_THROW(eval1("Reshape", {&x, &bad}), Error);
  Tensor two_neg = i64({-1, -1}, {2});
  EXPECT_THROW(eval1("Reshape", {&x, &two_neg}), Error);
  Tensor nodiv = i64({4, -1}, {2});
  EXPECT_THROW(eval1("Reshape", {&x, &nodiv}), Error);
  // allowzero=1: 0 is a real zero-size dim.
  Tensor e = Tensor::alloc(DType::kF32, {0, 3});
  Tensor z = i64({3, 0}, {2});
  EXPECT_EQ(eval1("Reshape", {&e, &z}, {{"allowzero", ai(1)}}).shape, (Shape{3, 0}));
  Tensor x4 = Tensor::alloc(DType::kF32, {2, 3, 4, 5});
  EXPECT_EQ(eval1("Flatten", {&x4}).shape, (Shape{2, 60}));
  EXPECT_EQ(eval1("Flatten", {&x4}, {{"axis", ai(0)}}).shape, (Shape{1, 120}));
}

// A negative axis counts from the back of the rank, as ONNX (and onnxruntime) do: axis=-1 on [2,3,4,5] gives
// [24,5] (it was normalized against rank + 1: [120,1]). lit: simplify/flatten_negative_axis.test.
TEST(Eval, FlattenNegativeAxis) {
  Tensor x4 = Tensor::alloc(DType::kF32, {2, 3, 4, 5});
  EXPECT_EQ(eval1("Flatten", {&x4}, {{"axis", ai(-1)}}).shape, (Shape{24, 5}));
  EXPECT_EQ(eval1("Flatten", {&x4}, {{"axis", ai(-4)}}).shape, (Shape{1, 120}));
}

TEST(Eval, Transpose) {
  Tensor x = f32({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor t = eval1("Transpose", {&x});
  EXPECT_EQ(t.shape, (Shape{3, 2}));
  EXPECT_EQ(values(t), (V{1, 4, 2, 5, 3, 6}));
  Tensor y = f32({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {2, 3, 2});
  Tensor p = eval1("Transpose", {&y}, {{"perm", aints({1, 0, 2})}});
  EXPECT_EQ(p.shape, (Shape{3, 2, 2}));
  EXPECT_EQ(values(p), (V{0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11}));
}

TEST(Eval, Gather) {
  Tensor x = f32({1, 2, 3, 4, 5, 6}, {3, 2});
  Tensor idx = i64({2, 0, -1}, {3});
  Tensor r = eval1("Gather", {&x, &idx});
  EXPECT_EQ(r.shape, (Shape{3, 2}));
  EXPECT_EQ(values(r), (V{5, 6, 1, 2, 5, 6}));
  Tensor col = i64({1}, {1, 1});
  Tensor c = eval1("Gather", {&x, &col}, {{"axis", ai(1)}});
  EXPECT_EQ(c.shape, (Shape{3, 1, 1}));
  EXPECT_EQ(values(c), (V{2, 4, 6}));
  Tensor scalar = Tensor::scalar_i64(1);
  EXPECT_EQ(eval1("Gather", {&x, &scalar}).shape, (Shape{2}));
  Tensor oob = i64({3}, {1});
  EXPECT_THROW(eval1("Gather", {&x, &oob}), Error);
  Tensor oobn = i64({-4}, {1});
  EXPECT_THROW(eval1("Gather", {&x, &oobn}), Error);
}

TEST(Eval, GatherND) {
  Tensor x = f32({0, 1, 2, 3}, {2, 2});
  Tensor idx = i64({0, 0, 1, 1}, {2, 2});
  EXPECT_EQ(values(eval1("GatherND", {&x, &idx})), (V{0, 3}));
  Tensor rows = i64({1, 0}, {2, 1});
  Tensor r = eval1("GatherND", {&x, &rows});
  EXPECT_EQ(r.shape, (Shape{2, 2}));
  EXPECT_EQ(values(r), (V{2, 3, 0, 1}));
  EXPECT_FALSE(eval_node(make_node("GatherND", {{"batch_dims", ai(1)}}), {&x, &rows}).has_value());
}

TEST(Eval, Slice) {
  Tensor x = f32({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {10});
  auto sl = [&](std::vector<int64_t> s, std::vector<int64_t> e, std::vector<int64_t> st) {
    Tensor ts = i64(s, {1}), te = i64(e, {1}), ta = i64({0}, {1}), tp = i64(st, {1});
    return values(eval1("Slice", {&x, &ts, &te, &ta, &tp}));
  };
  EXPECT_EQ(sl({2}, {5}, {1}), (V{2, 3, 4}));
  EXPECT_EQ(sl({-3}, {std::numeric_limits<int64_t>::max()}, {1}), (V{7, 8, 9}));
  EXPECT_EQ(sl({1}, {100}, {3}), (V{1, 4, 7}));
  EXPECT_EQ(sl({-1}, {std::numeric_limits<int64_t>::min()}, {-1}), (V{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}));
  EXPECT_EQ(sl({8}, {2}, {-2}), (V{8, 6, 4}));
  EXPECT_EQ(sl({5}, {2}, {1}), V{});
  Tensor ts = i64({0}, {1}), te = i64({1}, {1}), ta = i64({0}, {1}), zero = i64({0}, {1});
  EXPECT_THROW(eval1("Slice", {&x, &ts, &te, &ta, &zero}), Error);
  // 2-D, last axis, axes and steps absent.
  Tensor m = f32({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor s2 = i64({0, 1}, {2}), e2 = i64({1, 3}, {2});
  Tensor r = eval1("Slice", {&m, &s2, &e2});
  EXPECT_EQ(r.shape, (Shape{1, 2}));
  EXPECT_EQ(values(r), (V{2, 3}));
  // opset < 10: attributes.
  Tensor a = eval1("Slice", {&m}, {{"starts", aints({1})}, {"ends", aints({2})}, {"axes", aints({1})}});
  EXPECT_EQ(values(a), (V{2, 5}));
}

TEST(Eval, Range) {
  Tensor s = i64({2}, {}), l = i64({9}, {}), d = i64({3}, {});
  Tensor r = eval1("Range", {&s, &l, &d});
  EXPECT_EQ(r.dtype, DType::kI64);
  EXPECT_EQ(r.to_i64(), (std::vector<int64_t>{2, 5, 8}));
  Tensor fs = test::f32s(1.f), fl = test::f32s(0.f), fd = test::f32s(-0.25f);
  EXPECT_EQ(values(eval1("Range", {&fs, &fl, &fd})), (V{1, 0.75, 0.5, 0.25}));
  Tensor empty_l = i64({0}, {});
  EXPECT_EQ(eval1("Range", {&s, &empty_l, &d}).numel(), 0);
  Tensor zero = i64({0}, {});
  EXPECT_THROW(eval1("Range", {&s, &l, &zero}), Error);
}

TEST(Eval, ExpandTileConstantOfShape) {
  Tensor x = f32({1, 2}, {2, 1});
  Tensor shape = i64({2, 3}, {2});
  Tensor e = eval1("Expand", {&x, &shape});
  EXPECT_EQ(e.shape, (Shape{2, 3}));
  EXPECT_EQ(values(e), (V{1, 1, 1, 2, 2, 2}));
  Tensor up = i64({3, 1, 1}, {3});
  EXPECT_EQ(eval1("Expand", {&x, &up}).shape, (Shape{3, 2, 1}));  // the shape may be smaller than the result
  Tensor reps = i64({2, 2}, {2});
  Tensor t = eval1("Tile", {&x, &reps});
  EXPECT_EQ(t.shape, (Shape{4, 2}));
  EXPECT_EQ(values(t), (V{1, 1, 2, 2, 1, 1, 2, 2}));
  Tensor s = i64({2, 2}, {2});
  Tensor c0 = eval1("ConstantOfShape", {&s});
  EXPECT_EQ(c0.dtype, DType::kF32);
  EXPECT_EQ(values(c0), (V{0, 0, 0, 0}));
  Tensor c7 = eval1("ConstantOfShape", {&s}, {{"value", atensor(i64({7}, {1}))}});
  EXPECT_EQ(c7.dtype, DType::kI64);
  EXPECT_EQ(c7.to_i64(), (std::vector<int64_t>{7, 7, 7, 7}));
}

TEST(Eval, MatMul) {
  Tensor a = f32({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = f32({1, 0, 0, 1, 1, 1}, {3, 2});
  Tensor r = eval1("MatMul", {&a, &b});
  EXPECT_EQ(r.shape, (Shape{2, 2}));
  EXPECT_EQ(values(r), (V{4, 5, 10, 11}));
  // Batch dims broadcast: [2,1,2,3] x [3,3,2] -> [2,3,2,2].
  Tensor ab = Tensor::alloc(DType::kF32, {2, 1, 2, 3});
  Tensor bb = Tensor::alloc(DType::kF32, {3, 3, 2});
  EXPECT_EQ(eval1("MatMul", {&ab, &bb}).shape, (Shape{2, 3, 2, 2}));
  Tensor bad = f32({1, 2}, {2, 1});
  EXPECT_THROW(eval1("MatMul", {&a, &bad}), Error);
  Tensor ii = i64({1, 2, 3, 4}, {2, 2});
  EXPECT_EQ(eval1("MatMul", {&ii, &ii}).to_i64(), (std::vector<int64_t>{7, 10, 15, 22}));
}

TEST(Eval, CumSumAndTrilu) {
  Tensor x = f32({1, 2, 3, 4}, {4});
  Tensor ax = i64({0}, {});
  EXPECT_EQ(values(eval1("CumSum", {&x, &ax})), (V{1, 3, 6, 10}));
  EXPECT_EQ(values(eval1("CumSum", {&x, &ax}, {{"exclusive", ai(1)}})), (V{0, 1, 3, 6}));
  EXPECT_EQ(values(eval1("CumSum", {&x, &ax}, {{"reverse", ai(1)}})), (V{10, 9, 7, 4}));
  EXPECT_EQ(values(eval1("CumSum", {&x, &ax}, {{"reverse", ai(1)}, {"exclusive", ai(1)}})), (V{9, 7, 4, 0}));
  Tensor m = f32({1, 1, 1, 1, 1, 1, 1, 1, 1}, {3, 3});
  EXPECT_EQ(values(eval1("Trilu", {&m})), (V{1, 1, 1, 0, 1, 1, 0, 0, 1}));
  EXPECT_EQ(values(eval1("Trilu", {&m}, {{"upper", ai(0)}})), (V{1, 0, 0, 1, 1, 0, 1, 1, 1}));
  Tensor k = i64({1}, {});
  EXPECT_EQ(values(eval1("Trilu", {&m, &k})), (V{0, 1, 1, 0, 0, 1, 0, 0, 0}));
  Tensor km = i64({-1}, {});
  EXPECT_EQ(values(eval1("Trilu", {&m, &km}, {{"upper", ai(0)}})), (V{0, 0, 0, 1, 0, 0, 1, 1, 0}));
}

TEST(Eval, Reductions) {
  Tensor x = f32({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor last = i64({-1}, {1});
  Tensor m = eval1("ReduceMean", {&x, &last});
  EXPECT_EQ(m.shape, (Shape{2, 1}));
  EXPECT_EQ(values(m), (V{2, 5}));
  Tensor s = eval1("ReduceSum", {&x}, {{"axes", aints({0})}, {"keepdims", ai(0)}});
  EXPECT_EQ(s.shape, (Shape{3}));
  EXPECT_EQ(values(s), (V{5, 7, 9}));
  EXPECT_EQ(values(eval1("ReduceMax", {&x, &last})), (V{3, 6}));
  EXPECT_EQ(values(eval1("ReduceMin", {&x, &last})), (V{1, 4}));
  Tensor all = eval1("ReduceSum", {&x});
  EXPECT_EQ(all.shape, (Shape{1, 1}));
  EXPECT_EQ(values(all), (V{21}));
  Tensor none = i64({}, {0});
  EXPECT_EQ(eval1("ReduceSum", {&x, &none}, {{"noop_with_empty_axes", ai(1)}}).shape, (Shape{2, 3}));
}

TEST(Eval, Softmax) {
  Tensor x = f32({0, 0, 1000, 1000, 0, std::log(3.f)}, {3, 2});
  Tensor r = eval1("Softmax", {&x});
  EXPECT_EQ(values(r)[0], 0.5);
  EXPECT_EQ(values(r)[2], 0.5);  // no overflow: the max is subtracted first
  EXPECT_NEAR(values(r)[4], 0.25, 1e-7);
  EXPECT_NEAR(values(r)[5], 0.75, 1e-7);
  // Another axis than the last is declined rather than computed wrongly.
  EXPECT_FALSE(eval_node(make_node("Softmax", {{"axis", ai(0)}}), {&x}).has_value());
}

TEST(Eval, Split) {
  Tensor x = f32({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {10});
  Tensor sizes = i64({2, 3, 5}, {3});
  auto r = eval(make_node("Split", {}, 3), {&x, &sizes});
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(values(r[1]), (V{2, 3, 4}));
  EXPECT_EQ(values(r[2]), (V{5, 6, 7, 8, 9}));
  // Without sizes: ceil(10/3) = 4, 4, 2.
  auto e = eval(make_node("Split", {}, 3), {&x});
  EXPECT_EQ(e[0].numel(), 4);
  EXPECT_EQ(e[2].numel(), 2);
  EXPECT_EQ(values(e[2]), (V{8, 9}));
  Tensor m = f32({1, 2, 3, 4, 5, 6}, {2, 3});
  auto c = eval(make_node("Split", {{"axis", ai(1)}, {"split", aints({1, 2})}}, 2), {&m});
  EXPECT_EQ(c[1].shape, (Shape{2, 2}));
  EXPECT_EQ(values(c[1]), (V{2, 3, 5, 6}));
  EXPECT_THROW(eval(make_node("Split", {}, 2), {&x, &sizes}), Error);
}

// Sizes and integers from the file are checked before use: a negative size, a count or a value past int64 is a
// tsc::Error naming the node (it was std::length_error, an out-of-memory or undefined behaviour).
TEST(Eval, AbsurdSizesAndOverflowAreErrors) {
  Tensor neg = i64({-5}, {1});
  EXPECT_THROW(eval1("ConstantOfShape", {&neg}), Error);
  Tensor x = f32({1, 2}, {2, 1});
  Tensor neg2 = i64({2, -3}, {2});
  EXPECT_THROW(eval1("Expand", {&x, &neg2}), Error);
  EXPECT_THROW(eval1("Tile", {&x, &neg2}), Error);
  Tensor huge = i64({int64_t{1} << 40, int64_t{1} << 40, 2}, {3});
  EXPECT_THROW(eval1("Reshape", {&x, &huge}), Error);
  Tensor minus = i64({-2, -1}, {2});
  EXPECT_THROW(eval1("Reshape", {&x, &minus}), Error);
  Tensor big = i64({std::numeric_limits<int64_t>::max()}, {1}), two = i64({2}, {1});
  EXPECT_THROW(eval1("Mul", {&big, &two}), Error);
  EXPECT_THROW(eval1("Add", {&big, &big}), Error);
  Tensor lowest = i64({std::numeric_limits<int64_t>::min()}, {1}), m1 = i64({-1}, {1});
  EXPECT_THROW(eval1("Div", {&lowest, &m1}), Error);
  EXPECT_THROW(eval1("Neg", {&lowest}), Error);
  EXPECT_EQ(eval1("Mod", {&lowest, &m1}).to_i64(), (std::vector<int64_t>{0}));
  Tensor none = f32({}, {0});
  EXPECT_THROW(eval(make_node("Concat", {{"axis", ai(0)}}), {}), Error);
  EXPECT_THROW(eval1("Range", {&none, &none, &none}), Error);
  // Float to integer conversions saturate instead of being undefined.
  Tensor inf = f32({1e30f, -1e30f, std::nanf("")}, {3});
  EXPECT_EQ(eval1("Cast", {&inf}, {{"to", ai(7)}}).to_i64(),
            (std::vector<int64_t>{std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min(), 0}));
}

// Results are sized before they are made: big ones are declined (folding checks its own, smaller limit first).
TEST(Eval, OutputSizeIsKnownBeforeEvaluating) {
  Tensor s = i64({100000, 100000}, {2});
  EXPECT_EQ(eval_output_elems(make_node("ConstantOfShape"), {&s}), int64_t{10000000000});
  EXPECT_FALSE(eval_node(make_node("ConstantOfShape"), {&s}).has_value());
  Tensor col = f32({1, 2, 3}, {3, 1}), row = f32({1, 2}, {1, 2});
  EXPECT_EQ(eval_output_elems(make_node("Add"), {&col, &row}), 6);
  EXPECT_EQ(eval_output_elems(make_node("MatMul"), {&col, &row}), 6);
  Tensor a = test::f32s(0.f), b = test::f32s(1e30f), d = test::f32s(1.f);
  EXPECT_EQ(eval_output_elems(make_node("Range"), {&a, &b, &d}), std::numeric_limits<int64_t>::max());
  EXPECT_FALSE(eval_node(make_node("Range"), {&a, &b, &d}).has_value());  // not folded to an empty range
  Tensor reps = i64({1000, 1000}, {2});
  EXPECT_EQ(eval_output_elems(make_node("Tile"), {&col, &reps}), 3000000);
}

TEST(Eval, MissingInputIsAnError) {
  Tensor x = f32({1}, {1});
  try {
    eval1("Add", {&x, nullptr});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing input 1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("(Add)"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tsc
