// Canonicalizing weights: blocked transposes and row slices over the mapped initializers.
#include "compiler/driver/weights.h"

#include <cstring>

#include "compiler/driver/quantize.h"
#include "contract/error.h"
#include "contract/linear_weight.h"
#include "contract/payload_tensors.h"

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
    case DType::kI8: dst[i] = static_cast<uint8_t>(static_cast<int8_t>(v)); break;  // 8-bit codes, exact in float
    case DType::kU8: dst[i] = static_cast<uint8_t>(v); break;
    default: throw Error("unsupported payload dtype " + dtype_name(out), "use f32, f16 or bf16");
  }
}

std::vector<uint8_t> concat_rows(const std::vector<std::vector<uint8_t>>& parts) {
  std::vector<uint8_t> r;
  for (auto& p : parts) r.insert(r.end(), p.begin(), p.end());
  return r;
}

// Output rows [r0, r0 + rows) of a constant whose leading dimension is the projection's output, as raw bytes.
std::vector<uint8_t> row_bytes(const Graph& g, const std::string& name, int64_t r0, int64_t rows, int64_t out) {
  const Tensor* t = g.constant(name);
  if (!t) throw Error("weight '" + name + "' is not a constant of the graph", "this is a bug in tsc");
  const size_t row = t->nbytes() / static_cast<size_t>(out);
  const auto* p = static_cast<const uint8_t*>(t->data) + static_cast<size_t>(r0) * row;
  return std::vector<uint8_t>(p, p + static_cast<size_t>(rows) * row);
}

// One projection's rows in 4-bit form: codes, scales and zero points of the rows its binding selects. A part without
// zero points gets the symmetric point 8 written out when another part of the same fused weight has them.
struct Q4Rows {
  std::vector<uint8_t> codes, scales, zero_points;
};
// The first source row a binding's row slices select, and the product of its constant factors (a family's kScale,
// which the quantized forms fold into their scales).
int64_t first_row(const WeightBinding& w) {
  int64_t r0 = 0;
  for (auto& op : w.ops) r0 += op.kind == WeightOp::Kind::kSlice ? op.start : 0;
  return r0;
}
double scale_factor(const WeightBinding& w) {
  double factor = 1;
  for (auto& op : w.ops)
    if (op.kind == WeightOp::Kind::kScale) factor *= op.value;
  return factor;
}

Q4Rows q4_rows(const Graph& g, const WeightBinding& w, bool with_zero_points) {
  const int64_t out = w.source_shape[0], nb = w.source_shape[1];
  const int64_t r0 = first_row(w), rows = w.shape[0];
  Q4Rows r{row_bytes(g, w.initializer, r0, rows, out), row_bytes(g, w.q4->scales, r0, rows, out), {}};
  // A family's constant factor (kScale) scales W = (q - z) * s through its block scales.
  if (const double factor = scale_factor(w); factor != 1) {
    const size_t es = dtype_size(w.q4->scale_dtype);
    for (size_t i = 0; i < r.scales.size(); i += es) {
      float v;
      if (es == 4) std::memcpy(&v, &r.scales[i], 4);
      else { uint16_t h; std::memcpy(&h, &r.scales[i], 2); v = f16_to_f32(h); }
      v = static_cast<float>(v * factor);
      if (es == 4) std::memcpy(&r.scales[i], &v, 4);
      else { const uint16_t h = f32_to_f16(v); std::memcpy(&r.scales[i], &h, 2); }
    }
  }
  if (with_zero_points)
    r.zero_points = w.q4->zero_points.empty() ? std::vector<uint8_t>(static_cast<size_t>(rows * ((nb + 1) / 2)), 0x88)
                                              : row_bytes(g, w.q4->zero_points, r0, rows, out);
  return r;
}

