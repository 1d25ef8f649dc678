// The payload tensor table: rows from TSC_MODEL_TENSORS / TSC_LAYER_TENSORS, shape rules and the payload check.
#include "contract/payload_tensors.h"

#include <sstream>

#include "contract/error.h"
#include "contract/payload.h"

namespace tsc {

const std::vector<TensorRule>& payload_tensors() {
  static const std::vector<TensorRule> rows = {
#define TSC_MODEL_ROW(f, layout, rows, cols, q, req, parts) {#f, false, TensorLayout::layout, Dim::rows, Dim::cols, q, req, parts},
#define TSC_LAYER_ROW(f, layout, rows, cols, q, req, parts) {#f, true, TensorLayout::layout, Dim::rows, Dim::cols, q, req, parts},
      TSC_MODEL_TENSORS(TSC_MODEL_ROW) TSC_LAYER_TENSORS(TSC_LAYER_ROW)
#undef TSC_MODEL_ROW
#undef TSC_LAYER_ROW
  };
  return rows;
}

int64_t dim_size(Dim d, const DecoderSpec& s) {
  const int64_t Q = s.num_attention_heads * s.head_dim, KV = s.num_key_value_heads * s.head_dim, I = s.intermediate_size;
  const bool per_head = s.qk_norm == QkNorm::kPerHead;
  switch (d) {
    case Dim::kNone: return 0;
    case Dim::kAny: return -1;
    case Dim::kH: return s.hidden_size;
    case Dim::kV: return s.vocab_size;
    case Dim::kQ: return Q;
    case Dim::kKV: return KV;
    case Dim::kQKV: return Q + 2 * KV;
    case Dim::kI: return I;
    case Dim::kU: return s.mlp_gated ? 2 * I : I;
    case Dim::kQN: return per_head ? s.head_dim : Q;
    case Dim::kKN: return per_head ? s.head_dim : KV;
    case Dim::kR: return s.rotary_dim / 2;
  }
  return 0;
}

std::string TensorRule::name(int64_t layer) const { return per_layer ? "layers." + std::to_string(layer) + "." + field : field; }

std::vector<int64_t> TensorRule::shape(const DecoderSpec& s) const {
  if (cols == Dim::kNone) return {dim_size(rows, s)};
  return {dim_size(rows, s), dim_size(cols, s)};
}

std::vector<std::string> TensorRule::part_names() const {
  std::vector<std::string> out;
  std::istringstream in(parts);
  for (std::string p; in >> p;) out.push_back(p);
  return out;
}

void check_payload_tensors(const Payload& p) {
  const DecoderSpec& s = p.spec();
  const char* hint = "rebuild the executable with this version of tsc";
  auto check = [&](const TensorRule& r, const std::string& name) {
    // A projection may be stored quantized under other names (<name>.q4, ...): read_linear_weight checks it.
    if (r.layout == TensorLayout::kProjection) return;
    if (!p.has(name)) {
      // --head-dtype int4: the tied table is the LM head's 4-bit blocks, gathered a dequantized row at a time.
      const bool in_head = name == tensors::embed_tokens && s.quantization && s.quantization->tied_head;
      if (r.required && !in_head) throw Error("the payload has no tensor '" + name + "'", hint);
      return;
    }
    const TensorEntry& e = p.entry(name);
    std::vector<int64_t> want = r.shape(s);
    if (want[0] < 0 && !e.shape.empty()) want[0] = e.shape[0];
    const DType dt = r.layout == TensorLayout::kVector ? DType::kF32 : p.options().weight_dtype;
    if (e.shape != want || e.dtype != dt)
      throw Error("payload tensor '" + name + "' is " + tensor_type_str(e.dtype, e.shape) + ", the spec needs " + tensor_type_str(dt, want), hint);
  };
  for (const TensorRule& r : payload_tensors()) {
    if (!r.per_layer) check(r, r.name());
    else
      for (int64_t l = 0; l < s.num_hidden_layers; ++l) check(r, r.name(l));
  }
}

}  // namespace tsc
