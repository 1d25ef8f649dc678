// CPU kernels for embeddings, norms and activations (float32 activations, fp32 statistics).
#pragma once
#include <cmath>

#include "templates/cpu/common.h"
#include "templates/cpu/simd.h"

namespace tsc::cpu {

template <typename W>
void embed(const int32_t* tokens, int64_t n, const void* table, int64_t H, float* out) {
  const W* t = static_cast<const W*>(table);
  for (int64_t i = 0; i < n; ++i) load_row(t + static_cast<int64_t>(tokens[i]) * H, H, out + i * H);
}

template <typename W>
void add_rows(const int32_t* rows, int64_t n, const void* table, int64_t H, float* x) {
  const W* t = static_cast<const W*>(table);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < H; ++j) x[i * H + j] += to_f32(t[static_cast<int64_t>(rows[i]) * H + j]);
}

inline void layernorm(const float* x, int64_t n, int64_t H, const float* w, const float* b, float eps, float* out) {
#pragma omp parallel for if (n * H >= (int64_t{1} << 18))
  for (int64_t i = 0; i < n; ++i) {
    const float* r = x + i * H;
    double mean = 0, var = 0;
    for (int64_t j = 0; j < H; ++j) mean += r[j];
    mean /= static_cast<double>(H);
    for (int64_t j = 0; j < H; ++j) var += (r[j] - mean) * (r[j] - mean);
    var /= static_cast<double>(H);
    const float inv = static_cast<float>(1.0 / std::sqrt(var + eps));
    for (int64_t j = 0; j < H; ++j) out[i * H + j] = (r[j] - static_cast<float>(mean)) * inv * w[j] + (b ? b[j] : 0.f);
  }
}

inline void rmsnorm(const float* x, int64_t n, int64_t H, const float* w, float eps, float* out) {
#pragma omp parallel for if (n * H >= (int64_t{1} << 18))
  for (int64_t i = 0; i < n; ++i) {
    const float* r = x + i * H;
    double ss = 0;
    for (int64_t j = 0; j < H; ++j) ss += static_cast<double>(r[j]) * r[j];
    const float inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(H) + eps));
    for (int64_t j = 0; j < H; ++j) out[i * H + j] = r[j] * inv * w[j];
  }
}

inline void gelu(float* x, int64_t count, int32_t approximate) {
#pragma omp parallel for if (count >= (int64_t{1} << 18))
  for (int64_t i = 0; i < count; ++i) {
    const float v = x[i];
    x[i] = approximate ? 0.5f * v * (1.f + std::tanh(0.7978845608028654f * (v + 0.044715f * v * v * v)))
                       : 0.5f * v * (1.f + std::erf(v * 0.7071067811865476f));
  }
}

inline void silu_mul(const float* gu, int64_t n, int64_t I, float* out) {
#pragma omp parallel for if (n * I >= (int64_t{1} << 16))
  for (int64_t i = 0; i < n; ++i) {
    const float *g = gu + i * 2 * I, *u = g + I;
    int64_t j = 0;
    for (; j + simd::kLanes <= I; j += simd::kLanes) {  // vector exp: the scalar one dominated prefill's MLP
      const simd::vf gv = simd::loadu(g + j);
      simd::storeu(out + i * I + j, gv / (1.f + simd::exp(-gv)) * simd::loadu(u + j));
    }
    for (; j < I; ++j) out[i * I + j] = g[j] / (1.f + std::exp(-g[j])) * u[j];
  }
}

// Gemma's GeGLU: out = gelu_tanh(gate) * up, with 0.5 (1 + tanh(u)) written as the logistic 1 / (1 + exp(-2u)),
// u = sqrt(2/pi) (g + 0.044715 g^3), so that the vector exp serves it as it serves SiLU.
inline void gelu_tanh_mul(const float* gu, int64_t n, int64_t I, float* out) {
#pragma omp parallel for if (n * I >= (int64_t{1} << 16))
  for (int64_t i = 0; i < n; ++i) {
    const float *g = gu + i * 2 * I, *u = g + I;
    int64_t j = 0;
    for (; j + simd::kLanes <= I; j += simd::kLanes) {
      const simd::vf gv = simd::loadu(g + j);
      const simd::vf t = -1.5957691216057308f * (gv + 0.044715f * gv * gv * gv);
      simd::storeu(out + i * I + j, gv / (1.f + simd::exp(t)) * simd::loadu(u + j));
    }
    for (; j < I; ++j) out[i * I + j] = g[j] / (1.f + std::exp(-1.5957691216057308f * (g[j] + 0.044715f * g[j] * g[j] * g[j]))) * u[j];
  }
}

inline void add(float* x, const float* y, int64_t count) {
#pragma omp simd
  for (int64_t i = 0; i < count; ++i) x[i] += y[i];
}

}  // namespace tsc::cpu