// One projection's rows in 8-bit form: the codes transposed to [rows, in] as they are (a family's kScale goes into
// the scales), and a scale and zero point per row from the file's per-tensor or per-column ones.
struct I8Rows {
  std::vector<uint8_t> codes, scales, zero_points;
};
I8Rows i8_rows(const Graph& g, const WeightBinding& w) {
  WeightBinding view = w;
  view.i8.reset();
  std::erase_if(view.ops, [](const WeightOp& op) { return op.kind == WeightOp::Kind::kScale; });
  I8Rows r{materialize(g, view, w.source_dtype), {}, {}};
  const double factor = scale_factor(w);
  const int64_t r0 = first_row(w), rows = w.shape[0];
  const Tensor* s = g.constant(w.i8->scales);
  const Tensor* z = w.i8->zero_points.empty() ? nullptr : g.constant(w.i8->zero_points);
  r.scales.resize(static_cast<size_t>(rows) * 4);
  r.zero_points.assign(static_cast<size_t>(rows), 0);
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t c = s->numel() == 1 ? 0 : r0 + i;
    store(r.scales.data(), i, static_cast<float>(s->f64(c) * factor), DType::kF32);
    if (z) r.zero_points[static_cast<size_t>(i)] = static_cast<const uint8_t*>(z->data)[c];
  }
  return r;
}

}  // namespace

void add_linear_weight(PayloadWriter& pw, const Graph& g, const std::string& name, const std::vector<const WeightBinding*>& parts, DType wd,
                       const Quantization* compile_time) {
  if (compile_time) return add_quantized_linear(pw, g, name, parts, *compile_time);
  int64_t out = 0, q4_parts = 0, i8_parts = 0;
  bool zero_points = false;
  for (const WeightBinding* w : parts) {
    out += w->shape[0];
    q4_parts += w->q4 ? 1 : 0;
    i8_parts += w->i8 ? 1 : 0;
    zero_points = zero_points || (w->q4 && !w->q4->zero_points.empty());
  }
  const int64_t in = parts[0]->shape[1];
  if (i8_parts > 0) {
    for (const WeightBinding* w : parts)
      if (!w->i8 || w->source_dtype != parts[0]->source_dtype)
        throw Error("'" + name + "' fuses projections of different formats ('" + parts[0]->initializer + "', '" + w->initializer + "')",
                    "quantize all of the model's projections with one weight_type (quantize_dynamic), or compile the float model");
    std::vector<std::vector<uint8_t>> codes, scales, zps;
    for (const WeightBinding* w : parts) {
      I8Rows r = i8_rows(g, *w);
      codes.push_back(std::move(r.codes));
      scales.push_back(std::move(r.scales));
      zps.push_back(std::move(r.zero_points));
    }
    pw.add_owned(i8_codes_name(name), parts[0]->source_dtype, {out, in}, concat_rows(codes));
    pw.add_owned(q4_scales_name(name), DType::kF32, {out}, concat_rows(scales));
    pw.add_owned(q4_zero_points_name(name), parts[0]->source_dtype, {out}, concat_rows(zps));
    return;
  }
  if (q4_parts == 0) {
    std::vector<std::vector<uint8_t>> rows;
    for (const WeightBinding* w : parts) rows.push_back(materialize(g, *w, wd));
    pw.add_owned(name, wd, {out, in}, concat_rows(rows));
    return;
  }
  if (q4_parts != static_cast<int64_t>(parts.size()))
    throw Error("'" + name + "' fuses 4-bit and float projections ('" + parts[0]->initializer + "', ...)",
                "quantize all of the model's projections (MatMulNBitsQuantizer), or compile the float model");
  const QuantizedWeight& q = *parts[0]->q4;
  const int64_t nb = (in + q.block_size - 1) / q.block_size;
  std::vector<std::vector<uint8_t>> codes, scales, zps;
  for (const WeightBinding* w : parts) {
    Q4Rows r = q4_rows(g, *w, zero_points);
    codes.push_back(std::move(r.codes));
    scales.push_back(std::move(r.scales));
    zps.push_back(std::move(r.zero_points));
  }
  pw.add_owned(q4_codes_name(name), DType::kU8, {out, nb, q.block_size / 2}, concat_rows(codes));
  pw.add_owned(q4_scales_name(name), q.scale_dtype, {out, nb}, concat_rows(scales));
  if (zero_points) pw.add_owned(q4_zero_points_name(name), DType::kU8, {out, (nb + 1) / 2}, concat_rows(zps));
}

