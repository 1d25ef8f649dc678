// The page-score interface of the CUDA target (DESIGN.md "Page scores"): what a score keeps per page and KV head,
// its append hook and its selection step; each score is one header that specializes PageScoreImpl (its registry line).
#pragma once
#include "templates/cuda/common.cuh"
#include "templates/cuda/kernel_table.h"

namespace tsc::cuda {

constexpr int kDecodeThreads = 128;  // the fused decode-attention kernels' block, which runs a score's selection step
constexpr int kDecodeWarps = kDecodeThreads / 32;

// A page score S = PageScoreOf<SCORE, T, D, PS, GROUP> has (T: KV element type, D: head dim, PS: page size):
//   S::kSummaryWords   uint32 words each page keeps per KV head beside its key bounds (KvLayerDev::summary,
//                      [num_pages, hkv, kSummaryWords]; 0: none, summary is null)
//   S::kScratch        floats per candidate page in the scoring scratch (DecodeArgs::scores)
//   S::AppendShared    the append kernel's shared scratch for the hook
//   S::append(kpage, mn, mx, filled, summary, sh)
//                      run by the append kernel's D threads (thread c: channel c) after a page's keys and bounds are
//                      written: kpage [PS, D] the page's keys, mn/mx channel c's bounds as stored (T, as float),
//                      `filled` slots written so far, summary the page and head's words
//   S::SelectShared    the decode kernel's shared scratch for the two steps below
//   S::score(a, kv, q, pt, h, lo, hi, S, scratch, scores_s, sh)
//                      every block of a (sequence, KV head) pair scores candidates [lo, hi) of 0 .. C - 1 (page
//                      1 + i of the page table pt) for the group's queries q [GROUP][D] (float, unscaled)
//   S::finish(a, C, S, scratch, scores_s, sh)
//                      after the pair's barrier: scores_s[i], i < C, the final score (larger = kept first)
// Selection then keeps the top (budget - 2) scores, ties to the lower page (decode_select.cuh).
struct NoScoreShared {};  // a score's AppendShared / SelectShared when it needs none

template <int SCORE>
struct PageScoreImpl;  // specialized by each score's header: template <T, D, PS, GROUP> using type = ...

template <int SCORE, typename T, int D, int PS, int GROUP>
using PageScoreOf = typename PageScoreImpl<SCORE>::template type<T, D, PS, GROUP>;

}  // namespace tsc::cuda
