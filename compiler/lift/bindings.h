// What lift binds besides the DecoderSpec: every canonical weight to the ONNX initializer it comes from, and the
// graph's input/output names. Compiler-only: the payload carries the tensors materialized from these
// (compiler/driver/weights.cpp, contract/payload_tensors.h), never the bindings themselves.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "contract/spec.h"

namespace tsc {

// One step of the transform from an ONNX initializer to tsc's canonical layout.
struct WeightOp {
  // kScale folds a family's constant factor into the weight at compile time (Granite's multipliers, Gemma's
  // embedding x sqrt(hidden)): every element becomes v * value.
  enum class Kind { kTranspose, kSlice, kScale };
  Kind kind = Kind::kTranspose;
  int64_t axis = 0, start = 0, length = 0;  // kSlice: rows/cols [start, start+length) of axis (after earlier ops)
  double value = 0;                         // kScale: the factor
};

// A linear weight the file keeps in 4-bit blocks (com.microsoft MatMulNBits): the binding's initializer holds the
// codes [out, n_blocks, block_size/2] u8 and these name the rest; row slices (kSlice on axis 0) select output rows of
// all three. The codes are never expanded to floats (compiler/driver/weights.cpp, contract/linear_weight.h).
struct QuantizedWeight {
  int64_t block_size = 0;
  std::string scales;       // [out * n_blocks] f32 or f16
  std::string zero_points;  // [out, ceil(n_blocks / 2)] u8, two 4-bit points per byte; "" = symmetric (8)
  DType scale_dtype = DType::kF32;
};

// A linear weight the file keeps in 8 bits (quantize_dynamic: MatMulInteger after DynamicQuantizeLinear): the
// binding's initializer holds the codes [in, out] as int8 or uint8 (its source dtype; the binding's transpose makes
// them [out, in]) and these name the scale and zero point, one per tensor or one per output column. The codes are
// never expanded; the input is quantized at run time as DynamicQuantizeLinear does (templates/cpu/linear_int8.h).
struct Int8Weight {
  std::string scales;       // [1] or [out] f32
  std::string zero_points;  // [1] or [out], the codes' dtype; "" = 0
};

// Binds a canonical weight to the initializer it comes from. Canonical layouts:
//   linear weights [out_features, in_features] (row-major, as torch.nn.Linear), biases [out_features],
//   embeddings [vocab, hidden], positions [max_pos, hidden], norm weights/biases [hidden].
struct WeightBinding {
  std::string initializer;             // ONNX initializer name (names are not trusted for meaning, only for lookup)
  DType source_dtype = DType::kF32;    // element type in the file
  std::vector<int64_t> source_shape;
  std::vector<WeightOp> ops;           // applied in order
  std::vector<int64_t> shape;          // canonical shape after ops ([out, in] for quantized weights too)
  std::optional<QuantizedWeight> q4;   // set when the initializer holds MatMulNBits codes
  std::optional<Int8Weight> i8;        // set when it holds MatMulInteger's int8/uint8 weight
  std::string transform_str() const;   // "transpose", "slice(1,0,64)", "scale(0.22)", "none"
};

// One layer's bindings, by the HF projection they come from (q, k, v and gate, up apart: the payload tensors fuse
// them; contract/payload_tensors.h names each tensor's parts by these fields).
#define TSC_LAYER_BINDINGS(X) \
  X(attn_norm_w) X(attn_norm_b) X(q_w) X(q_b) X(k_w) X(k_b) X(v_w) X(v_b) X(o_w) X(o_b) X(q_norm_w) X(k_norm_w) X(mlp_norm_w) \
  X(mlp_norm_b) X(up_w) X(up_b) X(gate_w) X(gate_b) X(down_w) X(down_b) X(post_attn_norm_w) X(post_mlp_norm_w)

struct LayerWeights {
#define TSC_X(f) std::optional<WeightBinding> f;  // q_norm_w, k_norm_w: DecoderSpec::qk_norm's; gate_* only when gated
  TSC_LAYER_BINDINGS(TSC_X)
#undef TSC_X
  const WeightBinding* find(const std::string& field) const;  // null when absent; throws for a field that is none
};

// Every weight of the model, bound to the graph.
struct ModelBindings {
  WeightBinding embed_tokens;
  std::optional<WeightBinding> embed_positions;
  std::optional<WeightBinding> final_norm_w, final_norm_b;
  WeightBinding lm_head;  // [vocab, hidden]; same initializer as embed_tokens when tied
  std::optional<WeightBinding> lm_head_b;
  std::vector<float> rope_inv_freq;  // [rotary_dim / 2], exactly as the graph computes angles = pos * inv_freq
  std::vector<LayerWeights> layers;
  const WeightBinding* find(const std::string& field) const;  // a model-level binding by name, as LayerWeights::find
};

// Names of the graph's inputs/outputs, so tools can feed the original model the same way.
struct ModelIO {
  std::string input_ids, attention_mask, position_ids, logits;
  std::vector<std::string> past_keys, past_values, present_keys, present_values;  // per layer, when the export has a KV cache
  bool kv_cache() const { return !past_keys.empty(); }
};

// What lift hands on: the model (the contract's DecoderSpec, recorded in the payload) and what only the compiler needs.
struct LiftResult {
  DecoderSpec spec;
  ModelBindings weights;
  ModelIO io;
  // spec.validate(), then one layer of bindings per layer and the spec's shape for every binding. Throws tsc::Error.
  void validate() const;
};

// Stable human-readable text (tsc --emit=spec): spec_to_text, then one line per binding and the graph's io names.
std::string lift_result_to_text(const LiftResult& r);

}  // namespace tsc
