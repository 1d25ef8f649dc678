// Lifting: the canonical graph (tsc.Linear/LayerNorm/RMSNorm/Gelu/Silu/Rope/Attention) -> DecoderSpec + weight bindings.
#pragma once
#include <iosfwd>
#include <string>

#include "compiler/ir/graph.h"
#include "compiler/lift/bindings.h"
#include "contract/spec.h"

namespace tsc {

struct LiftOptions {
  bool verbose = false;
  std::ostream* log = nullptr;
};

// Walks the residual stream from the token embedding to the logits, recognizing each block from
// structure. Throws tsc::Error naming the node and the pattern that failed. Every node left in the
// graph must belong to a recognized part, so an unknown op inside a block is reported, never ignored.
LiftResult lift_decoder(const Graph& g, const LiftOptions& opt = {});

// Sets r.spec.quantization when projections are bound to quantized codes; refuses mixed block sizes or scale types.
void summarize_quantization(LiftResult& r);

// Refuses, naming it, a family feature of config.json (HF) that tsc does not implement: sliding-window layers,
// logit soft-capping, sequence-length-dependent rotary scaling (compiler/lift/family_refusals.cpp). Throws tsc::Error.
void refuse_unimplemented_features(const std::string& config_json_text);

// Cross-checks a recovered spec against a HF config.json (text) and fills what the graph cannot say
// (max_position_embeddings for computed rotary). Returns one line per disagreement. onnxruntime-genai's
// genai_config.json is read the same way, its model.decoder keys mapped to HF's names.
std::vector<std::string> reconcile_with_config(DecoderSpec& spec, const std::string& config_json_text);

}  // namespace tsc
