// DeviceWeights: one upload per payload tensor; the layer table the forward pass reads.
#include "runtime/engine/cuda/weights.h"

#include <cuda_runtime_api.h>

#include <algorithm>

#include "runtime/engine/cuda/device.h"

namespace tsc::cuda {

DeviceWeights::DeviceWeights(const Payload& p, int64_t num_layers) : p_(p) {
  get("embed_tokens");
  get("lm_head");
  for (int64_t l = 0; l < num_layers; ++l) {
    const std::string pre = "layers." + std::to_string(l) + ".";
    LayerWeights L;
    L.attn_norm_w = f32_or_null(pre + "attn_norm_w");
    L.attn_norm_b = f32_or_null(pre + "attn_norm_b");
    L.qkv_w = get(pre + "qkv_w");
    L.qkv_b = f32_or_null(pre + "qkv_b");
    L.o_w = get(pre + "o_w");
    L.o_b = f32_or_null(pre + "o_b");
    L.mlp_norm_w = f32_or_null(pre + "mlp_norm_w");
    L.mlp_norm_b = f32_or_null(pre + "mlp_norm_b");
    L.up_w = get(pre + "up_w");
    L.up_b = f32_or_null(pre + "up_b");
    L.down_w = get(pre + "down_w");
    L.down_b = f32_or_null(pre + "down_b");
    layers_.push_back(L);
  }
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
