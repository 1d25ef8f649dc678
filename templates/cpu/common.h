// Shared helpers of the CPU kernel templates: weight element types and their conversion to float32.
#pragma once
#include <cstdint>
#include <cstring>
#if defined(__F16C__)
#include <immintrin.h>
#endif

namespace tsc::cpu {

// Storage types of weights. Activations are always float32.
struct f16_t { uint16_t bits; };
struct bf16_t { uint16_t bits; };

inline float to_f32(float x) { return x; }
inline float to_f32(bf16_t x) {
  uint32_t u = static_cast<uint32_t>(x.bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline float to_f32(f16_t x) {
#if defined(__F16C__)
  return _cvtsh_ss(x.bits);
#else
  uint32_t sign = (x.bits >> 15) & 1, exp = (x.bits >> 10) & 0x1f, mant = x.bits & 0x3ff, u;
  if (exp == 0) {
    if (mant == 0) u = sign << 31;
    else {  // subnormal: renormalize
      int e = -1;
      do { ++e; mant <<= 1; } while ((mant & 0x400) == 0);
      u = (sign << 31) | static_cast<uint32_t>(127 - 15 - e) << 23 | (mant & 0x3ff) << 13;
    }
  } else if (exp == 31) {
    u = (sign << 31) | 0x7f800000u | (mant << 13);
  } else {
    u = (sign << 31) | (exp + 112) << 23 | (mant << 13);
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
#endif
}

// Converts n weights to float32 (the inner loop of every weight-streaming kernel).
template <typename W>
inline void load_row(const W* src, int64_t n, float* dst) {
  for (int64_t i = 0; i < n; ++i) dst[i] = to_f32(src[i]);
}
#if defined(__F16C__)
template <>
inline void load_row<f16_t>(const f16_t* src, int64_t n, float* dst) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
  for (; i < n; ++i) dst[i] = to_f32(src[i]);
}
#endif

inline float dot(const float* a, const float* b, int64_t n) {
  float s = 0.f;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

}  // namespace tsc::cpu
