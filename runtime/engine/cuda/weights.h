// The payload's weights in GPU memory: uploaded once by name, aliases (a tied LM head) sharing one copy,
// and each layer's pointers gathered for the forward pass.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "runtime/core/payload.h"

namespace tsc::cuda {

// One layer's weights on the device; optional tensors (biases, LayerNorm's b) are null when absent.
struct LayerWeights {
  const float *attn_norm_w = nullptr, *attn_norm_b = nullptr, *qkv_b = nullptr, *o_b = nullptr;
  const float *mlp_norm_w = nullptr, *mlp_norm_b = nullptr, *up_b = nullptr, *down_b = nullptr;
  const void *qkv_w = nullptr, *o_w = nullptr, *up_w = nullptr, *down_w = nullptr;
};

class DeviceWeights {
 public:
  // Uploads the embedding, the LM head and every layer's tensors.
  DeviceWeights(const Payload& p, int64_t num_layers);
  ~DeviceWeights();
  DeviceWeights(const DeviceWeights&) = delete;
  DeviceWeights& operator=(const DeviceWeights&) = delete;

  // The device copy of a payload tensor, uploaded on first use.
  const void* get(const std::string& name);
  // The same for an optional float32 tensor: null when the payload lacks it.
  const float* f32_or_null(const std::string& name);
  const LayerWeights& layer(int64_t l) const { return layers_[static_cast<size_t>(l)]; }

 private:
  void* upload(const std::string& name);
  const Payload& p_;
  std::vector<void*> owned_;
  std::map<std::string, void*> by_name_;
  std::vector<LayerWeights> layers_;
};

}  // namespace tsc::cuda
