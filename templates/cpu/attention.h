// CPU paged attention: KV append with key bounds, dense causal prefill, and decode with query-aware page
// selection (DESIGN.md "Query-aware page selection"): the reference semantics the CUDA kernels are held to.
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "templates/cpu/attend_tile.h"
#include "templates/cpu/common.h"
#include "templates/cpu/kernel_table.h"
#include "templates/cpu/kv_pages.h"
#include "templates/cpu/page_sketch.h"
#include "templates/cpu/select_ablation.h"

namespace tsc::cpu {

// k, v: [n, hkv * HEAD_DIM] for token positions [start, start + n). With the sketch score (SCORE), a page is
// coded as its last slot is written: its box is final then.
template <int HEAD_DIM, int PAGE_SIZE, int SCORE>
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
      if (SCORE == kPageScoreSketch && slot == PAGE_SIZE - 1) sketch_code_page<HEAD_DIM, PAGE_SIZE>(kv, page, h);
    }
  }
}

// q, out: [n, hq * HEAD_DIM]; query t sits at position start + t and sees positions 0..start+t. Work items are
// (KV head, block of tokens): the block's tokens times the GQA group's heads fill one panel of query rows.
template <int HEAD_DIM, int PAGE_SIZE, int GROUP>
void attend_prefill(const KvLayer& kv, const SeqPages& seq, int64_t start, int64_t n, int64_t hq, float scale,
                    const float* q, float* out) {
  constexpr int A = 2, P = A * simd::kLanes, TB = P / GROUP > 0 ? P / GROUP : 1;  // tokens per block
  constexpr int R = TB * GROUP;  // rows of a block: one panel, or GROUP rows over several panels
  const int64_t hkv = hq / GROUP, blocks = (n + TB - 1) / TB;
  std::vector<int32_t> all(static_cast<size_t>((seq.num_tokens + PAGE_SIZE - 1) / PAGE_SIZE));
  for (size_t p = 0; p < all.size(); ++p) all[p] = static_cast<int32_t>(p);
#pragma omp parallel for collapse(2) schedule(dynamic, 1) if (n * hq * seq.num_tokens * HEAD_DIM >= (int64_t{1} << 20))
  for (int64_t b = blocks - 1; b >= 0; --b)  // the longest (last) blocks first
    for (int64_t h = 0; h < hkv; ++h) {
      const float* rq[R];
      float* ro[R];
      int64_t rpos[R];
      int nrows = 0;
      for (int64_t t = b * TB; t < std::min(n, (b + 1) * TB); ++t)
        for (int g = 0; g < GROUP; ++g, ++nrows) {
          rq[nrows] = q + (t * hq + h * GROUP + g) * HEAD_DIM;
          ro[nrows] = out + (t * hq + h * GROUP + g) * HEAD_DIM;
          rpos[nrows] = start + t;
        }
      for (int r0 = 0; r0 < nrows; r0 += P) {
        const int nr = std::min(P, nrows - r0);
        attend_panel<HEAD_DIM, PAGE_SIZE, A>(kv, seq, h, nr, rq + r0, rpos + r0, scale, all.data(), rpos[r0 + nr - 1] / PAGE_SIZE + 1, ro + r0);
      }
    }
}

