// DeviceWeights: one upload per payload tensor; the layer table the forward pass reads.
#include "runtime/engine/cuda/weights.h"

#include <cuda_runtime_api.h>

#include <algorithm>

#include "contract/linear_weight.h"
#include "contract/payload_tensors.h"
#include "runtime/engine/cuda/device.h"

namespace tsc::cuda {

DeviceWeights::DeviceWeights(const Payload& p, int64_t num_layers) : p_(p) {
  const DecoderSpec& s = p.spec();
  check_payload_tensors(p);
  get(tensors::embed_tokens);
  lm_head_ = projection(tensors::lm_head, s.vocab_size, s.hidden_size);
  for (int64_t l = 0; l < num_layers; ++l)
    layers_.push_back(read_layer_tensors<const float*, ProjWeight>(
        s, l, [&](const std::string& n) { return f32_or_null(n); },
        [&](const std::string& n, int64_t out, int64_t in) { return projection(n, out, in); }));
}

// A projection in the payload's format for it (checked by read_linear_weight), uploaded as stored.
ProjWeight DeviceWeights::projection(const std::string& name, int64_t out, int64_t in) {
  const LinearWeight lw = read_linear_weight(p_, name, out, in);
  ProjWeight w;
  if (lw.format == WeightFormat::kDense) {
    w.dense = get(name);
    return w;
  }
  max_quantized_elems_ = std::max(max_quantized_elems_, out * in);
  if (lw.format == WeightFormat::kI8) {  // codes [out, in], scales [out] f32, zero points [out] (read_linear_weight checked them)
    w.i8.codes = static_cast<const uint8_t*>(get(i8_codes_name(name)));
    w.i8.scales = static_cast<const float*>(get(q4_scales_name(name)));
    w.i8.zero_points = static_cast<const uint8_t*>(get(q4_zero_points_name(name)));
    w.i8.is_signed = lw.dtype == DType::kI8 ? 1 : 0;
    return w;
  }
  w.q4.codes = static_cast<const uint8_t*>(get(q4_codes_name(name)));
  w.q4.scales = get(q4_scales_name(name));
  w.q4.zero_points = lw.zero_points ? static_cast<const uint8_t*>(get(q4_zero_points_name(name))) : nullptr;
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
