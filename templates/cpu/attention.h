// CPU paged attention: KV append with key bounds, dense causal prefill, and decode with query-aware page
// selection (DESIGN.md "Query-aware page selection"): the reference semantics the CUDA kernels are held to.
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "templates/cpu/common.h"
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

// k, v: [n, hkv * HEAD_DIM] for token positions [start, start + n).
template <int HEAD_DIM, int PAGE_SIZE>
void kv_append(const KvLayer& kv, const SeqPages& seq, int64_t start, int64_t n, const float* k, const float* v) {
  const int64_t hkv = kv.num_kv_heads;
  for (int64_t t = 0; t < n; ++t) {
    const int64_t pos = start + t, slot = pos % PAGE_SIZE;
    const int32_t page = seq.pages[pos / PAGE_SIZE];
    for (int64_t h = 0; h < hkv; ++h) {
      const float* ks = k + (t * hkv + h) * HEAD_DIM;
      std::copy(ks, ks + HEAD_DIM, key_at<HEAD_DIM, PAGE_SIZE>(kv, page, h, slot));
      std::copy(v + (t * hkv + h) * HEAD_DIM, v + (t * hkv + h + 1) * HEAD_DIM, value_at<HEAD_DIM, PAGE_SIZE>(kv, page, h, slot));
      float* b = bounds_at<HEAD_DIM>(kv, page, h);  // [2, HEAD_DIM]: min then max
      for (int c = 0; c < HEAD_DIM; ++c) {
        if (slot == 0) b[c] = b[HEAD_DIM + c] = ks[c];
        else {
          b[c] = std::min(b[c], ks[c]);
          b[HEAD_DIM + c] = std::max(b[HEAD_DIM + c], ks[c]);
        }
      }
    }
  }
}

// Softmax-weighted sum over a list of token positions for one query head (two passes, fp32).
template <int HEAD_DIM, int PAGE_SIZE>
void attend_tokens(const KvLayer& kv, const SeqPages& seq, int64_t h, const float* q, float scale,
                   const int32_t* page_list, int64_t num_pages, int64_t last_token, float* out, std::vector<float>& logit) {
  logit.clear();
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < num_pages; ++i) {
    const int64_t p = page_list[i];
    const int64_t end = std::min<int64_t>(PAGE_SIZE, last_token + 1 - p * PAGE_SIZE);
    for (int64_t s = 0; s < end; ++s) {
      const float x = dot(q, key_at<HEAD_DIM, PAGE_SIZE>(kv, seq.pages[p], h, s), HEAD_DIM) * scale;
      logit.push_back(x);
      m = std::max(m, x);
    }
  }
  float acc[HEAD_DIM] = {};
  float sum = 0.f;
  size_t j = 0;
  for (int64_t i = 0; i < num_pages; ++i) {
    const int64_t p = page_list[i];
    const int64_t end = std::min<int64_t>(PAGE_SIZE, last_token + 1 - p * PAGE_SIZE);
    for (int64_t s = 0; s < end; ++s, ++j) {
      const float w = std::exp(logit[j] - m);
      sum += w;
      const float* vv = value_at<HEAD_DIM, PAGE_SIZE>(kv, seq.pages[p], h, s);
      for (int c = 0; c < HEAD_DIM; ++c) acc[c] += w * vv[c];
    }
  }
  for (int c = 0; c < HEAD_DIM; ++c) out[c] = acc[c] / sum;
}

