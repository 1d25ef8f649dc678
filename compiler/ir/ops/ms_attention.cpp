// onnxruntime's com.microsoft attention ops as onnxruntime-genai's model builder writes them (contrib_defs.cc):
// GroupQueryAttention (packed or separate QKV, rotary inside with cos/sin caches) and RotaryEmbedding.
// lower-gqa rewrites both into tsc.Attention / tsc.Rope; here they are only typed.
#include "compiler/ir/ops/families.h"
#include "compiler/ir/ops/infer_ctx.h"

namespace tsc::ops {
namespace {

// GroupQueryAttention(query: [b, s, Hq*D] or packed [b, s, (Hq + 2 Hkv)*D], key?, value?: [b, s, Hkv*D],
//   past_key, past_value: [b, Hkv, P, D], seqlens_k: [b] i32, total_sequence_length: [] i32, cos_cache?, sin_cache?,
//   ...){num_heads, kv_num_heads} -> output [b, s, Hq*D], present_key/value [b, Hkv, P + s, D] (past_present_share_buffer
//   off: the present is the past with this step appended). D comes from the query: the past's head dim may be a symbol.
void infer_gqa(InferCtx& c, Node& n) {
  auto q = c.in_shape(n, 0);
  const int64_t hq = n.attr_i("num_heads", 0), hkv = n.attr_i("kv_num_heads", 0);
  const bool packed = n.input(1).empty();
  const auto f = q && q->size() == 3 ? (*q)[2].as_const() : std::nullopt;
  const int64_t heads = packed ? hq + 2 * hkv : hq;
  if (!f || hq <= 0 || hkv <= 0 || *f % heads != 0) { c.set_unknown(n); return; }
  const int64_t d = *f / heads;
  SymShape out = {(*q)[0], (*q)[1], SymExpr(hq * d)};
  c.set(n.outputs[0], c.in_dt(n, 0), out);
  for (int k = 0; k < 2; ++k) {
    auto past = c.in_shape(n, 3 + k);
    if (n.outputs.size() <= static_cast<size_t>(1 + k)) break;
    std::optional<SymShape> ps;
    if (past && past->size() == 4) ps = SymShape{(*q)[0], SymExpr(hkv), (*past)[2] + (*q)[1], SymExpr(d)};
    c.set(n.outputs[1 + k], c.in_dt(n, 0), ps);
  }
}

}  // namespace

void add_ms_attention_ops(OpTable& t) {
  // inputs: query, key?, value?, past_key?, past_value?, seqlens_k, total_sequence_length, cos_cache?, sin_cache?,
  // position_ids?, attention_bias?, head_sink?; outputs: output, present_key, present_value. Only query must be named
  // (packed QKV leaves key and value empty); lower-gqa checks the rest.
  t.add({.domain = "com.microsoft", .op = "GroupQueryAttention", .min_inputs = 1, .min_outputs = 1, .infer = infer_gqa});
  // inputs: input, position_ids, cos_cache, sin_cache; output like input.
  t.add({.domain = "com.microsoft", .op = "RotaryEmbedding", .min_inputs = 4, .min_outputs = 1, .infer = infer_same_shape});
}

}  // namespace tsc::ops
