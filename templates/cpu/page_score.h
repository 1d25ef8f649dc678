// The page-score interface of the CPU target (DESIGN.md "Page scores"): what a score keeps per page and KV head,
// its append hook and its candidates' scores; each score's header specializes PageScoreImpl (its registry line).
#pragma once
#include <cstdint>

namespace tsc::cpu {

// A page score S = PageScoreOf<SCORE, HEAD_DIM, PAGE_SIZE> has:
//   S::kSummaryWords  uint32 words each page keeps per KV head beside its key bounds (KvLayer::sketch,
//                     [num_pages, hkv, kSummaryWords]; 0: none)
//   S::append(kv, page, h, slot)
//                     after key `slot` of the page (KV head h) is stored and the page's bounds include it
//   S::candidates<GROUP, MAX>(kv, seq, h, p0, q_group, scale, cand)
//                     (score, page) pairs of pages p0 .. last - 1 for the group's queries q_group [GROUP, HEAD_DIM]
//                     (larger = kept first), reduced over the group by the sum (the max with MAX, an ablation)
//   S::gap(hi, lo, magnitude, scale)
//                     how far apart two of its scores are, in units of the rounding both targets' scores carry
//                     (magnitude: page_score_magnitude of the two pages), for score --select-replay
template <int SCORE>
struct PageScoreImpl;  // specialized by each score's header: template <HEAD_DIM, PAGE_SIZE> using type = ...

template <int SCORE, int HEAD_DIM, int PAGE_SIZE>
using PageScoreOf = typename PageScoreImpl<SCORE>::template type<HEAD_DIM, PAGE_SIZE>;

}  // namespace tsc::cpu
