// dequantize-tables: DequantizeLinear of a constant table -> the float constant onnxruntime computes from it.
// quantize_dynamic quantizes a Gather's table as Gather(Wq [V, H], ids) -> DequantizeLinear(., scale, zero_point)
// (token and position embeddings) and a tied head as Transpose(Wq) -> DequantizeLinear -> MatMul. With one scale
// and zero point per tensor the Gather and the Transpose commute with the dequantization, so all become float tables:
// (q - zero_point) * scale, one float multiply per value as onnxruntime's DequantizeLinear rounds it. Per-axis
// scales are folded where the DequantizeLinear reads the constant itself. These tables are the only weights of
// such a file that are expanded: the MatMulInteger projections stay int8 (fuse-quantized-linear).
#include "compiler/ir/passes/pass.h"

namespace tsc {
namespace {

// (q - z) * s for every value of the constant q; s and z per tensor or per slice of `axis`.
Tensor dequantize(const Tensor& q, const Tensor& s, const Tensor* z, int64_t axis) {
  Tensor out = Tensor::alloc(s.dtype == DType::kF16 ? DType::kF16 : DType::kF32, q.shape);
  int64_t inner = 1;
  for (size_t d = static_cast<size_t>(axis) + 1; d < q.shape.size(); ++d) inner *= q.shape[d];
  const int64_t groups = s.numel();
  for (int64_t i = 0; i < q.numel(); ++i) {
    const int64_t c = groups == 1 ? 0 : (i / inner) % groups;
    const float scale = static_cast<float>(s.f64(c));
    const float zero = z ? static_cast<float>(z->f64(c)) : 0.f;
    out.set_f64(i, static_cast<float>(static_cast<float>(q.f64(i)) - zero) * scale);
  }
  return out;
}

}  // namespace

int pass_dequantize_tables(Graph& g, const PassContext& ctx) {
  int rewrites = 0;
  Pat p(g);
  for (auto& np : g.nodes) {
    Node& n = *np;
    if (!n.is("DequantizeLinear")) continue;
    const Tensor* s = g.constant(n.input(1));
    const Tensor* z = n.input(2).empty() ? nullptr : g.constant(n.input(2));
    if (!s || (!n.input(2).empty() && !z)) {
      ctx.note("dequantize-tables", n.describe() + ": scale or zero point is not a constant");
      continue;
    }
    const std::string& x = n.inputs[0];
    const std::string folded = n.outputs[0] + "_dequantized";
    if (const Tensor* q = g.constant(x)) {
      // The op registry checked the scale's length against the axis.
      const int64_t rank = static_cast<int64_t>(q->shape.size()), a = n.attr_i("axis", 1);
      g.constants[folded] = dequantize(*q, *s, z, s->numel() == 1 ? 0 : (a < 0 ? a + rank : a));
      n.op = "Identity";  // fuse-linear's weight resolution and the fold pass see through it
      n.inputs = {folded};
      n.attrs.clear();
      ++rewrites;
      continue;
    }
    // Gather(Wq, ids) -> DQ  ==>  Gather(DQ(Wq), ids), and Transpose(Wq) -> DQ  ==>  Transpose(DQ(Wq)): this node
    // becomes the Gather or Transpose of the folded table.
    Node* view = p.def(x);
    const Tensor* table = view && (view->is("Gather") || view->is("Transpose")) ? g.constant(view->inputs[0]) : nullptr;
    if (!table || s->numel() != 1 || p.uses(x) != 1) {
      ctx.note("dequantize-tables", n.describe() + ": input is neither a constant nor a Gather or Transpose of one, with one scale");
      continue;
    }
    g.constants[folded] = dequantize(*table, *s, z, 0);
    n.op = view->op;
    n.inputs = view->inputs;
    n.inputs[0] = folded;
    n.attrs = view->attrs;
    ++rewrites;
  }
  return rewrites;
}

}  // namespace tsc
