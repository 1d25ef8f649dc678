// DecoderSpec: the model recovered from the graph, in HF config.json vocabulary; recorded in the payload and read
// by the backends. Its weight bindings stay in the compiler (compiler/lift/bindings.h).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "contract/dtype.h"

namespace tsc {

enum class NormKind { kLayerNorm, kRMSNorm };
enum class Activation { kGeluTanh, kGelu, kSilu };
enum class PositionKind { kLearned, kRope };
// Normalization of q and k between the projections and the rotary: none, RMSNorm of each head (Qwen3's q_norm /
// k_norm, weights [head_dim]), or RMSNorm over all heads of q and of k (OLMo 2's, weights [heads * head_dim]).
enum class QkNorm { kNone, kPerHead, kAllHeads };

// The weight format of a model whose file keeps its projections quantized (--emit=spec, `info`).
struct Quantization {
  std::string format = "int4";    // int4 (MatMulNBits: block_size), int8 / uint8 (MatMulInteger: block_size 0, one
                                  // scale per tensor or column, activations quantized per step as the graph does)
  int64_t bits = 4, block_size = 0;
  bool zero_points = false;       // false: symmetric (zero point 8)
  DType scale_dtype = DType::kF32;
  int64_t quantized_linears = 0;  // projections kept quantized, of
  int64_t linears = 0;            // all projections (embedding excluded; the LM head included)
  std::string quantized_by = "file";  // "file": kept as the ONNX file has it; "tsc": tsc --weight-dtype quantized
                                      // the float weights (compiler/driver/quantize.h: int4 symmetric, int8 per row)
  bool tied_head = false;  // tsc --head-dtype int4: the tied embedding / LM head matrix in the projections' 4-bit
                           // format too (payload lm_head.q4, no embed_tokens table: rows are gathered dequantized)
};

struct DecoderSpec {
  // HF config.json names
  int64_t num_hidden_layers = 0;
  int64_t hidden_size = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  int64_t head_dim = 0;
  int64_t intermediate_size = 0;
  int64_t vocab_size = 0;
  std::optional<int64_t> max_position_embeddings;  // learned positions: from the table; rope: from config.json if present
  std::optional<double> rope_theta;
  bool tie_word_embeddings = false;
  // What the graph says and config.json does not
  NormKind norm = NormKind::kLayerNorm;
  double norm_eps = 1e-5;
  Activation activation = Activation::kGeluTanh;
  bool mlp_gated = false;
  PositionKind position = PositionKind::kLearned;
  int64_t rotary_dim = 0;         // channels rotated per head (== head_dim unless partial rotary)
  bool rope_interleaved = false;  // GPT-J style pairs (2i, 2i+1) instead of halves (i, i+d/2)
  bool attention_bias = false;
  bool mlp_bias = false;
  bool lm_head_bias = false;
  double attention_scale = 0;     // multiplies q·k (usually 1/sqrt(head_dim))
  // Family features (HF config.json names where they exist), all folded into weight bindings (kScale)
  // at compile time, so the kernels never see them; printed only when the model has them.
  std::optional<double> embedding_multiplier;  // Granite; Gemma's sqrt(hidden_size): embeddings x m (folded into
                                               // embed_tokens, and 1/m into the final norm when the head is tied)
  std::optional<double> residual_multiplier;   // Granite: x += m * branch (folded into o_proj and down_proj)
  std::optional<double> logits_scaling;        // Granite: logits / s (folded into the final norm)
  std::optional<double> rope_scaling_factor;   // Llama 3.x: low rotary frequencies divided by this (rope_parameters'
                                               // factor), read off the graph's inv_freq, which the runtime uses as is
  // Family features the kernels implement (printed only when present):
  QkNorm qk_norm = QkNorm::kNone;        // Qwen3 / OLMo 2: RMSNorm of q and k before the rotary (eps = norm_eps)
  bool post_norm = false;                // OLMo 2: no norm before the projections; attn_norm_w/mlp_norm_w normalize
                                         // the attention and MLP outputs before their residual adds
  bool sandwich_norm = false;            // Gemma 2/3: norms before the projections (attn_norm_w/mlp_norm_w) and on the
                                         // branch outputs before their residual adds (post_attn_norm_w/post_mlp_norm_w)
  std::optional<double> attn_logit_softcapping;   // Gemma 2: scores s -> c tanh(s / c) before the softmax (s scaled)
  std::optional<double> final_logit_softcapping;  // Gemma 2/3: logits z -> c tanh(z / c)
  std::optional<double> query_pre_attn_scalar;    // Gemma 2/3: attention_scale = query_pre_attn_scalar^-1/2, printed
                                                  // when the model is sandwich-normed (Gemma's name for the scale)
  std::vector<int64_t> no_rope_layers;   // SmolLM3 (HF's name and convention): [num_hidden_layers], 1 where the layer
                                         // applies the rotary, 0 where it has none (NoPE); empty: every layer has it
  bool layer_rope(int64_t l) const {
    return position == PositionKind::kRope && (no_rope_layers.empty() || no_rope_layers[static_cast<size_t>(l)] != 0);
  }
  DType weight_dtype = DType::kF32;  // element type of the exported weights
  std::optional<Quantization> quantization;  // projections kept quantized as the file has them

  // Checks internal consistency (head counts divide, sizes, rotary). Throws tsc::Error.
  void validate() const;
};

std::string norm_name(NormKind k);
std::string activation_name(Activation a);
std::string position_name(PositionKind p);
std::string qk_norm_name(QkNorm q);  // "none", "per_head", "all_heads"

// JSON with HF config.json names where one exists (tsc --emit=spec --json, the payload's "spec" record).
nlohmann::json spec_to_json(const DecoderSpec& s);
DecoderSpec spec_from_json(const nlohmann::json& j);  // inverse of spec_to_json
// Stable human-readable text form (the head of tsc --emit=spec, model_server info).
std::string spec_to_text(const DecoderSpec& s);

// Shortest decimal that reads back as the same float32: eps and theta come from float32 constants,
// and 1e-06 reads better (and compares equal to config.json) than 9.99999997e-07.
double round_to_float32_repr(double v);

}  // namespace tsc
