// The top-p cut: the head of the most-likely-first order holding top_p of the mass, sorting only
// the tokens next to the cut.
#include <algorithm>
#include <cmath>

#include "runtime/sample/logits_ops.h"

namespace tsc::sample_ops {
namespace {

// Below this many candidates (top-k survivors, small vocabularies) sorting them all is cheapest.
constexpr size_t kSortAll = 2048;
// Buckets of the mass histogram, over logits in [max - kRange, max]: a token further down weighs
// less than e^-20.75 ~ 1e-9 of the top one. Everything below shares one last bucket.
constexpr int kBuckets = 4096;
constexpr float kRange = 20.75f;

// Walks ranked (sorted by ranks_before), `before` being the mass ranked ahead of its first token.
// Returns true and sets *cut when a token's predecessors reach target; otherwise the last token.
bool walk(const std::vector<Ranked>& ranked, double before, double target, Ranked* cut) {
  for (size_t r = 0; r < ranked.size(); ++r) {
    if (before >= target && r > 0) {
      *cut = ranked[r - 1];
      return true;
    }
    before += ranked[r].e;
  }
  if (!ranked.empty()) *cut = ranked.back();
  return false;
}

}  // namespace

bool top_p_cut(const float* x, const int32_t* ids, const float* e, size_t n, float max, double total,
               float top_p, TopPScratch& s, Ranked* cut) {
  const double target = static_cast<double>(top_p) * total;
  auto id = [&](size_t j) { return ids ? ids[j] : static_cast<int32_t>(j); };
  s.ranked.clear();

  if (n <= kSortAll) {
    for (size_t j = 0; j < n; ++j)
      if (x[j] != -INFINITY) s.ranked.push_back({x[j], id(j), e[j]});
    std::sort(s.ranked.begin(), s.ranked.end(), ranks_before);
    return walk(s.ranked, 0.0, target, cut);
  }

  // A histogram of mass over logit buckets, most likely first (bucket 0 holds the max). Bucket b
  // covers a value range above bucket b + 1's, so the buckets before the one where the running
  // mass reaches the target are kept whole, those after it dropped whole, and only the tokens of
  // that one bucket need sorting.
  constexpr float kScale = kBuckets / kRange;
  auto bucket = [&](float v) {
    const float d = max - v;
    return d < kRange ? std::min(static_cast<int>(d * kScale), kBuckets - 1) : kBuckets;
  };
  s.mass.assign(kBuckets + 1, 0.0);
  for (size_t j = 0; j < n; ++j)
    if (x[j] != -INFINITY) s.mass[bucket(x[j])] += e[j];
  double before = 0;
  int cut_bucket = 0;
  while (cut_bucket <= kBuckets && !(before + s.mass[cut_bucket] >= target)) before += s.mass[cut_bucket++];
  if (cut_bucket > kBuckets) return false;  // rounding: the whole mass falls short of top_p * total
  for (size_t j = 0; j < n; ++j)
    if (x[j] != -INFINITY && bucket(x[j]) == cut_bucket) s.ranked.push_back({x[j], id(j), e[j]});
  std::sort(s.ranked.begin(), s.ranked.end(), ranks_before);
  // before < target here, so the bucket's first token stays; if the walk runs through the bucket
  // (its mass summed in another order), the cut is its last token.
  walk(s.ranked, before, target, cut);
  return true;
}

}  // namespace tsc::sample_ops
