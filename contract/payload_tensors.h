// Every tensor of the payload, one row each: the one definition that compiler/driver/weights.cpp writes through and
// the backends read through (contract/layer_tensors.h, runtime/engine/cpu_backend.cpp, runtime/engine/cuda/*).
// Adding a tensor is one row here (docs/DESIGN.md, "Adding a payload tensor").
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "contract/spec.h"

namespace tsc {

class Payload;

// How a tensor is stored; the layout fixes its dtype:
//   kTable       [rows, cols] in the build's weight dtype, read a row at a time (embeddings);
//   kProjection  [out, in], y = x W^T: dense in the build's weight dtype, or quantized as the file keeps it
//                (contract/linear_weight.h: <name>.q4 / <name>.i8 with .scales and .zero_points);
//   kVector      [rows] f32 (norm weights and biases, rotary frequencies).
enum class TensorLayout { kTable, kProjection, kVector };

// A dimension in terms of the spec: H hidden_size, V vocab_size, Q = heads * head_dim, KV = kv_heads * head_dim,
// QKV = Q + 2 KV (q|k|v rows fused), I intermediate_size, U = 2 I when the MLP is gated ([gate|up] rows) else I,
// QN / KN the q / k norm widths (head_dim per head, else Q / KV), R = rotary_dim / 2; kAny: not fixed by the spec
// (the learned position table's rows); kNone: no such dimension (a vector's cols).
enum class Dim { kNone, kAny, kH, kV, kQ, kKV, kQKV, kI, kU, kQN, kKN, kR };

// The rows. Columns: field (a layer's tensors are named "layers.{i}.<field>"), layout, rows, cols, whether the
// file's quantization may be kept, whether every model has it, and its parts: the lifted weights whose output rows it
// concatenates in order (compiler/lift/bindings.h has bindings of these names; a bias part a model lacks is zeros).
#define TSC_MODEL_TENSORS(X)                                                             \
  X(embed_tokens,    kTable,      kV,   kH,    false, true,  "embed_tokens")             \
  X(embed_positions, kTable,      kAny, kH,    false, false, "embed_positions")          \
  X(lm_head,         kProjection, kV,   kH,    true,  true,  "lm_head")                  \
  X(lm_head_b,       kVector,     kV,   kNone, false, false, "lm_head_b")                \
  X(final_norm_w,    kVector,     kH,   kNone, false, false, "final_norm_w")             \
  X(final_norm_b,    kVector,     kH,   kNone, false, false, "final_norm_b")             \
  X(rope_inv_freq,   kVector,     kR,   kNone, false, false, "rope_inv_freq")
#define TSC_LAYER_TENSORS(X)                                                             \
  X(attn_norm_w,     kVector,     kH,   kNone, false, true,  "attn_norm_w")              \
  X(attn_norm_b,     kVector,     kH,   kNone, false, false, "attn_norm_b")              \
  X(qkv_w,           kProjection, kQKV, kH,    true,  true,  "q_w k_w v_w")              \
  X(qkv_b,           kVector,     kQKV, kNone, false, false, "q_b k_b v_b")              \
  X(q_norm_w,        kVector,     kQN,  kNone, false, false, "q_norm_w")                 \
  X(k_norm_w,        kVector,     kKN,  kNone, false, false, "k_norm_w")                 \
  X(o_w,             kProjection, kH,   kQ,    true,  true,  "o_w")                      \
  X(o_b,             kVector,     kH,   kNone, false, false, "o_b")                      \
  X(post_attn_norm_w, kVector,    kH,   kNone, false, false, "post_attn_norm_w")         \
  X(mlp_norm_w,      kVector,     kH,   kNone, false, true,  "mlp_norm_w")               \
  X(mlp_norm_b,      kVector,     kH,   kNone, false, false, "mlp_norm_b")               \
  X(up_w,            kProjection, kU,   kH,    true,  true,  "gate_w up_w")              \
  X(up_b,            kVector,     kU,   kNone, false, false, "gate_b up_b")              \
  X(down_w,          kProjection, kH,   kI,    true,  true,  "down_w")                   \
  X(down_b,          kVector,     kH,   kNone, false, false, "down_b")             \
  X(post_mlp_norm_w, kVector,     kH,   kNone, false, false, "post_mlp_norm_w")

struct TensorRule {
  const char* field;
  bool per_layer;
  TensorLayout layout;
  Dim rows, cols;
  bool quantizable, required;
  const char* parts;  // space-separated
  std::string name(int64_t layer = -1) const;                 // "embed_tokens", "layers.3.qkv_w"
  std::vector<int64_t> shape(const DecoderSpec& s) const;     // kAny as -1
  std::vector<std::string> part_names() const;
};

// Every row, in payload order: the model's tensors, then one layer's.
const std::vector<TensorRule>& payload_tensors();
int64_t dim_size(Dim d, const DecoderSpec& s);

// The model-level names, for readers: tensors::embed_tokens == "embed_tokens".
namespace tensors {
#define TSC_X(f, ...) inline constexpr char f[] = #f;
TSC_MODEL_TENSORS(TSC_X)
#undef TSC_X
}  // namespace tensors

// Checks every row against a payload: required tables and vectors present, each of its rule's shape and dtype (kAny
// rows free); projections, which may be stored quantized, are checked where read (read_linear_weight). Throws
// tsc::Error naming the tensor.
void check_payload_tensors(const Payload& p);

}  // namespace tsc