std::vector<uint8_t> materialize(const Graph& g, const WeightBinding& w, DType out) {
  if (w.q4 || w.i8) throw Error("weight '" + w.initializer + "' holds quantized codes, which are never expanded", "this is a bug in tsc");
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

namespace {

// The binding a fused bias's missing part stands beside: q_b's weight is q_w (its rows give the zeros' length).
std::string weight_of(const std::string& bias_part) { return bias_part.substr(0, bias_part.size() - 2) + "_w"; }

// Writes payload tensor `name` by its row (contract/payload_tensors.h) from the bindings its parts name (`find`
// resolves one, null when the model lacks it); a tensor none of whose parts the model has is left out.
template <typename Find>
void add_tensor(PayloadWriter& pw, const Graph& g, const TensorRule& r, const std::string& name, const Find& find, DType wd,
                const Quantization* compile_time) {
  const std::vector<std::string> names = r.part_names();
  std::vector<const WeightBinding*> parts, present;
  for (const std::string& n : names) {
    parts.push_back(find(n));
    if (parts.back()) present.push_back(parts.back());
  }
  if (present.empty()) return;
  if (r.layout == TensorLayout::kProjection) return add_linear_weight(pw, g, name, present, wd, compile_time);
  const DType dt = r.layout == TensorLayout::kTable ? wd : DType::kF32;  // tables in the weight type, vectors f32
  if (parts.size() == 1) return pw.add_owned(name, dt, present[0]->shape, materialize(g, *present[0], dt));
  // A fused vector (a bias of fused projections): parts the model lacks are zeros as long as their weight's rows, none
  // where that weight is absent too (gate_b beside no gate_w).
  std::vector<std::vector<uint8_t>> rows;
  int64_t n = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const WeightBinding* w = parts[i] ? parts[i] : find(weight_of(names[i]));
    if (!w) continue;
    rows.push_back(parts[i] ? materialize(g, *w, DType::kF32) : std::vector<uint8_t>(static_cast<size_t>(w->shape[0]) * 4, 0));
    n += w->shape[0];
  }
  pw.add_owned(name, DType::kF32, {n}, concat_rows(rows));
}

}  // namespace

void add_model_weights(PayloadWriter& pw, const Graph& g, const LiftResult& r, const KernelPlan& plan) {
  const ModelBindings& b = r.weights;
  const DType wd = plan.build.weight_dtype;
  // tsc --weight-dtype: every projection quantized here (the file's floats; compiler/driver/quantize.h).
  const Quantization* compile_time = r.spec.quantization && r.spec.quantization->quantized_by == "tsc" ? &*r.spec.quantization : nullptr;
  const bool tied_head = r.spec.tie_word_embeddings && r.spec.quantization && r.spec.quantization->tied_head;
  for (const TensorRule& row : payload_tensors()) {
    const std::string field = row.field;
    if (row.per_layer) {
      continue;  // below, layer by layer
    } else if (tied_head && field == tensors::embed_tokens) {
      continue;  // --head-dtype int4: the table is the head's 4-bit blocks (contract/payload_tensors.h)
    } else if (tied_head && field == tensors::lm_head) {
      if (plan.build.target == Target::kCuda)
        throw Error("--head-dtype int4 runs on the CPU target only so far (the CUDA kernels gather a float table)", "build with --target cpu, or leave --head-dtype out");
      add_quantized_linear(pw, g, field, {&b.lm_head}, *r.spec.quantization);
    } else if (field == tensors::lm_head && r.spec.tie_word_embeddings) {
      pw.alias(tensors::lm_head, tensors::embed_tokens);  // the tied head is stored once
    } else if (field == tensors::rope_inv_freq) {  // values lift computed, not a binding
      if (!b.rope_inv_freq.empty())
        pw.add_owned(field, DType::kF32, {static_cast<int64_t>(b.rope_inv_freq.size())},
                     std::vector<uint8_t>(reinterpret_cast<const uint8_t*>(b.rope_inv_freq.data()),
                                          reinterpret_cast<const uint8_t*>(b.rope_inv_freq.data() + b.rope_inv_freq.size())));
    } else {
      add_tensor(pw, g, row, row.name(), [&](const std::string& n) { return b.find(n); }, wd, compile_time);
    }
  }
  for (size_t l = 0; l < b.layers.size(); ++l)
    for (const TensorRule& row : payload_tensors())
      if (row.per_layer)
        add_tensor(pw, g, row, row.name(static_cast<int64_t>(l)), [&](const std::string& n) { return b.layers[l].find(n); }, wd,
                   compile_time);
}

}  // namespace tsc
