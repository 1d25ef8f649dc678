// fuse-head-norm: an RMSNorm over head_dim of q or k split into heads (Qwen3's q_norm / k_norm: Linear ->
// Reshape [b, s, H, D] -> RMSNorm over D -> Transpose -> rotary) -> tsc.HeadRMSNorm on the token-major tensor the
// heads were split from, followed by the same head split:
//   tsc.HeadRMSNorm(x: [b, s, H*D], w: [D]){head_dim, epsilon} -> [b, s, H*D], each head's D channels normalized
// so that fuse-rope finds the token-major source it needs, and the lifter reads q/k norm weights off one node.
#include "compiler/ir/passes/head_split.h"
#include "compiler/ir/passes/pass.h"

namespace tsc {

int pass_fuse_head_norm(Graph& g, const PassContext& ctx) {
  int rewrites = 0;
  Pat p(g);
  Replacements replaced;
  for (auto& np : g.nodes) {
    Node* n = np.get();
    if (!n->is_tsc("RMSNorm")) continue;
    auto rank = g.rank(n->inputs[0]);
    if (!rank || *rank != 4) continue;  // the residual stream's norms are [b, s, H]
    std::string why;
    auto src = head_source(p, n->inputs[0], /*scalings=*/false, &why);
    if (!src) { ctx.note("fuse-head-norm", n->describe() + ": " + why); continue; }
    const Tensor* w = g.constant(n->inputs[1]);
    if (src->heads <= 0 || src->head_dim <= 0 || !w || w->numel() != src->head_dim) {
      ctx.note("fuse-head-norm", n->describe() + ": not a norm of each head's head_dim channels with a [head_dim] weight");
      continue;
    }
    auto hn = std::make_unique<Node>();
    hn->op = "HeadRMSNorm";
    hn->domain = "tsc";
    hn->name = n->name;
    hn->inputs = {src->value, n->inputs[1]};
    hn->attrs = {{"head_dim", int_attr(src->head_dim)}, {"epsilon", n->attrs.at("epsilon")}};
    replace_on_token_major(g, *src, std::move(hn), n, "head_norm", replaced);
    ++rewrites;
  }
  if (rewrites) splice_replacements(g, replaced);
  return rewrites;
}

}  // namespace tsc
