// Four-lane float vectors (GCC/Clang vector extensions) and the exp shared by the sampler's kernels.
#pragma once
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace tsc::sample_ops {

// Vector extensions rather than intrinsics: the same code is SSE2 on any x86-64 and NEON on
// aarch64 (16 bytes: what both have without extra -m flags); and rather than auto-vectorized
// loops, which GCC's -O2 cost model declines for most of these. Lane operations are plain IEEE
// float operations, so the vector and scalar paths give bit-identical results.
using f4 = float __attribute__((vector_size(16)));
using i4 = int32_t __attribute__((vector_size(16)));
using d2 = double __attribute__((vector_size(16)));
inline constexpr size_t kWidth = 4;

inline f4 load(const float* p) {
  f4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline i4 load(const int32_t* p) {
  i4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, f4 v) { std::memcpy(p, &v, sizeof v); }
inline f4 splat(float s) { return f4{} + s; }
inline i4 splat(int32_t s) { return i4{} + s; }

inline bool any(i4 mask) { return (mask[0] | mask[1] | mask[2] | mask[3]) != 0; }
inline float hmax(f4 v) {
  const float a = v[0] > v[1] ? v[0] : v[1], b = v[2] > v[3] ? v[2] : v[3];
  return a > b ? a : b;
}

// Largest of x[i..i+16), lane-wise: one compare of it rules out a block of 16 in the filters' skips.
inline constexpr size_t kBlock16 = 16;
inline f4 max16(const float* x) {
  f4 a = load(x), b = load(x + 4), c = load(x + 8), d = load(x + 12);
  a = a > b ? a : b;
  c = c > d ? c : d;
  return a > c ? a : c;
}

// Adds the lanes of v to four double accumulators: lanes 0-1 to lo, 2-3 to hi.
inline void accumulate(d2& lo, d2& hi, f4 v) {
  lo += d2{v[0], v[1]};
  hi += d2{v[2], v[3]};
}

// 2^n for integral n in [-126, 127].
inline float pow2i(float n) { return std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23); }
inline f4 pow2i(f4 n) { return reinterpret_cast<f4>((__builtin_convertvector(n, i4) + 127) << 23); }

// exp(d) for d <= 0 (including -inf), within 2 ulp; 0 below -87, where floats stop being normal.
// Written out, not std::exp, so that probabilities (and so the sampled tokens) are the same with
// every libm; one template so that the scalar tail and the vector body agree bit for bit. The
// library builds with -ffp-contract=off so that no compiler fuses these into FMAs on one machine only.
template <class V>
inline V exp_nonpositive(V d) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;  // ln 2 = hi + lo, hi exact in 9 bits
  constexpr float kRound = 12582912.0f;                             // 1.5 * 2^23: adding it rounds to integer
  const V floor = V{} + -87.0f;
  const V c = d < floor ? floor : d;
  const V n = (c * kLog2e + kRound) - kRound;  // nearest integer to c / ln 2, in [-126, 0]
  const V r = (c - n * kLn2Hi) - n * kLn2Lo;   // |r| <= ln(2) / 2
  // Cephes expf: minimax polynomial for (exp(r) - 1 - r) / r^2.
  V p = V{} + 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const V y = (p * r * r + r) + 1.0f;
  return d < floor ? V{} : y * pow2i(n);
}

}  // namespace tsc::sample_ops