// Imposes a replayed selection (SelectIo::replay row `rep`, TOP_K entries) on one KV head whose own ranking
// is `cand` (the first k entries are its top-k): copies the rows' pages into `kept` and records in `st`
// whether they differ from the own top-k and the score gap they leave: the highest-scored candidate left out
// minus the lowest-scored one kept, over page_score_magnitude of those two pages (0 when the replayed pages
// are a top-k of these scores too). Returns the count, or -1 when the row does not fit this sequence.
template <int HEAD_DIM, int PAGE_SIZE, int TOP_K, int GROUP>
int64_t impose_replay(const KvLayer& kv, const SeqPages& seq, int64_t h, const float* q_group, int64_t budget, int64_t num_pages,
                      const int32_t* rep, const std::vector<std::pair<float, int32_t>>& cand, int64_t k, int32_t* kept, SelectStats* st) {
  int64_t n = 0;
  while (n < TOP_K && rep[n] >= 0) ++n;
  bool fits = n == budget && rep[0] == 0 && rep[n - 1] == num_pages - 1;
  for (int64_t i = 1; fits && i < n; ++i) fits = rep[i] > rep[i - 1];
  if (!fits) return -1;
  std::vector<char> in(static_cast<size_t>(num_pages), 0);
  for (int64_t i = 0; i < n; ++i) in[rep[i]] = 1;
  bool differs = false;
  for (int64_t i = 0; i < k; ++i) differs = differs || !in[cand[i].second];
  const std::pair<float, int32_t>*lo = nullptr, *hi = nullptr;  // lowest kept and highest left-out candidate
  for (const auto& c : cand) {
    if (in[c.second] && (!lo || c.first < lo->first)) lo = &c;
    if (!in[c.second] && (!hi || c.first > hi->first)) hi = &c;
  }
  if (differs && lo && hi && hi->first > lo->first) {
    const float mag = std::max(page_score_magnitude<HEAD_DIM, GROUP>(q_group, bounds_at<HEAD_DIM>(kv, seq.pages[lo->second], h)),
                               page_score_magnitude<HEAD_DIM, GROUP>(q_group, bounds_at<HEAD_DIM>(kv, seq.pages[hi->second], h)));
    st->replay_gap = std::max(st->replay_gap, (hi->first - lo->first) / std::max(mag, 1e-30f));
  }
  st->replay_differs += differs;
  std::copy(rep, rep + n, kept);
  return n;
}

// Pages kept for one KV head: first, last, and the top (budget - 2) of the rest by score (ties to the
// lower page index); all pages when the sequence has no more than `budget`. Ascending order. The score is
// SCORE's (the bound, or the sketch's estimated mass) unless `flags` ask for an ablation. `scale` is the
// attention scale (used by the sketch, the oracle and the estimated-mass ablations). `io` (each a row of
// TOP_K entries, or null): `replay` is attended instead of the own top-k (impose_replay), `trace` records
// the pages attended. Selection reuse (SelectIo::keep, one row of TOP_K): with reuse_from > 0 the row's
// budget pages and every page from reuse_from on are kept unscored; a scoring step stores its pages there.
template <int HEAD_DIM, int PAGE_SIZE, int TOP_K, int GROUP, int SCORE>
int64_t select_pages(const KvLayer& kv, const SeqPages& seq, int64_t h, const float* q_group, int64_t budget,
                     int32_t* kept, SelectStats* st, int32_t flags = 0, float scale = 1.f, const int32_t* replay = nullptr,
                     int32_t* trace = nullptr, int32_t* keep = nullptr, int64_t reuse_from = 0) {
  const int64_t num_pages = (seq.num_tokens + PAGE_SIZE - 1) / PAGE_SIZE;
  if (trace) std::fill(trace, trace + TOP_K, -1);
  if (st) st->pages_total += num_pages;
  if (budget <= 0 || num_pages <= budget) {
    if (replay && replay[0] >= 0 && st) ++st->replay_invalid;  // the replay selected where this step is dense
    for (int64_t p = 0; p < num_pages; ++p) kept[p] = static_cast<int32_t>(p);
    if (st) st->pages_kept += num_pages;
    return num_pages;
  }
  if (keep && reuse_from > 0) {  // the last scoring's pages (ascending, all below reuse_from), then the new ones
    int64_t n = 0;
    for (; n < budget; ++n) kept[n] = keep[n];
    for (int64_t p = reuse_from; p < num_pages; ++p) kept[n++] = static_cast<int32_t>(p);
    if (trace) std::copy(kept, kept + std::min<int64_t>(n, TOP_K), trace);
    if (st) st->pages_kept += n;
    return n;
  }
  // Without the sink (kSelectNoSink) the first page competes like the others.
  const bool sink = !(flags & kSelectNoSink);
  std::vector<std::pair<float, int32_t>> cand;
  cand.reserve(static_cast<size_t>(num_pages - 1));
  const int64_t p0 = sink ? 1 : 0;
  if (flags & (kSelectOracle | kSelectAblationScores)) {
    ablation_candidates<HEAD_DIM, PAGE_SIZE, GROUP>(kv, seq, h, p0, q_group, scale, flags, cand);
  } else if constexpr (SCORE == kPageScoreSketch) {
    sketch_candidates<HEAD_DIM, PAGE_SIZE, GROUP>(kv, seq, h, p0, q_group, scale, flags, cand);
  } else {
    for (int64_t p = p0; p + 1 < num_pages; ++p)
      cand.emplace_back(page_score<HEAD_DIM, GROUP>(q_group, bounds_at<HEAD_DIM>(kv, seq.pages[p], h), flags), static_cast<int32_t>(p));
  }
  const int64_t k = budget - (sink ? 2 : 1);
  std::partial_sort(cand.begin(), cand.begin() + k, cand.end(), [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  });
  int64_t n = -1;
  if (replay && st) {
    ++st->replayed;
    n = impose_replay<HEAD_DIM, PAGE_SIZE, TOP_K, GROUP>(kv, seq, h, q_group, budget, num_pages, replay, cand, k, kept, st);
    st->replay_invalid += n < 0;
  }
  if (n < 0) {
    n = 0;
    if (sink) kept[n++] = 0;
    for (int64_t i = 0; i < k; ++i) kept[n++] = cand[i].second;
    kept[n++] = static_cast<int32_t>(num_pages - 1);
    std::sort(kept, kept + n);
  }
  if (trace) std::copy(kept, kept + n, trace);
  if (keep) std::copy(kept, kept + n, keep);
  if (st) {
    st->pages_scored += static_cast<int64_t>(cand.size());
    st->pages_kept += n;
  }
  return n;
}

