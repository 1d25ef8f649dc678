// CPU KV pages: where a page's keys, values and key bounds live (layout: kernel_table.h, KvLayer), and the
// design's page score, the box bound of q·k from a page's channel min/max (DESIGN.md "Query-aware page selection").
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>

#include "templates/cpu/kernel_table.h"

namespace tsc::cpu {

template <int HEAD_DIM, int PAGE_SIZE>
inline float* key_at(const KvLayer& kv, int32_t page, int64_t h, int64_t slot) {
  return kv.k + ((static_cast<int64_t>(page) * kv.num_kv_heads + h) * PAGE_SIZE + slot) * HEAD_DIM;
}
template <int HEAD_DIM, int PAGE_SIZE>
inline float* value_at(const KvLayer& kv, int32_t page, int64_t h, int64_t slot) {
  return kv.v + ((static_cast<int64_t>(page) * kv.num_kv_heads + h) * PAGE_SIZE + slot) * HEAD_DIM;
}
template <int HEAD_DIM>
inline float* bounds_at(const KvLayer& kv, int32_t page, int64_t h) {
  return kv.bounds + (static_cast<int64_t>(page) * kv.num_kv_heads + h) * 2 * HEAD_DIM;
}

// The box bound of one query head over a page: Σ_c max(q_c·min_c, q_c·max_c) >= q·k for every key k whose
// channels lie in [min_c, max_c]. bounds: [2, HEAD_DIM] (min, then max).
template <int HEAD_DIM>
inline float box_bound(const float* q, const float* bounds) {
  float s = 0.f;
  for (int c = 0; c < HEAD_DIM; ++c) s += std::max(q[c] * bounds[c], q[c] * bounds[HEAD_DIM + c]);
  return s;
}

// Upper bound of Σ_g q_g·k over keys k of a page: Σ_g Σ_c max(q_gc·min_c, q_gc·max_c) (the design's sum
// over the GQA group), or with MAX the max over g of each head's bound (an ablation: score --select-reduce max).
template <int HEAD_DIM, int GROUP, bool MAX = false>
inline float page_score(const float* q_group, const float* bounds) {
  float total = 0.f, best = -std::numeric_limits<float>::infinity();
  for (int g = 0; g < GROUP; ++g) {
    const float s = box_bound<HEAD_DIM>(q_group + g * HEAD_DIM, bounds);
    total += s;
    best = std::max(best, s);
  }
  return MAX ? best : total;
}

// The magnitude page_score's rounding scales with: Σ_g Σ_c |q_gc|·max(|min_c|, |max_c|), the sum of its terms'
// sizes. Two targets that round q and the bounds differently (fp16 vs fp32) disagree on scores by a
// small fraction of it, so page scores closer than that are ties in all but name.
template <int HEAD_DIM, int GROUP>
inline float page_score_magnitude(const float* q_group, const float* bounds) {
  float s = 0.f;
  for (int g = 0; g < GROUP; ++g)
    for (int c = 0; c < HEAD_DIM; ++c)
      s += std::abs(q_group[g * HEAD_DIM + c]) * std::max(std::abs(bounds[c]), std::abs(bounds[HEAD_DIM + c]));
  return s;
}

}  // namespace tsc::cpu