// q, out: [n, hq * HEAD_DIM]; query t sits at position start + t and sees positions 0..start+t.
template <int HEAD_DIM, int PAGE_SIZE, int GROUP>
void attend_prefill(const KvLayer& kv, const SeqPages& seq, int64_t start, int64_t n, int64_t hq, float scale,
                    const float* q, float* out) {
  const int64_t num_pages = (seq.num_tokens + PAGE_SIZE - 1) / PAGE_SIZE;
  std::vector<int32_t> all(static_cast<size_t>(num_pages));
  for (int64_t p = 0; p < num_pages; ++p) all[p] = static_cast<int32_t>(p);
#pragma omp parallel if (n * hq * seq.num_tokens * HEAD_DIM >= (int64_t{1} << 20))
  {
    std::vector<float> logit;
#pragma omp for collapse(2) schedule(static)
    for (int64_t t = 0; t < n; ++t)
      for (int64_t qh = 0; qh < hq; ++qh) {
        const int64_t pos = start + t;
        attend_tokens<HEAD_DIM, PAGE_SIZE>(kv, seq, qh / GROUP, q + (t * hq + qh) * HEAD_DIM, scale, all.data(),
                                           pos / PAGE_SIZE + 1, pos, out + (t * hq + qh) * HEAD_DIM, logit);
      }
  }
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

// Upper bound of Σ_g q_g·k over keys k of a page: Σ_g Σ_c max(q_gc·min_c, q_gc·max_c) (the design's sum
// over the GQA group), or with kSelectGroupMax the max over g of each head's bound.
template <int HEAD_DIM, int GROUP>
inline float page_score(const float* q_group, const float* bounds, int32_t flags = 0) {
  float total = 0.f, best = -std::numeric_limits<float>::infinity();
  for (int g = 0; g < GROUP; ++g) {
    float s = 0.f;
    for (int c = 0; c < HEAD_DIM; ++c) {
      const float qc = q_group[g * HEAD_DIM + c];
      s += std::max(qc * bounds[c], qc * bounds[HEAD_DIM + c]);
    }
    total += s;
    best = std::max(best, s);
  }
  return (flags & kSelectGroupMax) ? best : total;
}

// Pages kept for one KV head: first, last, and the top (budget - 2) of the rest by score (ties to the
// lower page index); all pages when the sequence has no more than `budget`. Ascending order. `scale` is
// the attention scale (used by the oracle ablation only).
template <int HEAD_DIM, int PAGE_SIZE, int TOP_K, int GROUP>
int64_t select_pages(const KvLayer& kv, const SeqPages& seq, int64_t h, const float* q_group, int64_t budget,
                     int32_t* kept, SelectStats* st, int32_t flags = 0, float scale = 1.f) {
  const int64_t num_pages = (seq.num_tokens + PAGE_SIZE - 1) / PAGE_SIZE;
  if (st) st->pages_total += num_pages;
  if (budget <= 0 || num_pages <= budget) {
    for (int64_t p = 0; p < num_pages; ++p) kept[p] = static_cast<int32_t>(p);
    if (st) st->pages_kept += num_pages;
    return num_pages;
  }
  // Without the sink (kSelectNoSink) the first page competes like the others.
  const bool sink = !(flags & kSelectNoSink);
  std::vector<std::pair<float, int32_t>> cand;
  cand.reserve(static_cast<size_t>(num_pages - 1));
  std::vector<float> mass;
  if (flags & kSelectOracle) oracle_page_mass<HEAD_DIM, PAGE_SIZE, GROUP>(kv, seq, h, q_group, scale, flags, mass);
  for (int64_t p = sink ? 1 : 0; p + 1 < num_pages; ++p)
    cand.emplace_back((flags & kSelectOracle) ? mass[p] : page_score<HEAD_DIM, GROUP>(q_group, bounds_at<HEAD_DIM>(kv, seq.pages[p], h), flags),
                      static_cast<int32_t>(p));
  const int64_t k = budget - (sink ? 2 : 1);
  std::partial_sort(cand.begin(), cand.begin() + k, cand.end(), [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  });
  int64_t n = 0;
  if (sink) kept[n++] = 0;
  for (int64_t i = 0; i < k; ++i) kept[n++] = cand[i].second;
  kept[n++] = static_cast<int32_t>(num_pages - 1);
  std::sort(kept, kept + n);
  if (st) {
    st->pages_scored += static_cast<int64_t>(cand.size());
    st->pages_kept += n;
  }
  return n;
}

// q, out: [hq * HEAD_DIM]; one query at the sequence's last position.
template <int HEAD_DIM, int PAGE_SIZE, int TOP_K, int GROUP>
void attend_decode(const KvLayer& kv, const SeqPages& seq, int64_t hq, float scale, int64_t budget, int32_t flags, const float* q,
                   float* out, SelectStats* stats) {
  const int64_t hkv = hq / GROUP, num_pages = (seq.num_tokens + PAGE_SIZE - 1) / PAGE_SIZE;
  std::vector<SelectStats> per_head(static_cast<size_t>(hkv));
#pragma omp parallel if (hq * seq.num_tokens * HEAD_DIM >= (int64_t{1} << 20))
  {
    std::vector<int32_t> kept(static_cast<size_t>(num_pages));
    std::vector<float> logit;
#pragma omp for schedule(static)
    for (int64_t h = 0; h < hkv; ++h) {
      const float* qg = q + h * GROUP * HEAD_DIM;
      const int64_t nk = select_pages<HEAD_DIM, PAGE_SIZE, TOP_K, GROUP>(kv, seq, h, qg, budget, kept.data(), &per_head[h], flags, scale);
      for (int g = 0; g < GROUP; ++g)
        attend_tokens<HEAD_DIM, PAGE_SIZE>(kv, seq, h, qg + g * HEAD_DIM, scale, kept.data(), nk, seq.num_tokens - 1,
                                           out + (h * GROUP + g) * HEAD_DIM, logit);
    }
  }
  if (stats)
    for (auto& s : per_head) {
      stats->pages_total += s.pages_total;
      stats->pages_scored += s.pages_scored;
      stats->pages_kept += s.pages_kept;
    }
}

}  // namespace tsc::cpu
