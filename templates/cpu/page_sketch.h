// The key sketch page score (tsc --page-score sketch; DESIGN.md "Page scores"): a full page is
// coded once, as its last key is appended, into 1 bit per key on its HEAD_DIM/4 widest box channels, and
// decode ranks pages by the attention mass those coded keys estimate.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "templates/cpu/kernel_table.h"
#include "templates/cpu/kv_pages.h"

namespace tsc::cpu {

// Words of one page and KV head's sketch (KvLayer::sketch): a HEAD_DIM-bit mask of the coded channels,
// then per slot one bit per coded channel, in increasing channel order.
template <int HEAD_DIM, int PAGE_SIZE>
struct SketchLayout {
  static constexpr int kCoded = HEAD_DIM / 4;                // channels that carry a bit per key
  static constexpr int kMaskWords = (HEAD_DIM + 31) / 32;    // [kMaskWords] coded-channel mask
  static constexpr int kKeyWords = (kCoded + 31) / 32;       // [PAGE_SIZE, kKeyWords] key bits
  static constexpr int kWords = kMaskWords + PAGE_SIZE * kKeyWords;
};

template <int HEAD_DIM, int PAGE_SIZE>
inline uint32_t* sketch_at(const KvLayer& kv, int32_t page, int64_t h) {
  return kv.sketch + (static_cast<int64_t>(page) * kv.num_kv_heads + h) * SketchLayout<HEAD_DIM, PAGE_SIZE>::kWords;
}

// Marks the n channels of largest w (ties to the lower channel): the channels a sketch codes. w, coded: [HEAD_DIM].
template <int HEAD_DIM>
void widest_channels(const float* w, int n, bool* coded) {
  int order[HEAD_DIM];
  for (int c = 0; c < HEAD_DIM; ++c) order[c] = c;
  std::stable_sort(order, order + HEAD_DIM, [&](int x, int y) { return w[x] > w[y]; });
  std::fill(coded, coded + HEAD_DIM, false);
  for (int i = 0; i < n; ++i) coded[order[i]] = true;
}

// Candidate (score, page) pairs from per-head log masses lm [nc, GROUP] of pages p0 .. p0 + nc - 1: each query
// head's log masses normalized over the candidates (exp(lm - max over candidates)), then summed over the GQA
// group (the max over it with MAX). Shared by the sketch and the estimated-mass ablations.
template <int GROUP, bool MAX = false>
void normalized_mass_candidates(const std::vector<float>& lm, int64_t nc, int64_t p0, std::vector<std::pair<float, int32_t>>& cand) {
  float top[GROUP];
  std::fill(top, top + GROUP, -std::numeric_limits<float>::infinity());
  for (int64_t i = 0; i < nc; ++i)
    for (int g = 0; g < GROUP; ++g) top[g] = std::max(top[g], lm[i * GROUP + g]);
  for (int64_t i = 0; i < nc; ++i) {
    float total = 0.f, best = 0.f;
    for (int g = 0; g < GROUP; ++g) {
      const float w = std::exp(lm[i * GROUP + g] - top[g]);
      total += w;
      best = std::max(best, w);
    }
    cand.emplace_back(MAX ? best : total, static_cast<int32_t>(p0 + i));
  }
}

// Codes page `page`, KV head h, from its PAGE_SIZE stored keys and their box (bounds_at): the kCoded channels
// of largest max - min (ties to the lower channel) are coded; key k's bit on channel c is 1 when k_c lies in the
// upper half of [min_c, max_c], i.e. (k_c - min_c) / w_c >= 1 with w_c = (max_c - min_c) / 2.
template <int HEAD_DIM, int PAGE_SIZE>
void sketch_code_page(const KvLayer& kv, int32_t page, int64_t h) {
  using L = SketchLayout<HEAD_DIM, PAGE_SIZE>;
  const float* b = bounds_at<HEAD_DIM>(kv, page, h);
  float w[HEAD_DIM];
  for (int c = 0; c < HEAD_DIM; ++c) w[c] = (b[HEAD_DIM + c] - b[c]) / 2.f;
  bool coded[HEAD_DIM];
  widest_channels<HEAD_DIM>(w, L::kCoded, coded);
  uint32_t* s = sketch_at<HEAD_DIM, PAGE_SIZE>(kv, page, h);
  std::fill(s, s + L::kWords, 0u);
  for (int c = 0; c < HEAD_DIM; ++c)
    if (coded[c]) s[c / 32] |= 1u << (c % 32);
  for (int slot = 0; slot < PAGE_SIZE; ++slot) {
    const float* k = key_at<HEAD_DIM, PAGE_SIZE>(kv, page, h, slot);
    uint32_t* bits = s + L::kMaskWords + slot * L::kKeyWords;
    for (int c = 0, j = 0; c < HEAD_DIM; ++c) {
      if (!coded[c]) continue;
      if (w[c] > 0.f && (k[c] - b[c]) / w[c] >= 1.f) bits[j / 32] |= 1u << (j % 32);
      ++j;
    }
  }
}

// Per query head g, log Σ_{keys of the page} exp(scale q_g·k̂): k̂ is a key rebuilt from the sketch, each coded
// channel at the center of its half of the box (center_c ± (max_c - min_c)/4), every other channel at the box
// center. So q·k̂ = q·center + Σ_coded ±q_c (max_c - min_c)/4: one term per coded channel and key, no key read.
// lm: [GROUP].
template <int HEAD_DIM, int PAGE_SIZE, int GROUP>
void sketch_log_mass(const KvLayer& kv, int32_t page, int64_t h, const float* q_group, float scale, float* lm) {
  using L = SketchLayout<HEAD_DIM, PAGE_SIZE>;
  const float* b = bounds_at<HEAD_DIM>(kv, page, h);
  const uint32_t* s = sketch_at<HEAD_DIM, PAGE_SIZE>(kv, page, h);
  int coded[L::kCoded];
  for (int c = 0, j = 0; c < HEAD_DIM && j < L::kCoded; ++c)
    if (s[c / 32] >> (c % 32) & 1u) coded[j++] = c;
  for (int g = 0; g < GROUP; ++g) {
    const float* q = q_group + g * HEAD_DIM;
    float base = 0.f, a[L::kCoded];
    for (int c = 0; c < HEAD_DIM; ++c) base += q[c] * 0.5f * (b[c] + b[HEAD_DIM + c]);
    for (int j = 0; j < L::kCoded; ++j) {
      const int c = coded[j];
      a[j] = q[c] * 0.25f * (b[HEAD_DIM + c] - b[c]);
      base -= a[j];  // every coded channel starts in its lower half; a 1 bit adds 2 a_j
    }
    float x[PAGE_SIZE], m = -std::numeric_limits<float>::infinity();
    for (int slot = 0; slot < PAGE_SIZE; ++slot) {
      const uint32_t* bits = s + L::kMaskWords + slot * L::kKeyWords;
      float d = base;
      for (int j = 0; j < L::kCoded; ++j)
        if (bits[j / 32] >> (j % 32) & 1u) d += 2.f * a[j];
      x[slot] = scale * d;
      m = std::max(m, x[slot]);
    }
    float z = 0.f;
    for (int slot = 0; slot < PAGE_SIZE; ++slot) z += std::exp(x[slot] - m);
    lm[g] = m + std::log(z);
  }
}

// Candidate (score, page) pairs for pages [p0, last page) under the sketch (normalized_mass_candidates). Every
// candidate is full, hence coded: only the last page can be partial, and it is always kept, never scored.
template <int HEAD_DIM, int PAGE_SIZE, int GROUP, bool MAX = false>
void sketch_candidates(const KvLayer& kv, const SeqPages& seq, int64_t h, int64_t p0, const float* q_group, float scale,
                       std::vector<std::pair<float, int32_t>>& cand) {
  const int64_t num_pages = (seq.num_tokens + PAGE_SIZE - 1) / PAGE_SIZE, nc = num_pages - 1 - p0;
  std::vector<float> lm(static_cast<size_t>(nc * GROUP));
  for (int64_t i = 0; i < nc; ++i) sketch_log_mass<HEAD_DIM, PAGE_SIZE, GROUP>(kv, seq.pages[p0 + i], h, q_group, scale, &lm[i * GROUP]);
  normalized_mass_candidates<GROUP, MAX>(lm, nc, p0, cand);
}

// The key sketch as a page score (page_score.h): a page's code is its summary, written as its last key arrives.
template <int HEAD_DIM, int PAGE_SIZE>
struct PageScoreSketch {
  static constexpr int kSummaryWords = SketchLayout<HEAD_DIM, PAGE_SIZE>::kWords;
  static void append(const KvLayer& kv, int32_t page, int64_t h, int64_t slot) {
    if (slot == PAGE_SIZE - 1) sketch_code_page<HEAD_DIM, PAGE_SIZE>(kv, page, h);
  }
  template <int GROUP, bool MAX = false>
  static void candidates(const KvLayer& kv, const SeqPages& seq, int64_t h, int64_t p0, const float* q_group, float scale,
                         std::vector<std::pair<float, int32_t>>& cand) {
    sketch_candidates<HEAD_DIM, PAGE_SIZE, GROUP, MAX>(kv, seq, h, p0, q_group, scale, cand);
  }
  // Scores are exp(log masses) of scaled dot products: their log ratio over the scaled magnitude.
  static float gap(float hi, float lo, float magnitude, float scale) {
    return std::log(std::max(hi, 1e-30f) / std::max(lo, 1e-30f)) / std::max(scale * magnitude, 1e-30f);
  }
};

template <>
struct PageScoreImpl<kPageScoreSketch> {
  template <int HEAD_DIM, int PAGE_SIZE>
  using type = PageScoreSketch<HEAD_DIM, PAGE_SIZE>;
};

}  // namespace tsc::cpu
