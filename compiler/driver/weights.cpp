// Canonicalizing weights: blocked transposes and row slices over the mapped initializers.
#include "compiler/driver/weights.h"

#include <cstring>

#include "runtime/core/error.h"

namespace tsc {
namespace {

// Reads element i of a tensor of any float dtype as float, with typed fast paths.
struct SourceReader {
  const Tensor& t;
  float operator()(int64_t i) const {
    switch (t.dtype) {
      case DType::kF32: { float v; std::memcpy(&v, static_cast<const uint8_t*>(t.data) + 4 * i, 4); return v; }
      case DType::kF16: { uint16_t v; std::memcpy(&v, static_cast<const uint8_t*>(t.data) + 2 * i, 2); return f16_to_f32(v); }
      case DType::kBF16: { uint16_t v; std::memcpy(&v, static_cast<const uint8_t*>(t.data) + 2 * i, 2); return bf16_to_f32(v); }
      default: return static_cast<float>(t.f64(i));
    }
  }
};

void store(uint8_t* dst, int64_t i, float v, DType out) {
  switch (out) {
    case DType::kF32: std::memcpy(dst + 4 * i, &v, 4); break;
    case DType::kF16: { uint16_t h = f32_to_f16(v); std::memcpy(dst + 2 * i, &h, 2); break; }
    case DType::kBF16: { uint16_t h = f32_to_bf16(v); std::memcpy(dst + 2 * i, &h, 2); break; }
    default: throw Error("unsupported payload dtype " + dtype_name(out), "use f32, f16 or bf16");
  }
}

std::vector<uint8_t> concat_rows(const std::vector<std::vector<uint8_t>>& parts) {
  std::vector<uint8_t> r;
  for (auto& p : parts) r.insert(r.end(), p.begin(), p.end());
  return r;
}

}  // namespace

std::vector<uint8_t> materialize(const Graph& g, const WeightBinding& w, DType out) {
  const Tensor* t = g.constant(w.initializer);
  if (!t) throw Error("weight '" + w.initializer + "' is not a constant of the graph", "this is a bug in tsc");
  // Scale ops (a family's constants folded into the weight) act on values; the view ops below (transpose,
  // slice) on positions, so the two commute.
  const SourceReader src_rd{*t};
  auto rd = [&](int64_t i) {
    float v = src_rd(i);
    for (auto& op : w.ops)
      if (op.kind == WeightOp::Kind::kScale) v = static_cast<float>(v * op.value);
    return v;
  };
  const int64_t n = [&] { int64_t k = 1; for (auto d : w.shape) k *= d; return k; }();
  std::vector<uint8_t> buf(static_cast<size_t>(n) * dtype_size(out));
  if (t->shape.size() == 2 && w.shape.size() == 2) {
    // View: canonical (i, j) -> source (i + r0, j + c0) or, transposed, (j + c0, i + r0) of the source.
    bool tr = false;
    int64_t r0 = 0, c0 = 0;
    for (auto& op : w.ops) {
      if (op.kind == WeightOp::Kind::kTranspose) { tr = !tr; std::swap(r0, c0); }
      else if (op.kind != WeightOp::Kind::kSlice) continue;
      else if (op.axis == 0) r0 += op.start;
      else c0 += op.start;
    }
    const int64_t R = w.shape[0], C = w.shape[1], SC = t->shape[1];
    constexpr int64_t B = 64;  // blocked so that transposed reads stay in cache
    for (int64_t i0 = 0; i0 < R; i0 += B)
      for (int64_t j0 = 0; j0 < C; j0 += B)
        for (int64_t i = i0; i < std::min(R, i0 + B); ++i)
          for (int64_t j = j0; j < std::min(C, j0 + B); ++j) {
            const int64_t src = tr ? (j + c0) * SC + (i + r0) : (i + r0) * SC + (j + c0);
            store(buf.data(), i * C + j, rd(src), out);
          }
    return buf;
  }
  int64_t off = 0;
  for (auto& op : w.ops)
    if (op.kind == WeightOp::Kind::kSlice) off += op.start;
  for (int64_t i = 0; i < n; ++i) store(buf.data(), i, rd(i + off), out);
  return buf;
}

void add_model_weights(PayloadWriter& pw, const Graph& g, const DecoderSpec& s, const KernelPlan& plan) {
  const DType wd = plan.build.weight_dtype;
  auto mat = [&](const std::string& name, const WeightBinding& b, DType dt) { pw.add_owned(name, dt, b.shape, materialize(g, b, dt)); };
  auto vec = [&](const std::string& name, const std::optional<WeightBinding>& b) {
    if (b) mat(name, *b, DType::kF32);
  };
  mat("embed_tokens", s.embed_tokens, wd);
  if (s.embed_positions) mat("embed_positions", *s.embed_positions, wd);
  if (s.tie_word_embeddings) pw.alias("lm_head", "embed_tokens");
  else mat("lm_head", s.lm_head, wd);
  vec("lm_head_b", s.lm_head_b);
  vec("final_norm_w", s.final_norm_w);
  vec("final_norm_b", s.final_norm_b);
  if (!s.rope_inv_freq.empty())
    pw.add_owned("rope_inv_freq", DType::kF32, {static_cast<int64_t>(s.rope_inv_freq.size())},
                 std::vector<uint8_t>(reinterpret_cast<const uint8_t*>(s.rope_inv_freq.data()),
                                      reinterpret_cast<const uint8_t*>(s.rope_inv_freq.data() + s.rope_inv_freq.size())));
  const int64_t H = s.hidden_size, Q = s.num_attention_heads * s.head_dim, KV = s.num_key_value_heads * s.head_dim, I = s.intermediate_size;
  for (size_t l = 0; l < s.layers.size(); ++l) {
    const LayerWeights& L = s.layers[l];
    const std::string p = "layers." + std::to_string(l) + ".";
    vec(p + "attn_norm_w", L.attn_norm_w);
    vec(p + "attn_norm_b", L.attn_norm_b);
    pw.add_owned(p + "qkv_w", wd, {Q + 2 * KV, H}, concat_rows({materialize(g, *L.q_w, wd), materialize(g, *L.k_w, wd), materialize(g, *L.v_w, wd)}));
    if (L.q_b || L.k_b || L.v_b) {
      auto part = [&](const std::optional<WeightBinding>& b, int64_t len) {
        return b ? materialize(g, *b, DType::kF32) : std::vector<uint8_t>(static_cast<size_t>(len) * 4, 0);
      };
      pw.add_owned(p + "qkv_b", DType::kF32, {Q + 2 * KV}, concat_rows({part(L.q_b, Q), part(L.k_b, KV), part(L.v_b, KV)}));
    }
    mat(p + "o_w", *L.o_w, wd);
    vec(p + "o_b", L.o_b);
    vec(p + "mlp_norm_w", L.mlp_norm_w);
    vec(p + "mlp_norm_b", L.mlp_norm_b);
    if (L.gate_w) {
      pw.add_owned(p + "up_w", wd, {2 * I, H}, concat_rows({materialize(g, *L.gate_w, wd), materialize(g, *L.up_w, wd)}));
      if (L.gate_b || L.up_b) {
        auto part = [&](const std::optional<WeightBinding>& b) { return b ? materialize(g, *b, DType::kF32) : std::vector<uint8_t>(static_cast<size_t>(I) * 4, 0); };
        pw.add_owned(p + "up_b", DType::kF32, {2 * I}, concat_rows({part(L.gate_b), part(L.up_b)}));
      }
    } else {
      mat(p + "up_w", *L.up_w, wd);
      vec(p + "up_b", L.up_b);
    }
    mat(p + "down_w", *L.down_w, wd);
    vec(p + "down_b", L.down_b);
  }
}

}  // namespace tsc
