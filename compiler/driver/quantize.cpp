// Compile-time weight quantization: onnxruntime's int4 (MatMulNBits, symmetric) and int8 (per-channel, symmetric)
// rules over a float file's projections, written in the payload's quantized formats.
#include "compiler/driver/quantize.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>

#include "compiler/driver/weights.h"
#include "contract/error.h"
#include "contract/linear_weight.h"

namespace tsc {

void quantize_int4_rows(const float* w, int64_t rows, int64_t K, int64_t block, uint8_t* codes, float* scales) {
  const int64_t nb = (K + block - 1) / block;
  std::vector<uint8_t> c(static_cast<size_t>(block));
  for (int64_t n = 0; n < rows; ++n)
    for (int64_t b = 0; b < nb; ++b) {
      const float* x = w + n * K + b * block;
      const int64_t len = std::min(block, K - b * block);
      float lo = std::numeric_limits<float>::max(), hi = -lo;
      for (int64_t j = 0; j < len; ++j) lo = std::min(lo, x[j]), hi = std::max(hi, x[j]);
      // The signed extreme maps to code 0 (-8): onnxruntime keeps the max only when strictly larger in magnitude.
      const float m = std::fabs(hi) > std::fabs(lo) ? hi : lo;
      const float scale = m / -8.f;
      const volatile float inv = scale != 0.f ? 1.f / scale : 0.f;  // volatile: one rounding each, never an FMA
      std::fill(c.begin(), c.end(), uint8_t{8});
      for (int64_t j = 0; j < len; ++j) {
        const volatile float t = x[j] * inv;
        c[static_cast<size_t>(j)] = static_cast<uint8_t>(std::clamp(std::round(t + 8.f), 0.f, 15.f));
      }
      uint8_t* o = codes + (n * nb + b) * (block / 2);
      for (int64_t j = 0; j < block / 2; ++j) o[j] = static_cast<uint8_t>(c[static_cast<size_t>(2 * j)] | (c[static_cast<size_t>(2 * j + 1)] << 4));
      scales[n * nb + b] = scale;
    }
}

void quantize_int8_rows(const float* w, int64_t rows, int64_t K, int8_t* codes, float* scales) {
  for (int64_t n = 0; n < rows; ++n) {
    const float* x = w + n * K;
    float lo = 0.f, hi = 0.f;  // the range always holds 0
    for (int64_t k = 0; k < K; ++k) lo = std::min(lo, x[k]), hi = std::max(hi, x[k]);
    const double s = 2.0 * static_cast<double>(std::max(std::fabs(lo), std::fabs(hi))) / 254.0;
    const float scale = s < FLT_MIN ? 1.f : static_cast<float>(s);
    for (int64_t k = 0; k < K; ++k)
      codes[n * K + k] = static_cast<int8_t>(std::clamp(std::nearbyint(x[k] / scale), -128.f, 127.f));
    scales[n] = scale;
  }
}

void request_quantization(LiftResult& r, int64_t bits, int64_t group) {
  const std::string opt = "--weight-dtype int" + std::to_string(bits);
  if (r.spec.quantization)
    throw Error(opt + ": the file's projections are already quantized (" + r.spec.quantization->format + ")",
                "compile the float model of the same download (onnx/model.onnx), or leave --weight-dtype out to keep the file's quantization");
  if (bits == 4 && (group < 16 || (group & (group - 1)) != 0))
    throw Error("--weight-group " + std::to_string(group) + " is not a power of two of at least 16 (a MatMulNBits block size)",
                "use --weight-group 32 or 128; a projection whose input width is not a multiple of the group gets a shorter, padded last block");
  Quantization q;
  q.format = bits == 4 ? "int4" : "int8";
  q.bits = bits;
  q.block_size = bits == 4 ? group : 0;
  q.quantized_by = "tsc";
  for (const LayerWeights& L : r.weights.layers)
    for (const auto* w : {&L.q_w, &L.k_w, &L.v_w, &L.o_w, &L.gate_w, &L.up_w, &L.down_w})
      if (*w) ++q.quantized_linears;
  q.linears = q.quantized_linears + 1;
  if (!r.spec.tie_word_embeddings) ++q.quantized_linears;
  r.spec.quantization = q;
}

void request_tied_head_int4(LiftResult& r) {
  const char* hint = "leave --head-dtype out (it applies to 4-bit models with a tied LM head), or add --weight-dtype int4 to a float file";
  std::optional<Quantization>& q = r.spec.quantization;
  if (!q || q->bits != 4) throw Error("--head-dtype int4: the model's projections are not 4-bit", hint);
  if (!r.spec.tie_word_embeddings) throw Error("--head-dtype int4: the model's LM head is not tied to its embedding table", hint);
  for (const WeightBinding* w : {&r.weights.embed_tokens, &r.weights.lm_head})
    for (const WeightOp& op : w->ops)
      if (op.kind == WeightOp::Kind::kScale)
        throw Error("--head-dtype int4: the embedding table is scaled apart from the LM head ('" + w->initializer + "')", hint);
  q->tied_head = true;
  ++q->quantized_linears;
}

void add_quantized_linear(PayloadWriter& pw, const Graph& g, const std::string& name, const std::vector<const WeightBinding*>& parts,
                          const Quantization& q) {
  std::vector<uint8_t> w;
  int64_t out = 0;
  for (const WeightBinding* p : parts) {
    const std::vector<uint8_t> rows = materialize(g, *p, DType::kF32);
    w.insert(w.end(), rows.begin(), rows.end());
    out += p->shape[0];
  }
  const int64_t in = parts[0]->shape[1];
  const auto* f = reinterpret_cast<const float*>(w.data());
  auto bytes = [](const void* p, size_t n) { return std::vector<uint8_t>(static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + n); };
  if (q.bits == 8) {
    std::vector<int8_t> codes(static_cast<size_t>(out * in));
    std::vector<float> scales(static_cast<size_t>(out));
    quantize_int8_rows(f, out, in, codes.data(), scales.data());
    pw.add_owned(i8_codes_name(name), DType::kI8, {out, in}, bytes(codes.data(), codes.size()));
    pw.add_owned(q4_scales_name(name), DType::kF32, {out}, bytes(scales.data(), scales.size() * 4));
    pw.add_owned(q4_zero_points_name(name), DType::kI8, {out}, std::vector<uint8_t>(static_cast<size_t>(out), 0));
    return;
  }
  const int64_t nb = (in + q.block_size - 1) / q.block_size;
  std::vector<uint8_t> codes(static_cast<size_t>(out * nb * q.block_size / 2));
  std::vector<float> scales(static_cast<size_t>(out * nb));
  quantize_int4_rows(f, out, in, q.block_size, codes.data(), scales.data());
  pw.add_owned(q4_codes_name(name), DType::kU8, {out, nb, q.block_size / 2}, std::move(codes));
  if (q.scale_dtype == DType::kF16) {  // a q4f16 file's tied head: the kernels read one scale type
    std::vector<uint16_t> h(scales.size());
    for (size_t i = 0; i < h.size(); ++i) h[i] = f32_to_f16(scales[i]);
    return pw.add_owned(q4_scales_name(name), DType::kF16, {out, nb}, bytes(h.data(), h.size() * 2));
  }
  pw.add_owned(q4_scales_name(name), DType::kF32, {out, nb}, bytes(scales.data(), scales.size() * 4));
}

}  // namespace tsc
