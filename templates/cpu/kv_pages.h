// CPU KV pages: where a page's keys, values and key bounds live (layout: kernel_table.h, KvLayer), and the
// key bound page score, the box bound of q·k from a page's channel min/max (DESIGN.md "Page scores").
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "templates/cpu/kernel_table.h"
#include "templates/cpu/page_score.h"

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

// The key bound as a page score (page_score.h): the bounds every page keeps are its whole summary.
template <int HEAD_DIM, int PAGE_SIZE>
struct PageScoreBound {
  static constexpr int kSummaryWords = 0;
  static void append(const KvLayer&, int32_t, int64_t, int64_t) {}
  template <int GROUP, bool MAX = false>
  static void candidates(const KvLayer& kv, const SeqPages& seq, int64_t h, int64_t p0, const float* q_group, float,
                         std::vector<std::pair<float, int32_t>>& cand) {
    const int64_t num_pages = (seq.num_tokens + PAGE_SIZE - 1) / PAGE_SIZE;
    for (int64_t p = p0; p + 1 < num_pages; ++p)
      cand.emplace_back(page_score<HEAD_DIM, GROUP, MAX>(q_group, bounds_at<HEAD_DIM>(kv, seq.pages[p], h)), static_cast<int32_t>(p));
  }
  // Scores are sums of the magnitude's terms: their difference over it.
  static float gap(float hi, float lo, float magnitude, float) { return (hi - lo) / std::max(magnitude, 1e-30f); }
};

template <>
struct PageScoreImpl<kPageScoreBound> {
  template <int HEAD_DIM, int PAGE_SIZE>
  using type = PageScoreBound<HEAD_DIM, PAGE_SIZE>;
};

}  // namespace tsc::cpu
