// One decoder layer's payload tensors as both backends hold them: the names compiler/driver/weights.cpp writes
// and the [out, in] shape of each projection, read once here for the CPU and the CUDA backend alike.
#pragma once
#include <cstdint>
#include <string>

#include "contract/spec.h"

namespace tsc {

// Vec: a norm weight or bias (null when the model has none); Proj: a projection's weight in its stored format.
template <typename Vec, typename Proj>
struct LayerTensors {
  Vec attn_norm_w{}, attn_norm_b{}, qkv_b{}, o_b{}, mlp_norm_w{}, mlp_norm_b{}, up_b{}, down_b{};
  Vec q_norm_w{}, k_norm_w{};  // [head_dim] each (DecoderSpec::qk_norm), or null
  Proj qkv_w{}, o_w{}, up_w{}, down_w{};  // [q|k|v, H], [H, Q], [gate|up or up, H], [H, I]
};

// Layer l's tensors: vec(name) for the vectors, proj(name, out, in) for the projections (q|k|v and gate|up rows
// fused, as the payload stores them).
template <typename Vec, typename Proj, typename VecFn, typename ProjFn>
LayerTensors<Vec, Proj> read_layer_tensors(const DecoderSpec& s, int64_t l, VecFn&& vec, ProjFn&& proj) {
  const int64_t H = s.hidden_size, Q = s.num_attention_heads * s.head_dim, KV = s.num_key_value_heads * s.head_dim;
  const int64_t I = s.intermediate_size, U = s.mlp_gated ? 2 * I : I;
  const std::string pre = "layers." + std::to_string(l) + ".";
  LayerTensors<Vec, Proj> L;
  L.attn_norm_w = vec(pre + "attn_norm_w");
  L.attn_norm_b = vec(pre + "attn_norm_b");
  L.qkv_w = proj(pre + "qkv_w", Q + 2 * KV, H);
  L.qkv_b = vec(pre + "qkv_b");
  L.q_norm_w = vec(pre + "q_norm_w");
  L.k_norm_w = vec(pre + "k_norm_w");
  L.o_w = proj(pre + "o_w", H, Q);
  L.o_b = vec(pre + "o_b");
  L.mlp_norm_w = vec(pre + "mlp_norm_w");
  L.mlp_norm_b = vec(pre + "mlp_norm_b");
  L.up_w = proj(pre + "up_w", U, H);
  L.up_b = vec(pre + "up_b");
  L.down_w = proj(pre + "down_w", H, I);
  L.down_b = vec(pre + "down_b");
  return L;
}

}  // namespace tsc
