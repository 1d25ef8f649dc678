// tsc's canonical ops (domain "tsc"), written by the simplify passes (compiler/ir/passes/*.cpp give their
// contracts) and read by lift. Output 0 has input 0's dtype and shape except where noted.
#include "compiler/ir/ops/families.h"
#include "compiler/ir/ops/infer_ctx.h"

namespace tsc::ops {
namespace {

void infer_tsc_same(InferCtx& c, Node& n) { c.set(n.outputs[0], c.dtype_of(n.input(0)), c.shape_of(n.input(0))); }

// Linear(x: [.., in], w) -> [.., out]; w is [in, out] when w_in_out (default), else [out, in]; format=q4 codes are
// [out, n_blocks, block_size/2].
void infer_linear(InferCtx& c, Node& n) {
  auto s = c.shape_of(n.input(0));
  const Tensor* w = c.g.constant(n.input(1));
  if (s && w && w->shape.size() == 3 && n.attr_s("format", "") == "q4") s->back() = SymExpr(w->shape[0]);
  if (s && w && w->shape.size() == 2) s->back() = SymExpr(n.attr_i("w_in_out", 1) ? w->shape[1] : w->shape[0]);
  c.set(n.outputs[0], c.dtype_of(n.input(0)), s);
}

// Attention(q, k, v, past_k, past_v, ...) -> out [b, s, ..], present_k/v [b, h, past + s, d].
void infer_attention(InferCtx& c, Node& n) {
  auto s = c.shape_of(n.input(0));
  infer_tsc_same(c, n);
  if (n.outputs.size() != 3) return;
  for (int k = 0; k < 2; ++k) {
    auto past = c.shape_of(n.input(3 + k));
    std::optional<SymShape> ps;
    if (past && s && past->size() == 4) { ps = *past; (*ps)[2] = (*past)[2] + (*s)[1]; }
    c.set(n.outputs[1 + k], c.dtype_of(n.input(3 + k)), ps);
  }
}

}  // namespace

void add_tsc_ops(OpTable& t) {
  t.add({.domain = "tsc", .op = "Linear", .infer = infer_linear});
  t.add({.domain = "tsc", .op = "Attention", .infer = infer_attention});
  for (const char* name : {"LayerNorm", "RMSNorm", "HeadRMSNorm", "Gelu", "Silu", "Rope"}) t.add({.domain = "tsc", .op = name, .infer = infer_tsc_same});
}

}  // namespace tsc::ops
