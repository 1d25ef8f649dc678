// Weight materialization: ONNX initializers -> canonical tensors of the payload, in the build's dtype.
#pragma once
#include <cstdint>
#include <vector>

#include "compiler/ir/graph.h"
#include "compiler/lift/bindings.h"
#include "compiler/plan/plan.h"
#include "contract/payload.h"

namespace tsc {

// The binding's tensor in canonical layout (transposes and slices applied), converted to `out`.
std::vector<uint8_t> materialize(const Graph& g, const WeightBinding& w, DType out);

// Adds one projection's weight under `name` (contract/linear_weight.h): the parts' output rows concatenated
// (q|k|v, gate|up), dense in `wd`, or as 4-bit codes, scales and zero points when the file keeps them so; with
// `compile_time` (tsc --weight-dtype), quantized in its format from the file's floats (compiler/driver/quantize.h).
void add_linear_weight(PayloadWriter& pw, const Graph& g, const std::string& name, const std::vector<const WeightBinding*>& parts, DType wd,
                       const Quantization* compile_time = nullptr);

// Adds every tensor of contract/payload_tensors.h's table the model has, in its order, from the bindings its parts
// name (q|k|v rows fused into qkv_w, [gate|up] into up_w); lm_head is an alias of embed_tokens when tied.
void add_model_weights(PayloadWriter& w, const Graph& g, const LiftResult& r, const KernelPlan& plan);

}  // namespace tsc
