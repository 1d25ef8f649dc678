// One decoder layer's payload tensors as both backends hold them, one field per TSC_LAYER_TENSORS row
// (contract/payload_tensors.h), read once here for the CPU and the CUDA backend alike.
#pragma once
#include <cstdint>
#include <string>
#include <type_traits>

#include "contract/payload_tensors.h"
#include "contract/spec.h"

namespace tsc {

// Vec: a norm weight, bias or other vector (null when the model has none); Proj: a projection's weight in its stored
// format. Fields: attn_norm_w/b, qkv_w [q|k|v, H] and qkv_b, q_norm_w/k_norm_w (DecoderSpec::qk_norm), o_w [H, Q] and
// o_b, mlp_norm_w/b, up_w [gate|up or up, H] and up_b, down_w [H, I] and down_b.
template <typename Vec, typename Proj>
struct LayerTensors {
#define TSC_X(f, layout, ...) std::conditional_t<TensorLayout::layout == TensorLayout::kProjection, Proj, Vec> f{};
  TSC_LAYER_TENSORS(TSC_X)
#undef TSC_X
};

// Layer l's tensors: vec(name) for the vectors, proj(name, out, in) for the projections (rows fused as the payload
// stores them; out and in from the row's shape rule). A table row in a layer would need a third reader.
template <typename Vec, typename Proj, typename VecFn, typename ProjFn>
LayerTensors<Vec, Proj> read_layer_tensors(const DecoderSpec& s, int64_t l, VecFn&& vec, ProjFn&& proj) {
  const std::string pre = "layers." + std::to_string(l) + ".";
  LayerTensors<Vec, Proj> L;
#define TSC_X(f, layout, rows, cols, ...)                                                              \
  if constexpr (TensorLayout::layout == TensorLayout::kProjection)                                    \
    L.f = proj(pre + #f, dim_size(Dim::rows, s), dim_size(Dim::cols, s));                             \
  else                                                                                                 \
    L.f = vec(pre + #f);
  TSC_LAYER_TENSORS(TSC_X)
#undef TSC_X
  return L;
}

}  // namespace tsc
