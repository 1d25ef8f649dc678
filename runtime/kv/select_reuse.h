// Selection reuse (--select-every N, DESIGN.md "Selection reuse"): one sequence's memory of its last page
// scoring, and the per-step rule both backends follow: score every N decode steps, and in between attend
// to the kept pages of the last scoring plus every page begun since (the page written then, already kept
// as the last page, and the new ones).
#pragma once
#include <cstdint>
#include <vector>

#include "contract/build_options.h"

namespace tsc {

// Most pages a reused selection may add to the budget (pages begun since the scoring); a step that would
// need more scores anew. The kernels' kept-page scratch holds TOP_K + kSelectReuseExtra entries.
constexpr int64_t kSelectReuseExtra = 4;
// Lives in SeqKv. A copy (a forked sequence) starts unscored, so that two sequences never share a CUDA
// slot; KvManager::free clears it when the sequence ends.
struct SelectReuse {
  int64_t scored_pages = 0;    // the sequence's pages at the last scoring; 0: nothing to reuse
  int64_t since = 0;           // decode steps since that scoring
  int64_t budget = 0;          // the budget it was scored with
  std::vector<int32_t> kept;   // CPU backend: [layers, kv_heads, top_k] the scoring's kept page indices
  int32_t slot = -1;           // CUDA backend: row of the device kept-set table, valid while ticket matches
  uint64_t ticket = 0;

  SelectReuse() = default;
  SelectReuse(const SelectReuse&) {}
  SelectReuse& operator=(const SelectReuse&) {
    *this = SelectReuse{};
    return *this;
  }
  SelectReuse(SelectReuse&&) = default;
  SelectReuse& operator=(SelectReuse&&) = default;
  void clear() { *this = SelectReuse{}; }
};

// This decode step of a sequence whose cache holds `num_pages` pages (the new token's included), with page
// budget `budget` (0 dense) and reuse period `every`: returns the page count of the scoring to reuse, or 0
// to score now, and advances the state. Dense steps (no selection) and steps with every = 1 (which store no
// kept set) forget the last scoring.
inline int64_t select_reuse_step(SelectReuse& r, int64_t every, int64_t budget, int64_t num_pages) {
  if (every <= 1 || budget <= 0 || num_pages <= budget) {
    r.scored_pages = 0;
    return 0;
  }
  const bool reuse = r.scored_pages > 0 && r.budget == budget && r.since + 1 < every &&
                     num_pages >= r.scored_pages && num_pages - r.scored_pages <= kSelectReuseExtra;
  if (reuse) {
    ++r.since;
    return r.scored_pages;
  }
  r.scored_pages = num_pages;
  r.since = 0;
  r.budget = budget;
  return 0;
}

// Rows of a fixed table of stored kept sets (the CUDA backend's, in device memory) handed to sequences:
// a sequence keeps its row while its ticket matches; a sequence without one takes a free row or the least
// recently used row no sequence of this step holds. Rows of ended sequences (KvManager::free clears their
// ticket) are taken over that way; a new owner scores before it reads its row.
class SelectSlots {
 public:
  explicit SelectSlots(int32_t rows) : owner_(static_cast<size_t>(rows), 0), used_(static_cast<size_t>(rows), -1) {}
  int32_t rows() const { return static_cast<int32_t>(owner_.size()); }
  struct Plan {
    int32_t slot = -1;      // row of the table, -1: none (score, store nothing)
    int64_t reuse_from = 0; // select_reuse_step's answer
  };
  // The decode step `step` (increasing over the backend's steps) of a sequence: its row, then
  // select_reuse_step. Steps with every = 1 take no row; a sequence given a new row scores.
  Plan plan(SelectReuse& r, int64_t every, int64_t budget, int64_t num_pages, int64_t step);

 private:
  std::vector<uint64_t> owner_;  // the holder's ticket, 0: free
  std::vector<int64_t> used_;    // the last step that used the row
  uint64_t next_ticket_ = 1;
};

}  // namespace tsc
