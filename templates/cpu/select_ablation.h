// CPU-only page-selection ablations (score --select-score ...; docs/ACCURACY.md): the oracle that ranks
// pages by the attention mass exact attention gives them, tighter upper bounds screened from a page's keys,
// and estimates of a page's log attention mass. None of them is the design's selection (kv_pages.h).
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "templates/cpu/common.h"
#include "templates/cpu/kernel_table.h"
#include "templates/cpu/kv_pages.h"
#include "templates/cpu/page_sketch.h"
#include "templates/cpu/select_flags.h"

namespace tsc::cpu {

// page_score reduced over the group as `flags` ask (the max with kSelectGroupMax, else the sum).
template <int HEAD_DIM, int GROUP>
float page_score_as(const float* q_group, const float* bounds, int32_t flags) {
  return (flags & kSelectGroupMax) ? page_score<HEAD_DIM, GROUP, true>(q_group, bounds) : page_score<HEAD_DIM, GROUP>(q_group, bounds);
}

// Oracle page scores for one KV head (an ablation that measures what the bound costs): the attention mass
// exact dense attention puts on each page, Σ_g Σ_{k in page} softmax_g(scale q_g·k) (or the max over g with
// kSelectGroupMax). Reads every key, so it is as slow as dense attention. mass: [num_pages].
template <int HEAD_DIM, int PAGE_SIZE, int GROUP>
void oracle_page_mass(const KvLayer& kv, const SeqPages& seq, int64_t h, const float* q_group, float scale, int32_t flags,
                      std::vector<float>& mass) {
  const int64_t n = seq.num_tokens, num_pages = (n + PAGE_SIZE - 1) / PAGE_SIZE;
  mass.assign(static_cast<size_t>(num_pages), 0.f);
  std::vector<float> x(static_cast<size_t>(n)), head_mass(static_cast<size_t>(num_pages));
  for (int g = 0; g < GROUP; ++g) {
    float m = -std::numeric_limits<float>::infinity();
    for (int64_t t = 0; t < n; ++t) {
      x[t] = dot(q_group + g * HEAD_DIM, key_at<HEAD_DIM, PAGE_SIZE>(kv, seq.pages[t / PAGE_SIZE], h, t % PAGE_SIZE), HEAD_DIM) * scale;
      m = std::max(m, x[t]);
    }
    double z = 0;
    std::fill(head_mass.begin(), head_mass.end(), 0.f);
    for (int64_t t = 0; t < n; ++t) {
      const float w = std::exp(x[t] - m);
      z += w;
      head_mass[t / PAGE_SIZE] += w;
    }
    for (int64_t p = 0; p < num_pages; ++p) {
      const float share = static_cast<float>(head_mass[p] / z);
      mass[p] = (flags & kSelectGroupMax) ? std::max(mass[p], share) : mass[p] + share;
    }
  }
}

// Screening scores (ablations: score --select-score subpage2|subpage4|sphere|subpage2sphere|qsum|qsumsphere), from
// the page's stored keys as the oracle reads them (a GPU would keep these summaries beside the bounds). Each
// is an upper bound of Σ_g q_g·k over the stored keys k of the page, reduced over the group like page_score,
// and never looser than it:
//   kSelectSubpage2 / kSelectSubpage4: the page's slots in 2 / 4 equal runs, each with its own channel
//     min/max box; score = the max over runs of the run's group-reduced box bound.
//   kSelectSphere: per run, center c = box midpoint (min+max)/2, radius r = max over the run's keys of
//     ||k - c||_2, h = (max-min)/2; per query head q·c + min(Σ_c |q_c| h_c, ||q||_2 r) (the box bound and
//     the ball bound, both valid). With no subpage bit the run is the whole page.
//   kSelectQSum (group sum only): the bound of (Σ_g q_g)·k, i.e. of the group's summed query, in place of
//     the sum of each head's bound; combines with the bits above.
// Runs cover stored keys only (slots < stored), so a partly filled page is bounded by the keys it holds.
template <int HEAD_DIM, int PAGE_SIZE, int GROUP>
float page_score_keys(const KvLayer& kv, int32_t page, int64_t h, int64_t stored, const float* q_group, int32_t flags) {
  if constexpr (GROUP > 1) {
    if ((flags & kSelectQSum) && !(flags & kSelectGroupMax)) {
      float qs[HEAD_DIM] = {};
      for (int g = 0; g < GROUP; ++g)
        for (int c = 0; c < HEAD_DIM; ++c) qs[c] += q_group[g * HEAD_DIM + c];
      return page_score_keys<HEAD_DIM, PAGE_SIZE, 1>(kv, page, h, stored, qs, flags);
    }
  }
  const int parts = (flags & kSelectSubpage4) ? 4 : (flags & kSelectSubpage2) ? 2 : 1;
  const bool sphere = (flags & kSelectSphere) != 0;
  float qnorm[GROUP];
  for (int g = 0; g < GROUP; ++g) qnorm[g] = std::sqrt(dot(q_group + g * HEAD_DIM, q_group + g * HEAD_DIM, HEAD_DIM));
  float best = -std::numeric_limits<float>::infinity();
  for (int j = 0; j < parts; ++j) {
    const int64_t s0 = int64_t{j} * PAGE_SIZE / parts, s1 = std::min<int64_t>(int64_t{j + 1} * PAGE_SIZE / parts, stored);
    if (s0 >= s1) continue;
    float b[2 * HEAD_DIM];  // [2, HEAD_DIM]: min then max over slots [s0, s1)
    const float* k0 = key_at<HEAD_DIM, PAGE_SIZE>(kv, page, h, s0);
    std::copy(k0, k0 + HEAD_DIM, b);
    std::copy(k0, k0 + HEAD_DIM, b + HEAD_DIM);
    for (int64_t s = s0 + 1; s < s1; ++s) {
      const float* k = key_at<HEAD_DIM, PAGE_SIZE>(kv, page, h, s);
      for (int c = 0; c < HEAD_DIM; ++c) {
        b[c] = std::min(b[c], k[c]);
        b[HEAD_DIM + c] = std::max(b[HEAD_DIM + c], k[c]);
      }
    }
    float run_score;
    if (!sphere) {
      run_score = page_score_as<HEAD_DIM, GROUP>(q_group, b, flags);
    } else {
      float cen[HEAD_DIM], half[HEAD_DIM], r2 = 0.f;
      for (int c = 0; c < HEAD_DIM; ++c) {
        cen[c] = 0.5f * (b[c] + b[HEAD_DIM + c]);
        half[c] = 0.5f * (b[HEAD_DIM + c] - b[c]);
      }
      for (int64_t s = s0; s < s1; ++s) {
        const float* k = key_at<HEAD_DIM, PAGE_SIZE>(kv, page, h, s);
        float d2 = 0.f;
        for (int c = 0; c < HEAD_DIM; ++c) d2 += (k[c] - cen[c]) * (k[c] - cen[c]);
        r2 = std::max(r2, d2);
      }
      const float r = std::sqrt(r2);
      float total = 0.f, gbest = -std::numeric_limits<float>::infinity();
      for (int g = 0; g < GROUP; ++g) {
        const float* q = q_group + g * HEAD_DIM;
        float box = 0.f;
        for (int c = 0; c < HEAD_DIM; ++c) box += std::fabs(q[c]) * half[c];
        const float sg = dot(q, cen, HEAD_DIM) + std::min(box, qnorm[g] * r);
        total += sg;
        gbest = std::max(gbest, sg);
      }
      run_score = (flags & kSelectGroupMax) ? gbest : total;
    }
    best = std::max(best, run_score);
  }
  return best;
}

// Per query head g, an estimate of log Σ_{k in page} exp(scale q_g·k) (ablations that rank by estimated
// attention mass, not by a bound; select_pages normalizes them per head over the candidates and reduces
// over the group like the oracle). lm: [GROUP].
//   kSelectGauss: log n + scale q·μ + scale²/2 Σ_c q_c² σ_c² (μ, σ²: channel mean and variance of the n
//     stored keys; exact if the keys were Gaussian with independent channels). With kSelectSubpage2 /
//     kSelectSubpage4, the same per run of 2 / 4 equal runs of slots, combined by log-sum-exp.
//   kSelectBoundSoft: log n + scale · (q_g's box bound from the stored min/max): an upper bound of the log mass.
//     With kSelectGauss, the min of the two (the Gaussian estimate capped by the bound).
//   kSelectBoxGauss: kSelectGauss from the stored min/max alone (no keys read): μ ≈ the box's center,
//     σ_c ≈ (max_c - min_c) / d_n, d_n the expected range of n standard normal samples.
//   kSelectSketch1 / kSelectSketch2: log Σ_t exp(scale q·k̂_t) over the stored keys, each channel of each key
//     quantized to 2 / 4 equal levels of the page's min/max box and rebuilt at its level's center: the box plus
//     1 / 2 bits per key channel (a GPU would code a page once it is full; the last page is never scored). With
//     kSelectSketchHalf / kSelectSketchQuarter only the page's D/2 / D/4 widest box channels (ties to the lower
//     channel) carry bits, the others sit at the box center: + a D-bit channel mask, D/2 / D/4 bits per key.
template <int HEAD_DIM, int PAGE_SIZE, int GROUP>
void page_log_mass(const KvLayer& kv, int32_t page, int64_t h, int64_t stored, const float* q_group, float scale,
                   int32_t flags, float* lm) {
  const float log_n = std::log(static_cast<float>(stored));
  if (flags & (kSelectSketch1 | kSelectSketch2)) {
    const int levels = (flags & kSelectSketch2) ? 4 : 2;
    const float* b = bounds_at<HEAD_DIM>(kv, page, h);
    float w[HEAD_DIM];
    for (int c = 0; c < HEAD_DIM; ++c) w[c] = (b[HEAD_DIM + c] - b[c]) / static_cast<float>(levels);
    bool coded[HEAD_DIM];
    std::fill(coded, coded + HEAD_DIM, true);
    if (flags & (kSelectSketchHalf | kSelectSketchQuarter))
      widest_channels<HEAD_DIM>(w, (flags & kSelectSketchQuarter) ? HEAD_DIM / 4 : HEAD_DIM / 2, coded);
    std::fill(lm, lm + GROUP, -std::numeric_limits<float>::infinity());
    for (int64_t s = 0; s < stored; ++s) {
      const float* k = key_at<HEAD_DIM, PAGE_SIZE>(kv, page, h, s);
      float kh[HEAD_DIM];
      for (int c = 0; c < HEAD_DIM; ++c) {
        const int idx = w[c] > 0.f ? std::clamp(static_cast<int>(std::floor((k[c] - b[c]) / w[c])), 0, levels - 1) : 0;
        kh[c] = coded[c] ? b[c] + (static_cast<float>(idx) + 0.5f) * w[c] : 0.5f * (b[c] + b[HEAD_DIM + c]);
      }
      for (int g = 0; g < GROUP; ++g) {
        const float x = scale * dot(q_group + g * HEAD_DIM, kh, HEAD_DIM);
        const float hi = std::max(lm[g], x), lo = std::min(lm[g], x);
        lm[g] = hi + std::log1p(std::exp(lo - hi));
      }
    }
    return;
  }
  if (flags & kSelectBoxGauss) {
    // Expected range of n standard normal samples, n = 1, 2, 4, ..., 128 (n rounded down to a power of two).
    static constexpr float kRange[] = {1.f, 1.128f, 2.059f, 2.847f, 3.532f, 4.113f, 4.639f, 5.094f};
    int l = 0;
    while (l < 7 && (int64_t{2} << l) <= stored) ++l;
    const float inv_d = 1.f / kRange[l];
    const float* b = bounds_at<HEAD_DIM>(kv, page, h);
    for (int g = 0; g < GROUP; ++g) {
      const float* q = q_group + g * HEAD_DIM;
      float lin = 0.f, quad = 0.f;
      for (int c = 0; c < HEAD_DIM; ++c) {
        const float sd = (b[HEAD_DIM + c] - b[c]) * inv_d;
        lin += q[c] * 0.5f * (b[c] + b[HEAD_DIM + c]);
        quad += q[c] * q[c] * sd * sd;
      }
      lm[g] = log_n + scale * lin + 0.5f * scale * scale * quad;
    }
    return;
  }
  if ((flags & kSelectBoundSoft) && !(flags & kSelectGauss)) {
    const float* b = bounds_at<HEAD_DIM>(kv, page, h);
    for (int g = 0; g < GROUP; ++g) {
      const float s = box_bound<HEAD_DIM>(q_group + g * HEAD_DIM, b);
      lm[g] = log_n + scale * s;
    }
    return;
  }
  const int parts = (flags & kSelectSubpage4) ? 4 : (flags & kSelectSubpage2) ? 2 : 1;
  std::fill(lm, lm + GROUP, -std::numeric_limits<float>::infinity());
  for (int j = 0; j < parts; ++j) {
    const int64_t s0 = int64_t{j} * PAGE_SIZE / parts, s1 = std::min<int64_t>(int64_t{j + 1} * PAGE_SIZE / parts, stored);
    if (s0 >= s1) continue;
    const float n = static_cast<float>(s1 - s0);
    float mu[HEAD_DIM] = {}, var[HEAD_DIM] = {};
    for (int64_t s = s0; s < s1; ++s) {
      const float* k = key_at<HEAD_DIM, PAGE_SIZE>(kv, page, h, s);
      for (int c = 0; c < HEAD_DIM; ++c) mu[c] += k[c];
    }
    for (int c = 0; c < HEAD_DIM; ++c) mu[c] /= n;
    for (int64_t s = s0; s < s1; ++s) {
      const float* k = key_at<HEAD_DIM, PAGE_SIZE>(kv, page, h, s);
      for (int c = 0; c < HEAD_DIM; ++c) var[c] += (k[c] - mu[c]) * (k[c] - mu[c]);
    }
    for (int g = 0; g < GROUP; ++g) {
      const float* q = q_group + g * HEAD_DIM;
      float quad = 0.f;
      for (int c = 0; c < HEAD_DIM; ++c) quad += q[c] * q[c] * var[c];
      const float run = std::log(n) + scale * dot(q, mu, HEAD_DIM) + 0.5f * scale * scale * quad / n;
      const float hi = std::max(lm[g], run), lo = std::min(lm[g], run);
      lm[g] = hi + std::log1p(std::exp(lo - hi));  // log-sum-exp over runs
    }
  }
  if (flags & kSelectBoundSoft) {  // gausscap: no estimate above the bound's
    const float* b = bounds_at<HEAD_DIM>(kv, page, h);
    for (int g = 0; g < GROUP; ++g) {
      const float s = box_bound<HEAD_DIM>(q_group + g * HEAD_DIM, b);
      lm[g] = std::min(lm[g], log_n + scale * s);
    }
  }
}


// Candidate (score, page) pairs for pages [p0, last page) under an ablation score (oracle, a bound from the
// keys, or estimated mass: each head's log-mass estimates normalized over the candidates, then summed, or
// max with kSelectGroupMax, over the group like the oracle). select_pages ranks them like the design's.
template <int HEAD_DIM, int PAGE_SIZE, int GROUP>
void ablation_candidates(const KvLayer& kv, const SeqPages& seq, int64_t h, int64_t p0, const float* q_group, float scale,
                         int32_t flags, std::vector<std::pair<float, int32_t>>& cand) {
  const int64_t num_pages = (seq.num_tokens + PAGE_SIZE - 1) / PAGE_SIZE, nc = num_pages - 1 - p0;
  auto stored = [&](int64_t p) { return std::min<int64_t>(PAGE_SIZE, seq.num_tokens - p * PAGE_SIZE); };
  if (flags & kSelectEstimates) {
    std::vector<float> lm(static_cast<size_t>(nc * GROUP));
    for (int64_t i = 0; i < nc; ++i)
      page_log_mass<HEAD_DIM, PAGE_SIZE, GROUP>(kv, seq.pages[p0 + i], h, stored(p0 + i), q_group, scale, flags, &lm[i * GROUP]);
    if (flags & kSelectGroupMax) normalized_mass_candidates<GROUP, true>(lm, nc, p0, cand);
    else normalized_mass_candidates<GROUP>(lm, nc, p0, cand);
    return;
  }
  std::vector<float> mass;
  if (flags & kSelectOracle) oracle_page_mass<HEAD_DIM, PAGE_SIZE, GROUP>(kv, seq, h, q_group, scale, flags, mass);
  for (int64_t p = p0; p + 1 < num_pages; ++p)
    cand.emplace_back((flags & kSelectOracle) ? mass[p] : page_score_keys<HEAD_DIM, PAGE_SIZE, GROUP>(kv, seq.pages[p], h, stored(p), q_group, flags),
                      static_cast<int32_t>(p));
}

}  // namespace tsc::cpu
