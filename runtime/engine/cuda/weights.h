// The payload's weights in GPU memory: uploaded once by name, aliases (a tied LM head) sharing one copy,
// and each layer's pointers gathered for the forward pass.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "contract/layer_tensors.h"
#include "contract/payload.h"
#include "templates/cuda/kernel_table.h"

namespace tsc::cuda {

// A projection's weight on the device in its stored format (contract/linear_weight.h): dense [N, K] in the
// weight type, or 4-bit codes with their scales (q4.codes non-null, dense null), or 8-bit codes with theirs
// (i8.codes non-null).
struct ProjWeight {
  const void* dense = nullptr;
  Q4Weight q4;
  I8Weight i8;
};

// One layer's weights on the device; optional tensors (biases, LayerNorm's b) are null when absent.
using LayerWeights = LayerTensors<const float*, ProjWeight>;

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
  const ProjWeight& lm_head() const { return lm_head_; }
  // Whether any projection is quantized (4- or 8-bit), and the largest one's N * K (the dequantization scratch's
  // elements).
  bool any_quantized() const { return max_quantized_elems_ > 0; }
  int64_t max_quantized_elems() const { return max_quantized_elems_; }

 private:
  void* upload(const std::string& name);
  ProjWeight projection(const std::string& name, int64_t out, int64_t in);
  const Payload& p_;
  ProjWeight lm_head_;
  int64_t max_quantized_elems_ = 0;
  std::vector<void*> owned_;
  std::map<std::string, void*> by_name_;
  std::vector<LayerWeights> layers_;
};

}  // namespace tsc::cuda