// q, out: [hq * HEAD_DIM]; one query at the sequence's last position.
template <int HEAD_DIM, int PAGE_SIZE, int TOP_K, int GROUP, int SCORE>
void attend_decode(const KvLayer& kv, const SeqPages& seq, int64_t hq, float scale, int64_t budget, int32_t flags, const SelectIo& io,
                   const float* q, float* out, SelectStats* stats) {
  const int64_t hkv = hq / GROUP, num_pages = (seq.num_tokens + PAGE_SIZE - 1) / PAGE_SIZE;
  std::vector<SelectStats> per_head(static_cast<size_t>(hkv));
#pragma omp parallel if (hq * seq.num_tokens * HEAD_DIM >= (int64_t{1} << 20))
  {
    std::vector<int32_t> kept(static_cast<size_t>(num_pages));
#pragma omp for schedule(static)
    for (int64_t h = 0; h < hkv; ++h) {
      const float* qg = q + h * GROUP * HEAD_DIM;
      const int64_t nk = select_pages<HEAD_DIM, PAGE_SIZE, TOP_K, GROUP, SCORE>(kv, seq, h, qg, budget, kept.data(), &per_head[h], flags, scale,
                                                                         io.replay ? io.replay + h * TOP_K : nullptr,
                                                                         io.trace ? io.trace + h * TOP_K : nullptr,
                                                                         io.keep ? io.keep + h * TOP_K : nullptr, io.reuse_from);
      // The group's heads are the rows of one panel (or several when GROUP exceeds the SIMD width).
      for (int g0 = 0; g0 < GROUP; g0 += simd::kLanes) {
        const float* rq[simd::kLanes];
        float* ro[simd::kLanes];
        int64_t rpos[simd::kLanes];
        const int nrows = std::min<int>(simd::kLanes, GROUP - g0);
        for (int r = 0; r < nrows; ++r) {
          rq[r] = qg + (g0 + r) * HEAD_DIM;
          ro[r] = out + (h * GROUP + g0 + r) * HEAD_DIM;
          rpos[r] = seq.num_tokens - 1;
        }
        attend_panel<HEAD_DIM, PAGE_SIZE, 1>(kv, seq, h, nrows, rq, rpos, scale, kept.data(), nk, ro);
      }
    }
  }
  if (stats)
    for (auto& s : per_head) {
      stats->pages_total += s.pages_total;
      stats->pages_scored += s.pages_scored;
      stats->pages_kept += s.pages_kept;
      stats->replayed += s.replayed;
      stats->replay_differs += s.replay_differs;
      stats->replay_invalid += s.replay_invalid;
      stats->replay_gap = std::max(stats->replay_gap, s.replay_gap);
    }
}

}  // namespace tsc::cpu
