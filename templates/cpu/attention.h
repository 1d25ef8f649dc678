// CPU paged attention: KV append with key bounds, dense causal prefill, and decode with query-aware page
// selection (DESIGN.md "Query-aware page selection"): the reference semantics the CUDA kernels are held to.
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "templates/cpu/attend_tile.h"
#include "templates/cpu/common.h"
#include "templates/cpu/kernel_table.h"
#include "templates/cpu/kv_pages.h"
#include "templates/cpu/page_sketch.h"

namespace tsc::cpu {

// k, v: [n, hkv * HEAD_DIM] for token positions [start, start + n). The page score's hook (SCORE, page_score.h)
// runs after each key's bounds: the sketch codes a page as its last slot is written, its box final then.
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
      PageScoreOf<SCORE, HEAD_DIM, PAGE_SIZE>::append(kv, page, h, slot);
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

// The production selection's hook: every member a constant or a no-op, so select_pages compiles to the
// design's selection alone. The selection extension (select_ext.h) instantiates the same functions with a hook
// that applies an ablation, records a trace or imposes a replay; production never branches on those.
struct NoSelectHook {
  struct Head {  // one KV head of one decode step
    static constexpr bool sink() { return true; }  // the first page is always kept
    static constexpr void dense() {}                // the step attends densely
    // Fills `cand` with an ablation's (score, page) pairs and returns true, or false: the design's scores.
    template <class... A> static constexpr bool score(A&&...) { return false; }
    // The number of pages it wrote into `kept` in place of the own top-k, or -1: the own top-k.
    template <class... A> static constexpr int64_t impose(A&&...) { return -1; }
    static constexpr void record(const int32_t*, int64_t) {}  // the pages attended
  };
  static constexpr Head head(int64_t) { return {}; }
};

// The design's (score, page) candidates for pages [p0, last page): SCORE's (the box bound, or the sketch's
// estimated mass; page_score.h), reduced over the GQA group by the sum (or by the max with MAX, an ablation).
template <int HEAD_DIM, int PAGE_SIZE, int GROUP, int SCORE, bool MAX = false>
void design_candidates(const KvLayer& kv, const SeqPages& seq, int64_t h, int64_t p0, const float* q_group, float scale,
                       std::vector<std::pair<float, int32_t>>& cand) {
  PageScoreOf<SCORE, HEAD_DIM, PAGE_SIZE>::template candidates<GROUP, MAX>(kv, seq, h, p0, q_group, scale, cand);
}

// Pages kept for one KV head: first, last, and the top (budget - 2) of the rest by SCORE's score (ties to the
// lower page index); all pages when the sequence has no more than `budget`. Ascending order. `scale` is the
// attention scale (used by the sketch). Selection reuse (`keep`, one row of TOP_K): with reuse_from > 0 the
// row's budget pages and every page from reuse_from on are kept unscored; a scoring step stores its pages there.
// `head` (NoSelectHook::Head in production) may change the ranking or the pages and sees the pages attended.
template <int HEAD_DIM, int PAGE_SIZE, int TOP_K, int GROUP, int SCORE, typename Head = NoSelectHook::Head>
int64_t select_pages(const KvLayer& kv, const SeqPages& seq, int64_t h, const float* q_group, int64_t budget, float scale, int32_t* keep,
                     int64_t reuse_from, int32_t* kept, SelectStats* st, const Head& head = {}) {
  const int64_t num_pages = (seq.num_tokens + PAGE_SIZE - 1) / PAGE_SIZE;
  if (st) st->pages_total += num_pages;
  if (budget <= 0 || num_pages <= budget) {
    head.dense();
    for (int64_t p = 0; p < num_pages; ++p) kept[p] = static_cast<int32_t>(p);
    if (st) st->pages_kept += num_pages;
    return num_pages;
  }
  if (keep && reuse_from > 0) {  // the last scoring's pages (ascending, all below reuse_from), then the new ones
    int64_t n = 0;
    for (; n < budget; ++n) kept[n] = keep[n];
    for (int64_t p = reuse_from; p < num_pages; ++p) kept[n++] = static_cast<int32_t>(p);
    head.record(kept, n);
    if (st) st->pages_kept += n;
    return n;
  }
  // Without the sink (an ablation) the first page competes like the others.
  const bool sink = head.sink();
  std::vector<std::pair<float, int32_t>> cand;
  cand.reserve(static_cast<size_t>(num_pages - 1));
  const int64_t p0 = sink ? 1 : 0;
  if (!head.score(kv, seq, h, p0, q_group, scale, cand)) design_candidates<HEAD_DIM, PAGE_SIZE, GROUP, SCORE>(kv, seq, h, p0, q_group, scale, cand);
  const int64_t k = budget - (sink ? 2 : 1);
  std::partial_sort(cand.begin(), cand.begin() + k, cand.end(), [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  });
  int64_t n = head.impose(kv, seq, h, q_group, scale, budget, num_pages, cand, k, kept);
  if (n < 0) {
    n = 0;
    if (sink) kept[n++] = 0;
    for (int64_t i = 0; i < k; ++i) kept[n++] = cand[i].second;
    kept[n++] = static_cast<int32_t>(num_pages - 1);
    std::sort(kept, kept + n);
  }
  head.record(kept, n);
  if (keep) std::copy(kept, kept + n, keep);
  if (st) {
    st->pages_scored += static_cast<int64_t>(cand.size());
    st->pages_kept += n;
  }
  return n;
}

// q, out: [hq * HEAD_DIM]; one query at the sequence's last position, pages chosen by select_pages with
// hook.head(h) for KV head h.
template <int HEAD_DIM, int PAGE_SIZE, int TOP_K, int GROUP, int SCORE, typename Hook>
void attend_decode_with(const KvLayer& kv, const SeqPages& seq, int64_t hq, float scale, int64_t budget, const SelectReuse& reuse,
                        const float* q, float* out, SelectStats* stats, const Hook& hook) {
  const int64_t hkv = hq / GROUP, num_pages = (seq.num_tokens + PAGE_SIZE - 1) / PAGE_SIZE;
  std::vector<SelectStats> per_head(static_cast<size_t>(hkv));
#pragma omp parallel if (hq * seq.num_tokens * HEAD_DIM >= (int64_t{1} << 20))
  {
    std::vector<int32_t> kept(static_cast<size_t>(num_pages));
#pragma omp for schedule(static)
    for (int64_t h = 0; h < hkv; ++h) {
      const float* qg = q + h * GROUP * HEAD_DIM;
      const int64_t nk = select_pages<HEAD_DIM, PAGE_SIZE, TOP_K, GROUP, SCORE>(kv, seq, h, qg, budget, scale, reuse.keep ? reuse.keep + h * TOP_K : nullptr,
                                                                         reuse.reuse_from, kept.data(), &per_head[h], hook.head(h));
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
    }
}

// The production entry (KernelTable::attend_decode): the design's selection, no hook.
template <int HEAD_DIM, int PAGE_SIZE, int TOP_K, int GROUP, int SCORE>
void attend_decode(const KvLayer& kv, const SeqPages& seq, int64_t hq, float scale, int64_t budget, const SelectReuse& reuse, const float* q,
                   float* out, SelectStats* stats) {
  attend_decode_with<HEAD_DIM, PAGE_SIZE, TOP_K, GROUP, SCORE>(kv, seq, hq, scale, budget, reuse, q, out, stats, NoSelectHook{});
}

}  // namespace tsc::cpu
