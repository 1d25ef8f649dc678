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
// (q|k|v, gate|up), dense in `wd`, or as 4-bit codes, scales and zero points when the file keeps them so.
void add_linear_weight(PayloadWriter& pw, const Graph& g, const std::string& name, const std::vector<const WeightBinding*>& parts, DType wd);

// Adds every weight the runtime reads (names documented in runtime/engine/cpu_backend.cpp):
// embed_tokens, embed_positions, lm_head (an alias when tied), final_norm_*, rope_inv_freq and per layer
// attn_norm_*, qkv_w/qkv_b (q|k|v rows fused), o_*, mlp_norm_*, up_w/up_b ([gate|up] rows when gated), down_*.
void add_model_weights(PayloadWriter& w, const Graph& g, const LiftResult& r, const KernelPlan& plan);

}  // namespace tsc
