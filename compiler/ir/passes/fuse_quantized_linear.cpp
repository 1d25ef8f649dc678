// fuse-quantized-linear: com.microsoft MatMulNBits (4-bit blocks, constant codes) -> tsc.Linear that keeps the codes.
// tsc.Linear(x [.., K], codes [N, n_blocks, block_size/2] u8, bias? [N], scales [N * n_blocks], zero_points?)
// with w_in_out=0 (codes are stored per output row), format="q4", block_size, K: the weight stays quantized all the
// way to the payload (compiler/driver/weights.cpp) and the kernels dequantize it (templates/cpu/linear_quant.h).
// The op registry (ops/quantization.cpp) has already checked every attribute and constant shape.
#include "compiler/ir/passes/pass.h"

namespace tsc {

int pass_fuse_quantized_linear(Graph& g, const PassContext& ctx) {
  int rewrites = 0;
  for (auto& np : g.nodes) {
    Node& n = *np;
    if (n.op != "MatMulNBits" || n.domain != "com.microsoft") continue;
    if (!g.constant(n.input(1)) || !g.constant(n.input(2)) || (!n.input(3).empty() && !g.constant(n.input(3)))) {
      ctx.note("fuse-quantized-linear", n.describe() + ": codes, scales or zero points are not constants");
      continue;
    }
    const std::string bias = n.input(5);
    if (!bias.empty() && !g.constant(bias)) {
      ctx.note("fuse-quantized-linear", n.describe() + ": bias is not a constant");
      continue;
    }
    Attribute fmt;
    fmt.kind = Attribute::Kind::kString;
    fmt.s = "q4";
    std::map<std::string, Attribute> attrs = {{"w_in_out", int_attr(0)}, {"format", fmt},
                                              {"block_size", int_attr(n.attr_i("block_size", 0))}, {"K", int_attr(n.attr_i("K", 0))}};
    n.inputs = {n.input(0), n.input(1), bias, n.input(2), n.input(3)};
    n.op = "Linear";
    n.domain = "tsc";
    n.attrs = std::move(attrs);
    ++rewrites;
  }
  return rewrites;
}

}  // namespace tsc
