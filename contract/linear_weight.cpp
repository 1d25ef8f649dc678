// Reading a projection's weight from the payload in its stored format (linear_weight.h).
#include "contract/linear_weight.h"

#include "contract/error.h"
#include "contract/payload.h"

namespace tsc {

std::string q4_codes_name(const std::string& name) { return name + ".q4"; }
std::string q4_scales_name(const std::string& name) { return name + ".scales"; }
std::string q4_zero_points_name(const std::string& name) { return name + ".zero_points"; }
std::string i8_codes_name(const std::string& name) { return name + ".i8"; }

int64_t LinearWeight::bytes() const {
  if (format == WeightFormat::kDense) return out * in * static_cast<int64_t>(dtype_size(dtype));
  if (format == WeightFormat::kI8) return out * (in + 4 + 1);
  const int64_t nb = (in + block_size - 1) / block_size;
  return out * nb * (block_size / 2 + static_cast<int64_t>(dtype_size(scale_dtype))) + (zero_points ? out * ((nb + 1) / 2) : 0);
}

void dequantize_q4_row(const LinearWeight& w, int64_t n, float* out) {
  const int64_t nb = (w.in + w.block_size - 1) / w.block_size;
  const auto* codes = static_cast<const uint8_t*>(w.data) + n * nb * (w.block_size / 2);
  for (int64_t b = 0; b < nb; ++b) {
    const int64_t i = n * nb + b;
    const float s = w.scale_dtype == DType::kF16 ? f16_to_f32(static_cast<const uint16_t*>(w.scales)[i]) : static_cast<const float*>(w.scales)[i];
    const float z = w.zero_points ? static_cast<float>((w.zero_points[n * ((nb + 1) / 2) + b / 2] >> (4 * (b & 1))) & 15) : 8.f;
    for (int64_t j = 0; j < w.block_size && b * w.block_size + j < w.in; ++j)
      out[b * w.block_size + j] = (static_cast<float>((codes[b * (w.block_size / 2) + j / 2] >> (4 * (j & 1))) & 15) - z) * s;
  }
}

LinearWeight read_linear_weight(const Payload& p, const std::string& name, int64_t out, int64_t in) {
  LinearWeight w;
  w.out = out;
  w.in = in;
  auto bad = [&](const std::string& what) -> Error {
    return Error("payload tensor '" + name + "' " + what, "rebuild the executable with this version of tsc");
  };
  if (p.has(name)) {
    const TensorEntry& e = p.entry(name);
    if (e.shape != std::vector<int64_t>{out, in}) throw bad("is not a [" + std::to_string(out) + ", " + std::to_string(in) + "] matrix");
    w.data = p.data(name);
    w.dtype = e.dtype;
    return w;
  }
  if (p.has(i8_codes_name(name))) {
    const TensorEntry& c = p.entry(i8_codes_name(name));
    if (c.shape != std::vector<int64_t>{out, in} || !(c.dtype == DType::kI8 || c.dtype == DType::kU8)) throw bad("has malformed 8-bit codes");
    if (!p.has(q4_scales_name(name)) || p.entry(q4_scales_name(name)).shape != std::vector<int64_t>{out} || p.entry(q4_scales_name(name)).dtype != DType::kF32 ||
        !p.has(q4_zero_points_name(name)) || p.entry(q4_zero_points_name(name)).shape != std::vector<int64_t>{out} ||
        p.entry(q4_zero_points_name(name)).dtype != c.dtype)
      throw bad("has scales or zero points that do not match its 8-bit codes");
    w.format = WeightFormat::kI8;
    w.data = p.data(i8_codes_name(name));
    w.dtype = c.dtype;
    w.scales = p.data(q4_scales_name(name));
    w.zero_points = static_cast<const uint8_t*>(p.data(q4_zero_points_name(name)));
    return w;
  }
  if (!p.has(q4_codes_name(name))) throw bad("is missing");
  const TensorEntry& c = p.entry(q4_codes_name(name));
  w.format = WeightFormat::kQ4;
  if (c.shape.size() != 3 || c.dtype != DType::kU8 || c.shape[0] != out || c.shape[2] < 8 || !p.has(q4_scales_name(name)))
    throw bad("has malformed 4-bit codes");
  w.block_size = c.shape[2] * 2;
  const int64_t nb = (in + w.block_size - 1) / w.block_size;
  if (c.shape[1] != nb) throw bad("has " + std::to_string(c.shape[1]) + " blocks per row, not " + std::to_string(nb) + " for " + std::to_string(in) + " inputs");
  const TensorEntry& s = p.entry(q4_scales_name(name));
  if (s.shape != std::vector<int64_t>{out, nb} || !(s.dtype == DType::kF32 || s.dtype == DType::kF16))
    throw bad("has scales that do not match its codes");
  w.data = p.data(q4_codes_name(name));
  w.dtype = DType::kU8;
  w.scales = p.data(q4_scales_name(name));
  w.scale_dtype = s.dtype;
  if (p.has(q4_zero_points_name(name))) {
    const TensorEntry& z = p.entry(q4_zero_points_name(name));
    if (z.dtype != DType::kU8 || z.shape != std::vector<int64_t>{w.out, (c.shape[1] + 1) / 2}) throw bad("has zero points that do not match its codes");
    w.zero_points = static_cast<const uint8_t*>(p.data(q4_zero_points_name(name)));
  }
  return w;
}

}  // namespace tsc
