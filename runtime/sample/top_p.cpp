// The top-p cut: where the most-likely-first order reaches top_p of the mass, sorting only near it.
#include <algorithm>
#include <cmath>

#include "runtime/sample/logits_ops.h"
#include "runtime/sample/simd.h"

namespace tsc::sample_ops {
namespace {

// Up to this many candidates (top-k survivors, a peaked distribution's head) are simply sorted.
constexpr size_t kSortAll = 2048;
// Logits within this much of the max are tried first as the head (tokens below it weigh < 1e-4 of
// the top one): LM distributions usually hold top_p of their mass there.
constexpr float kPivot = 9.25f;
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

  // The head near the max, if it is small and holds the target mass: then the cut lies inside it.
  const float pivot = max - kPivot;
  double head_mass = 0;
  auto take = [&](size_t j) {
    if (x[j] >= pivot) {
      s.ranked.push_back({x[j], id(j), e[j]});
      head_mass += e[j];
    }
  };
  size_t j = 0;
  for (; j + kBlock16 <= n && s.ranked.size() <= kSortAll; j += kBlock16) {
    if (!any(max16(x + j) >= pivot)) continue;  // most blocks: one vector compare
    for (size_t i = j; i < j + kBlock16; ++i) take(i);
  }
  for (; j < n && s.ranked.size() <= kSortAll; ++j) take(j);
  if (s.ranked.size() <= kSortAll && head_mass >= target) {
    std::sort(s.ranked.begin(), s.ranked.end(), ranks_before);
    if (walk(s.ranked, 0.0, target, cut)) return true;
    // Rounding: the sorted walk fell short of what the unsorted sum reached; take the long way.
  }
  s.ranked.clear();

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
  s.bucket.resize(n);
  for (size_t j = 0; j < n; ++j) {
    // -inf (no mass) goes below every bucket, where nothing is ever gathered from.
    const int b = x[j] != -INFINITY ? bucket(x[j]) : kBuckets + 1;
    s.bucket[j] = static_cast<uint16_t>(b);
    if (b <= kBuckets) s.mass[b] += e[j];
  }
  double before = 0;
  int cut_bucket = 0;
  while (cut_bucket <= kBuckets && !(before + s.mass[cut_bucket] >= target)) before += s.mass[cut_bucket++];
  if (cut_bucket > kBuckets) return false;  // rounding: the whole mass falls short of top_p * total
  for (size_t j = 0; j < n; ++j)
    if (s.bucket[j] == cut_bucket) s.ranked.push_back({x[j], id(j), e[j]});
  std::sort(s.ranked.begin(), s.ranked.end(), ranks_before);
  // before < target here, so the bucket's first token stays; if the walk runs through the bucket
  // (its mass summed in another order), the cut is its last token.
  walk(s.ranked, before, target, cut);
  return true;
}

}  // namespace tsc::sample_ops
