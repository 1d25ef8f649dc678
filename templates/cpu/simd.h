// Portable SIMD vocabulary of the CPU kernels: one float vector of the widest width the build targets
// (GCC vector extensions: 16 lanes with AVX-512, 8 with AVX, 4 otherwise), weight loads, sums and exp.
#pragma once
#include <cstdint>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "templates/cpu/common.h"

namespace tsc::cpu::simd {

#if defined(__AVX512F__)
inline constexpr int kLanes = 16;
inline constexpr int kRegs = 32;  // vector registers the register tiles may fill
#elif defined(__AVX__)
inline constexpr int kLanes = 8;
inline constexpr int kRegs = 16;
#else
inline constexpr int kLanes = 4;
inline constexpr int kRegs = 16;
#endif

typedef float vf __attribute__((vector_size(kLanes * 4)));
typedef int32_t vi __attribute__((vector_size(kLanes * 4)));
typedef uint32_t vu __attribute__((vector_size(kLanes * 4)));
// Unaligned, aliasing views for loads and stores.
typedef float vf_u __attribute__((vector_size(kLanes * 4), aligned(4), may_alias));
typedef uint16_t vh_u __attribute__((vector_size(kLanes * 2), aligned(2), may_alias));

inline vf splat(float s) {
#if defined(__AVX512F__)
  return (vf)_mm512_set1_ps(s);
#elif defined(__AVX__)
  return (vf)_mm256_set1_ps(s);
#else
  return vf{s, s, s, s};
#endif
}
inline vf loadu(const float* p) { return *reinterpret_cast<const vf_u*>(p); }
inline void storeu(float* p, vf v) { *reinterpret_cast<vf_u*>(p) = v; }

// kLanes weights from p converted to float32.
inline vf load(const float* p) { return loadu(p); }
inline vf load(const bf16_t* p) {
#if defined(__AVX512F__)  // one zero-extending load (GCC splits the generic form into two 256-bit halves)
  return (vf)_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))), 16);
#else
  return (vf)(__builtin_convertvector(*reinterpret_cast<const vh_u*>(p), vu) << 16);
#endif
}
inline vf load(const f16_t* p) {
#if defined(__AVX512F__)
  return (vf)_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
#elif defined(__AVX__) && defined(__F16C__)
  return (vf)_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
#else
  vf v;
  for (int i = 0; i < kLanes; ++i) v[i] = to_f32(p[i]);
  return v;
#endif
}

// The lanes combined by op as a halving tree (log2(kLanes) shuffle + op steps): lane i with lane i + w.
template <typename Op>
inline float hreduce(vf v, Op op) {
  float s[kLanes];
  storeu(s, v);
  for (int w = kLanes / 2; w > 0; w /= 2)
    for (int i = 0; i < w; ++i) s[i] = op(s[i], s[i + w]);
  return s[0];
}

// Sum and maximum of the lanes (AVX-512 has one instruction sequence for each).
inline float hsum(vf v) {
#if defined(__AVX512F__)
  return _mm512_reduce_add_ps((__m512)v);
#else
  return hreduce(v, [](float a, float b) { return a + b; });
#endif
}
inline float hmax(vf v) {
#if defined(__AVX512F__)
  return _mm512_reduce_max_ps((__m512)v);
#else
  return hreduce(v, [](float a, float b) { return a > b ? a : b; });
#endif
}

inline vf vmax(vf a, vf b) { return a > b ? a : b; }

// a * b + c with one rounding where the ISA has FMA (-std=c++20 does not contract a * b + c on its own).
inline vf fma(vf a, vf b, vf c) {
#if defined(__AVX512F__)
  return (vf)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)c);
#elif defined(__FMA__)
  return (vf)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)c);
#else
  return a * b + c;
#endif
}

// e^x per lane (Cephes expf: range reduction by ln 2, degree-6 polynomial; max rel. error ~2 ulp). Lanes
// below -87.3 (including -inf, masked scores) give exactly 0, lanes above 88.7 give +inf-like saturation.
inline vf exp(vf x) {
  const vi tiny = x < -87.33654f;
  x = x > 88.3762626647949f ? splat(88.3762626647949f) : x;
  x = x < -87.33654f ? splat(-87.33654f) : x;
  const vf magic = splat(12582912.f);  // 1.5 * 2^23: adding it rounds to the nearest integer
  const vf t = x * 1.44269504088896341f + magic;
  const vf n = t - magic;
  vf r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  vf p = splat(1.9875691500E-4f);
  p = p * r + 1.3981999507E-3f;
  p = p * r + 8.3334519073E-3f;
  p = p * r + 4.1665795894E-2f;
  p = p * r + 1.6666665459E-1f;
  p = p * r + 5.0000001201E-1f;
  p = p * r * r + r + 1.f;
  const vi pow2 = (((vi)t - (vi)magic) + 127) << 23;  // 2^n as float bits
  return (vf)((vi)(p * (vf)pow2) & ~tiny);
}

}  // namespace tsc::cpu::simd
