// fuse-quantized-linear: projections whose weight the file keeps quantized -> tsc.Linear that keeps it so.
//  - com.microsoft MatMulNBits (4-bit blocks, constant codes) -> tsc.Linear(x [.., K], codes [N, n_blocks,
//    block_size/2] u8, bias? [N], scales [N * n_blocks], zero_points?) with w_in_out=0, format="q4", block_size, K.
//  - quantize_dynamic's chain  (xq, xs, xz) = DynamicQuantizeLinear(x);  MatMulInteger(xq, Wq [K, N], xz, wz)
//    -> Cast(float) -> Mul(., Mul(xs, ws))  -> tsc.Linear(x, Wq, bias?, ws [1 or N], wz [1 or N]) with
//    w_in_out=1, format="i8": the kernels quantize x as DynamicQuantizeLinear does (templates/cpu/linear_int8.h).
// The weight stays quantized all the way to the payload (compiler/driver/weights.cpp). The op registry
// (ops/quantization.cpp, ops/matmul.cpp) has already checked attributes and constant shapes.
#include "compiler/ir/passes/pass.h"

namespace tsc {
namespace {

bool fuse_nbits(Graph& g, Node& n, const PassContext& ctx) {
  if (!g.constant(n.input(1)) || !g.constant(n.input(2)) || (!n.input(3).empty() && !g.constant(n.input(3)))) {
    ctx.note("fuse-quantized-linear", n.describe() + ": codes, scales or zero points are not constants");
    return false;
  }
  const std::string bias = n.input(5);
  if (!bias.empty() && !g.constant(bias)) {
    ctx.note("fuse-quantized-linear", n.describe() + ": bias is not a constant");
    return false;
  }
  std::map<std::string, Attribute> attrs = {{"w_in_out", int_attr(0)}, {"format", string_attr("q4")},
                                            {"block_size", int_attr(n.attr_i("block_size", 0))}, {"K", int_attr(n.attr_i("K", 0))}};
  n.inputs = {n.input(0), n.input(1), bias, n.input(2), n.input(3)};
  n.op = "Linear";
  n.domain = "tsc";
  n.attrs = std::move(attrs);
  return true;
}

// n: the Mul that scales the int32 product back to float. Returns whether it became a tsc.Linear.
bool fuse_dynamic(Graph& g, const Pat& p, Node& n, const PassContext& ctx) {
  if (n.inputs.size() != 2) return false;
  for (int side = 0; side < 2; ++side) {
    Node* cast = p.def(n.inputs[side], "Cast");
    Node* scales = p.def(n.inputs[1 - side], "Mul");
    Node* mmi = cast ? p.def(cast->inputs[0], "MatMulInteger") : nullptr;
    if (!mmi || !scales || cast->attr_i("to", 0) != static_cast<int64_t>(1) /* FLOAT */) continue;
    Node* dq = p.def(mmi->inputs[0], "DynamicQuantizeLinear");
    if (!dq || mmi->input(2) != dq->output(2)) {
      ctx.note("fuse-quantized-linear", mmi->describe() + ": A is not DynamicQuantizeLinear's output with its zero point");
      return false;
    }
    // Mul(xs, ws) in either order, ws a constant of 1 or N values.
    const std::string ws = scales->inputs[0] == dq->output(1) ? scales->inputs[1] : scales->inputs[1] == dq->output(1) ? scales->inputs[0] : "";
    const Tensor* wq = g.constant(mmi->input(1));
    const Tensor* wsc = g.constant(ws);
    const Tensor* wz = mmi->input(3).empty() ? nullptr : g.constant(mmi->input(3));
    if (!wq || wq->shape.size() != 2 || !wsc || (wsc->numel() != 1 && wsc->numel() != wq->shape[1]) || wsc->dtype != DType::kF32 ||
        (!mmi->input(3).empty() && (!wz || wz->numel() != wsc->numel() || wz->dtype != wq->dtype))) {
      ctx.note("fuse-quantized-linear", mmi->describe() + ": weight, its scale or its zero point is not a constant of one or N values");
      return false;
    }
    n.inputs = {dq->inputs[0], mmi->input(1), "", ws, mmi->input(3)};
    n.op = "Linear";
    n.domain = "tsc";
    n.attrs = {{"w_in_out", int_attr(1)}, {"format", string_attr("i8")}};
    return true;
  }
  return false;
}

}  // namespace

int pass_fuse_quantized_linear(Graph& g, const PassContext& ctx) {
  int rewrites = 0;
  Pat p(g);
  for (auto& np : g.nodes) {
    Node& n = *np;
    if (n.op == "MatMulNBits" && n.domain == "com.microsoft") rewrites += fuse_nbits(g, n, ctx);
    else if (n.is("Mul")) rewrites += fuse_dynamic(g, p, n, ctx);
  }
  return rewrites;
}

}  // namespace tsc
