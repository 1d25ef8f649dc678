// Vector kernels of the CPU sampler over one position's logits: max, exp, k-th largest, top-p cut.
#pragma once
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace tsc::sample_ops {

// Every sum below is accumulated in double in one fixed order (four interleaved lanes, then a
// fixed tree), whatever the machine: the same seed must give the same tokens everywhere.

// Largest value of x[0..n), and the index of the first NaN or +inf (-1 if none): either would make
// every probability NaN, so the caller reports it instead of sampling garbage.
struct MaxInfo {
  float max;
  int64_t bad;
};
MaxInfo checked_max(const float* x, size_t n);

// Index of the first element equal to v (n if none).
size_t first_equal(const float* x, size_t n, float v);

// out[i] = x[i] / t (a division, as HF's TemperatureLogitsWarper does it).
void divide(const float* x, size_t n, float t, float* out);

// The k-th largest value of x[0..n), counting repeats (torch.topk(x, k).values[-1]); 1 <= k <= n.
float kth_largest(const float* x, size_t n, size_t k, std::vector<float>& scratch);

// Gathers, in increasing index order, the i with x[i] >= lo and x[i] > -inf: ids[m] = i, out[m] = x[i].
// Returns m. ids and out: [n].
size_t gather_at_least(const float* x, size_t n, float lo, int32_t* ids, float* out);

// Weights are summed per block of kSumBlock tokens, so that the draw can skip whole blocks.
inline constexpr size_t kSumBlock = 64;
// e[i] = exp(x[i] - m) for i < n, blocks[b] = sum of e over block b; returns the sum of the blocks.
// blocks: [ceil(n / kSumBlock)].
double exp_blocks(const float* x, size_t n, float m, float* e, double* blocks);
// blocks[b] = sum of e over block b; returns the sum of the blocks.
double block_sums(const float* e, size_t n, double* blocks);
// Sum of exp(x[i] - m) for i < n, without storing it.
double exp_sum(const float* x, size_t n, float m);

// A candidate token of the top-p walk: processed logit, id, exp(logit - max).
struct Ranked {
  float x;
  int32_t id;
  float e;
};
// The order the top-p filter walks tokens in: most likely first, ties to the lower id.
inline bool ranks_before(const Ranked& a, const Ranked& b) { return a.x > b.x || (a.x == b.x && a.id < b.id); }

struct TopPScratch {
  std::vector<Ranked> ranked;
  std::vector<double> mass;      // per logit bucket
  std::vector<uint16_t> bucket;  // [n] each token's bucket
};
// The last token (in ranks_before order) that top-p keeps, HF's TopPLogitsWarper rule: a token stays
// while the mass ranked strictly before it is below top_p * total (so the token that crosses top_p
// stays, and so does the most likely one). x, e: [n]; ids[j] is the token of j (j itself if ids is
// null); max = the largest x; total = sum of e. Returns false when every token stays.
bool top_p_cut(const float* x, const int32_t* ids, const float* e, size_t n, float max, double total,
               float top_p, TopPScratch& scratch, Ranked* cut);

// Zeroes w[j] for the tokens after `cut` in ranks_before order (when has_cut) and for those with
// w[j] < min_p (w is exp(x - max), so that is min-p's p < min_p * p_max).
void keep_head(const float* x, const int32_t* ids, size_t n, bool has_cut, Ranked cut, float min_p, float* w);

// The n largest values of x[0..size) with their ids, largest first, ties to the lower id.
void top_n(const float* x, size_t size, size_t n, std::vector<std::pair<int32_t, float>>& out);

}  // namespace tsc::sample_ops
