// DeviceWeights: one upload per payload tensor; the layer table the forward pass reads.
#include "runtime/engine/cuda/weights.h"

#include <cuda_runtime_api.h>

#include <algorithm>

#include "runtime/core/linear_weight.h"
#include "runtime/engine/cuda/device.h"

namespace tsc::cuda {

DeviceWeights::DeviceWeights(const Payload& p, int64_t num_layers) : p_(p) {
  const DecoderSpec& s = p.spec();
  const int64_t H = s.hidden_size, Q = s.num_attention_heads * s.head_dim, KV = s.num_key_value_heads * s.head_dim;
  const int64_t I = s.intermediate_size, U = s.mlp_gated ? 2 * I : I;
  get("embed_tokens");
  lm_head_ = projection("lm_head", s.vocab_size, H);
  for (int64_t l = 0; l < num_layers; ++l) {
    const std::string pre = "layers." + std::to_string(l) + ".";
    LayerWeights L;
    L.attn_norm_w = f32_or_null(pre + "attn_norm_w");
    L.attn_norm_b = f32_or_null(pre + "attn_norm_b");
    L.qkv_w = projection(pre + "qkv_w", Q + 2 * KV, H);
    L.qkv_b = f32_or_null(pre + "qkv_b");
    L.o_w = projection(pre + "o_w", H, Q);
    L.o_b = f32_or_null(pre + "o_b");
    L.mlp_norm_w = f32_or_null(pre + "mlp_norm_w");
    L.mlp_norm_b = f32_or_null(pre + "mlp_norm_b");
    L.up_w = projection(pre + "up_w", U, H);
    L.up_b = f32_or_null(pre + "up_b");
    L.down_w = projection(pre + "down_w", H, I);
    L.down_b = f32_or_null(pre + "down_b");
    layers_.push_back(L);
  }
}

// A projection in the payload's format for it (checked by read_linear_weight), uploaded as stored.
ProjWeight DeviceWeights::projection(const std::string& name, int64_t out, int64_t in) {
  const LinearWeight lw = read_linear_weight(p_, name, out, in);
  ProjWeight w;
  if (lw.format == WeightFormat::kDense) {
    w.dense = get(name);
    return w;
  }
  w.q4.codes = static_cast<const uint8_t*>(get(q4_codes_name(name)));
  w.q4.scales = get(q4_scales_name(name));
  w.q4.zero_points = lw.zero_points ? static_cast<const uint8_t*>(get(q4_zero_points_name(name))) : nullptr;
  max_q4_elems_ = std::max(max_q4_elems_, out * in);
  return w;
}

DeviceWeights::~DeviceWeights() {
  for (void* w : owned_) cudaFree(w);
}

void* DeviceWeights::upload(const std::string& name) {
  const auto& e = p_.entry(name);
  void* d = nullptr;
  check(cudaMalloc(&d, std::max<size_t>(e.nbytes, 16)), "allocating GPU memory for weights");
  check(cudaMemcpy(d, p_.data(name), e.nbytes, cudaMemcpyHostToDevice), "uploading weights");
  owned_.push_back(d);
  return d;
}

// An alias (same bytes of the payload, e.g. a tied LM head) maps to the device copy already made.
const void* DeviceWeights::get(const std::string& name) {
  auto it = by_name_.find(name);
  if (it != by_name_.end()) return it->second;
  const auto& e = p_.entry(name);
  for (auto& [n, ptr] : by_name_)
    if (p_.entry(n).offset == e.offset && p_.entry(n).nbytes == e.nbytes) return by_name_[name] = ptr;
  return by_name_[name] = upload(name);
}

const float* DeviceWeights::f32_or_null(const std::string& name) { return p_.has(name) ? static_cast<const float*>(get(name)) : nullptr; }

}  // namespace tsc::cuda
