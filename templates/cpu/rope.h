// CPU rotary embedding: rotates the first ROTARY_DIM channels of each head, half-split or interleaved pairs.
#pragma once
#include <cmath>
#include <cstdint>

namespace tsc::cpu {

// x: [n, heads * HEAD_DIM]; angle(pos, i) = pos * inv_freq[i], i < ROTARY_DIM / 2.
// Half-split pairs channel i with i + ROTARY_DIM/2 (HF rotate_half); interleaved pairs 2i with 2i+1.
template <int HEAD_DIM, int ROTARY_DIM, bool INTERLEAVED>
void rope(float* x, int64_t n, int64_t heads, const int32_t* positions, const float* inv_freq) {
  static_assert(ROTARY_DIM <= HEAD_DIM && ROTARY_DIM % 2 == 0, "rotary dims");
  constexpr int kHalf = ROTARY_DIM / 2;
#pragma omp parallel for if (n * heads * HEAD_DIM >= (int64_t{1} << 18))
  for (int64_t t = 0; t < n; ++t) {
    float c[kHalf], s[kHalf];
    for (int i = 0; i < kHalf; ++i) {
      // float32 angle, as the exported graphs compute it (pos * inv_freq in f32, then cos/sin)
      const float a = static_cast<float>(positions[t]) * inv_freq[i];
      c[i] = std::cos(a);
      s[i] = std::sin(a);
    }
    for (int64_t h = 0; h < heads; ++h) {
      float* v = x + (t * heads + h) * HEAD_DIM;
      for (int i = 0; i < kHalf; ++i) {
        const int a = INTERLEAVED ? 2 * i : i, b = INTERLEAVED ? 2 * i + 1 : i + kHalf;
        const float x0 = v[a], x1 = v[b];
        v[a] = x0 * c[i] - x1 * s[i];
        v[b] = x1 * c[i] + x0 * s[i];
      }
    }
  }
}

}  // namespace tsc::cpu
