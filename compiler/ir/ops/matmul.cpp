// Matrix products: MatMul (numpy semantics, batch dims broadcast), MatMulInteger, Gemm, Einsum (arity only).
#include "compiler/ir/ops/eval_kit.h"
#include "compiler/ir/ops/families.h"
#include "compiler/ir/ops/infer_ctx.h"

namespace tsc::ops {
namespace {

std::optional<std::vector<Tensor>> eval_matmul(const Node& n, const std::vector<const Tensor*>& in) {
  Arr a = load(need(n, in, 0)), b = load(need(n, in, 1));
  if (a.shape.size() < 1 || b.shape.size() < 1) fail(n, "MatMul of a scalar");
  if (a.shape.size() == 1 || b.shape.size() == 1) return std::nullopt;  // rare in folding
  int64_t M = a.shape[a.shape.size() - 2], K = a.shape.back(), K2 = b.shape[b.shape.size() - 2], N = b.shape.back();
  if (K != K2) fail(n, "inner dimensions differ");
  std::vector<int64_t> ba(a.shape.begin(), a.shape.end() - 2), bb(b.shape.begin(), b.shape.end() - 2);
  auto bs = broadcast(n, ba, bb);
  std::vector<int64_t> os = bs;
  os.push_back(M);
  os.push_back(N);
  Arr r = make(a.dt, os);
  int64_t nb = 1;
  for (auto d : bs) nb *= d;
  for (int64_t bi = 0; bi < nb; ++bi) {
    int64_t ia = bindex(bs, ba, bi), ib = bindex(bs, bb, bi);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double acc = 0;
        for (int64_t k = 0; k < K; ++k) acc += a.getf((ia * M + i) * K + k) * b.getf((ib * K + k) * N + j);
        if (r.isint) r.i[(bi * M + i) * N + j] = saturating_i64(acc); else r.f[(bi * M + i) * N + j] = acc;
      }
  }
  return one(r.isint ? r : cast(r, r.dt));
}

std::optional<int64_t> elems_matmul(const Node&, const std::vector<const Tensor*>& in) {
  if (in.size() != 2) return largest_input(in);
  const auto &a = in[0]->shape, &b = in[1]->shape;
  if (a.size() < 2 || b.size() < 2) return largest_input(in);
  std::vector<int64_t> ba(a.begin(), a.end() - 2), bb(b.begin(), b.end() - 2);
  auto bs = try_broadcast({&ba, &bb});
  if (!bs) return std::nullopt;
  bs->push_back(a[a.size() - 2]);
  bs->push_back(b.back());
  return sat_count(*bs);
}

void infer_matmul(InferCtx& c, Node& n) {
  const std::string out0 = InferCtx::out0(n);
  auto a = c.in_shape(n, 0), b = c.in_shape(n, 1);
  if (!a || !b || a->empty() || b->empty()) { c.set(out0, c.in_dt(n, 0), std::nullopt); return; }
  SymShape A = *a, B = *b;
  bool a1 = A.size() == 1, b1 = B.size() == 1;
  if (a1) A.insert(A.begin(), SymExpr(1));
  if (b1) B.push_back(SymExpr(1));
  if (A.back() != B[B.size() - 2] && A.back().is_const() && B[B.size() - 2].is_const())
    c.fail(n, "inner dimensions differ: " + shape_str(*a) + " x " + shape_str(*b));
  auto bs = c.broadcast(n, {SymShape(A.begin(), A.end() - 2), SymShape(B.begin(), B.end() - 2)});
  if (!bs) { c.set(out0, c.in_dt(n, 0), std::nullopt); return; }
  SymShape r = *bs;
  if (!a1) r.push_back(A[A.size() - 2]);
  if (!b1) r.push_back(B.back());
  c.set(out0, c.in_dt(n, 0), r);
}

// MatMulInteger(A u8|i8, B u8|i8, a_zero_point?, b_zero_point?): MatMul's shape, int32 accumulators.
void infer_matmul_integer(InferCtx& c, Node& n) {
  infer_matmul(c, n);
  const std::string out0 = InferCtx::out0(n);
  c.set(out0, DType::kI32, c.shape_of(out0));
}

void infer_gemm(InferCtx& c, Node& n) {
  const std::string out0 = InferCtx::out0(n);
  auto a = c.in_shape(n, 0), b = c.in_shape(n, 1);
  if (!a || !b || a->size() != 2 || b->size() != 2) { c.set(out0, c.in_dt(n, 0), std::nullopt); return; }
  SymExpr M = n.attr_i("transA", 0) ? (*a)[1] : (*a)[0];
  SymExpr N = n.attr_i("transB", 0) ? (*b)[0] : (*b)[1];
  c.set(out0, c.in_dt(n, 0), SymShape{M, N});
}

}  // namespace

void add_matmul_ops(OpTable& t) {
  t.add({.domain = "", .op = "MatMul", .min_inputs = 2, .min_outputs = 1, .infer = infer_matmul, .eval = eval_matmul, .eval_elems = elems_matmul});
  t.add({.domain = "", .op = "MatMulInteger", .min_inputs = 2, .min_outputs = 1, .infer = infer_matmul_integer});
  t.add({.domain = "", .op = "Gemm", .min_inputs = 2, .min_outputs = 1, .infer = infer_gemm});
  t.add({.domain = "", .op = "Einsum", .min_inputs = 1, .min_outputs = 1});
}

}  // namespace tsc::ops
