// The selection extension's kernels: decode attention with a page-selection ablation, a recorded trace or an
// imposed replay (score / serve diagnostics, docs/ACCURACY.md), filling SelectExtTable (select_ext_table.h). It
// instantiates the production templates (attention.h) with AblationHook; production never reaches it.
#pragma once
#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "templates/cpu/attention.h"
#include "templates/cpu/kernel_table.h"
#include "templates/cpu/kv_pages.h"
#include "templates/cpu/select_ablation.h"
#include "templates/cpu/select_ext_table.h"

namespace tsc::cpu {

// Imposes a replayed selection (row `rep`, TOP_K entries) on one KV head whose own ranking is `cand` (the first
// k entries are its top-k): copies the row's pages into `kept` and records in `st` whether they differ from the
// own top-k and the score gap they leave: between the highest-scored candidate left out and the lowest-scored one
// kept, as SCORE's gap over page_score_magnitude of those two pages (0 when the replayed pages are a top-k of
// these scores too). Returns the count, or -1 when the row does not fit this sequence.
template <int HEAD_DIM, int PAGE_SIZE, int TOP_K, int GROUP, int SCORE>
int64_t impose_replay(const KvLayer& kv, const SeqPages& seq, int64_t h, const float* q_group, float scale, int64_t budget, int64_t num_pages,
                      const int32_t* rep, const std::vector<std::pair<float, int32_t>>& cand, int64_t k, int32_t* kept, ReplayStats* st) {
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
    st->gap = std::max(st->gap, PageScoreOf<SCORE, HEAD_DIM, PAGE_SIZE>::gap(hi->first, lo->first, mag, scale));
  }
  st->differs += differs;
  std::copy(rep, rep + n, kept);
  return n;
}

// select_pages' hook for one KV head under `flags`, a replay row and a trace row (each TOP_K entries, or null).
template <int HEAD_DIM, int PAGE_SIZE, int TOP_K, int GROUP, int SCORE>
struct AblationHead {
  int32_t flags;
  const int32_t* replay;
  int32_t* trace;
  ReplayStats* rs;

  bool sink() const { return !(flags & kSelectNoSink); }
  void dense() const { rs->invalid += replay && replay[0] >= 0; }  // the replay selected where this step is dense
  bool score(const KvLayer& kv, const SeqPages& seq, int64_t h, int64_t p0, const float* q_group, float scale,
             std::vector<std::pair<float, int32_t>>& cand) const {
    if (flags & (kSelectOracle | kSelectAblationScores))
      ablation_candidates<HEAD_DIM, PAGE_SIZE, GROUP>(kv, seq, h, p0, q_group, scale, flags, cand);
    else if (flags & kSelectGroupMax)
      design_candidates<HEAD_DIM, PAGE_SIZE, GROUP, SCORE, true>(kv, seq, h, p0, q_group, scale, cand);
    else
      return false;
    return true;
  }
  int64_t impose(const KvLayer& kv, const SeqPages& seq, int64_t h, const float* q_group, float scale, int64_t budget, int64_t num_pages,
                 const std::vector<std::pair<float, int32_t>>& cand, int64_t k, int32_t* kept) const {
    if (!replay) return -1;
    ++rs->replayed;
    const int64_t n = impose_replay<HEAD_DIM, PAGE_SIZE, TOP_K, GROUP, SCORE>(kv, seq, h, q_group, scale, budget, num_pages, replay, cand, k, kept, rs);
    rs->invalid += n < 0;
    return n;
  }
  void record(const int32_t* kept, int64_t n) const {
    if (trace) std::copy(kept, kept + std::min<int64_t>(n, TOP_K), trace);
  }
};

// The step's hook: head(h) points at KV head h's rows and statistics (per head: heads run in parallel).
template <int HEAD_DIM, int PAGE_SIZE, int TOP_K, int GROUP, int SCORE>
struct AblationHook {
  int32_t flags;
  const SelectIo& io;
  std::vector<ReplayStats>& per_head;

  AblationHead<HEAD_DIM, PAGE_SIZE, TOP_K, GROUP, SCORE> head(int64_t h) const {
    int32_t* trace = io.trace ? io.trace + h * TOP_K : nullptr;
    if (trace) std::fill(trace, trace + TOP_K, -1);
    return {flags, io.replay ? io.replay + h * TOP_K : nullptr, trace, &per_head[static_cast<size_t>(h)]};
  }
};

template <int HEAD_DIM, int PAGE_SIZE, int TOP_K, int GROUP, int SCORE>
void attend_decode_ablated(const KvLayer& kv, const SeqPages& seq, int64_t hq, float scale, int64_t budget, int32_t flags, const SelectIo& io,
                           const SelectReuse& reuse, const float* q, float* out, SelectStats* stats, ReplayStats* replay) {
  std::vector<ReplayStats> per_head(static_cast<size_t>(hq / GROUP));
  const AblationHook<HEAD_DIM, PAGE_SIZE, TOP_K, GROUP, SCORE> hook{flags, io, per_head};
  attend_decode_with<HEAD_DIM, PAGE_SIZE, TOP_K, GROUP, SCORE>(kv, seq, hq, scale, budget, reuse, q, out, stats, hook);
  if (replay)
    for (const ReplayStats& s : per_head) {
      replay->replayed += s.replayed;
      replay->differs += s.differs;
      replay->invalid += s.invalid;
      replay->gap = std::max(replay->gap, s.gap);
    }
}

// SelectExt<Config>: the extension's table for the Config of Kernels<Config> (kernels.h), from the same
// generated file.
template <typename Config>
struct SelectExt {
  static const SelectExtTable* table() {
    static const SelectExtTable t = {
        Config::kKey,
        &attend_decode_ablated<Config::kHeadDim, Config::kPageSize, Config::kTopK, Config::kGroup, Config::kPageScore>};
    return &t;
  }
};

}  // namespace tsc::cpu
