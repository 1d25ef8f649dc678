// Vector kernels of the CPU sampler: each a vector body over four lanes plus a scalar tail.
#include "runtime/sample/logits_ops.h"

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <functional>

#include "runtime/sample/simd.h"

namespace tsc::sample_ops {
namespace {

// Lane accumulators of the fixed-order sums: lane j holds the elements i with i % 4 == j.
struct Lanes {
  d2 lo{}, hi{};
  double tail[kWidth] = {};
  void add(size_t i, float v) { tail[i % kWidth] += v; }
  double sum() const {
    return ((lo[0] + tail[0]) + (lo[1] + tail[1])) + ((hi[0] + tail[2]) + (hi[1] + tail[3]));
  }
};

}  // namespace

MaxInfo checked_max(const float* x, size_t n) {
  f4 m = splat(-INFINITY);
  i4 bad{};
  size_t i = 0;
  for (; i + kWidth <= n; i += kWidth) {
    const f4 v = load(x + i);
    m = v > m ? v : m;
    bad |= ~(v <= FLT_MAX);  // NaN or +inf
  }
  float mx = hmax(m);
  bool any_bad = any(bad);
  for (; i < n; ++i) {
    mx = x[i] > mx ? x[i] : mx;
    any_bad |= !(x[i] <= FLT_MAX);
  }
  MaxInfo r{mx, -1};
  if (any_bad) {
    for (size_t k = 0; k < n; ++k) {
      if (!(x[k] <= FLT_MAX)) {
        r.bad = static_cast<int64_t>(k);
        break;
      }
    }
  }
  return r;
}

size_t first_equal(const float* x, size_t n, float v) {
  size_t i = 0;
  for (; i + kBlock16 <= n; i += kBlock16)
    if (any(max16(x + i) >= v)) break;
  while (i < n && x[i] != v) ++i;
  return i;
}

void divide(const float* x, size_t n, float t, float* out) {
  size_t i = 0;
  for (; i + kWidth <= n; i += kWidth) store(out + i, load(x + i) / t);
  for (; i < n; ++i) out[i] = x[i] / t;
}

namespace {

// Order-preserving integer key of a (non-NaN) float: a < b <=> key(a) < key(b).
uint32_t order_key(float v) {
  const uint32_t b = std::bit_cast<uint32_t>(v);
  return b & 0x80000000u ? ~b : b | 0x80000000u;
}

// Small k: a min-heap of the k largest seen so far. Blocks none of whose values can enter the
// heap are skipped after one vector compare, so most of the vocabulary costs that compare only.
float kth_largest_heap(const float* x, size_t n, size_t k, std::vector<float>& heap) {
  heap.assign(x, x + k);
  std::make_heap(heap.begin(), heap.end(), std::greater<float>());
  auto offer = [&](float v) {
    if (v > heap.front()) {
      std::pop_heap(heap.begin(), heap.end(), std::greater<float>());
      heap.back() = v;
      std::push_heap(heap.begin(), heap.end(), std::greater<float>());
    }
  };
  size_t i = k;
  for (; i + kBlock16 <= n; i += kBlock16) {
    if (!any(max16(x + i) > heap.front())) continue;
    for (size_t j = 0; j < kBlock16; ++j) offer(x[i + j]);
  }
  for (; i < n; ++i) offer(x[i]);
  return heap.front();
}

// Larger k: radix select. Count the values per top-12-bit bucket of their order key, find the
// bucket holding the k-th largest, and select within that bucket alone.
float kth_largest_radix(const float* x, size_t n, size_t k, std::vector<float>& scratch) {
  constexpr int kBits = 12, kShift = 32 - kBits;
  uint32_t count[1 << kBits] = {};
  for (size_t i = 0; i < n; ++i) ++count[order_key(x[i]) >> kShift];
  uint32_t bucket = (1u << kBits) - 1;
  size_t above = 0;  // values in buckets above `bucket`
  while (above + count[bucket] < k) above += count[bucket--];
  scratch.clear();
  for (size_t i = 0; i < n; ++i)
    if (order_key(x[i]) >> kShift == bucket) scratch.push_back(x[i]);
  const size_t rank = k - above - 1;  // 0-based, among the bucket's values, largest first
  std::nth_element(scratch.begin(), scratch.begin() + rank, scratch.end(), std::greater<float>());
  return scratch[rank];
}

}  // namespace

float kth_largest(const float* x, size_t n, size_t k, std::vector<float>& scratch) {
  return k <= 256 ? kth_largest_heap(x, n, k, scratch) : kth_largest_radix(x, n, k, scratch);
}

size_t gather_at_least(const float* x, size_t n, float lo, int32_t* ids, float* out) {
  const f4 vlo = splat(lo);
  size_t m = 0, i = 0;
  auto take = [&](size_t j) {
    if (x[j] >= lo && x[j] != -INFINITY) {
      ids[m] = static_cast<int32_t>(j);
      out[m++] = x[j];
    }
  };
  for (; i + kBlock16 <= n; i += kBlock16) {
    if (!any(max16(x + i) >= vlo)) continue;
    for (size_t j = i; j < i + kBlock16; ++j) take(j);
  }
  for (; i < n; ++i) take(i);
  return m;
}

namespace {

// Sum of one block of at most kSumBlock weights: vector body, scalar tail, fixed tree.
double block_sum(const float* e, size_t n) {
  Lanes acc;
  size_t i = 0;
  for (; i + kWidth <= n; i += kWidth) accumulate(acc.lo, acc.hi, load(e + i));
  for (; i < n; ++i) acc.add(i, e[i]);
  return acc.sum();
}

}  // namespace

double exp_blocks(const float* x, size_t n, float m, float* e, double* blocks) {
  double total = 0;
  for (size_t b = 0; b * kSumBlock < n; ++b) {
    const size_t begin = b * kSumBlock, len = std::min(kSumBlock, n - begin);
    Lanes acc;
    size_t i = 0;
    for (; i + kWidth <= len; i += kWidth) {
      const f4 v = exp_nonpositive(load(x + begin + i) - m);
      store(e + begin + i, v);
      accumulate(acc.lo, acc.hi, v);
    }
    for (; i < len; ++i) acc.add(i, e[begin + i] = exp_nonpositive(x[begin + i] - m));
    total += blocks[b] = acc.sum();
  }
  return total;
}

double block_sums(const float* e, size_t n, double* blocks) {
  double total = 0;
  for (size_t b = 0; b * kSumBlock < n; ++b) {
    const size_t begin = b * kSumBlock;
    total += blocks[b] = block_sum(e + begin, std::min(kSumBlock, n - begin));
  }
  return total;
}

double exp_sum(const float* x, size_t n, float m) {
  Lanes acc;
  size_t i = 0;
  for (; i + kWidth <= n; i += kWidth) accumulate(acc.lo, acc.hi, exp_nonpositive(load(x + i) - m));
  for (; i < n; ++i) acc.add(i, exp_nonpositive(x[i] - m));
  return acc.sum();
}

void keep_head(const float* x, const int32_t* ids, size_t n, bool has_cut, Ranked cut, float min_p, float* w) {
  // Without a cut every token passes: an id bound above every id does that.
  const float cx = has_cut ? cut.x : -INFINITY;
  const int32_t cid = has_cut ? cut.id : INT32_MAX;
  const f4 vcx = splat(cx), vmin = splat(min_p), zero{};
  const i4 vcid = splat(cid), step = splat(static_cast<int32_t>(kWidth));
  i4 iota = {0, 1, 2, 3};
  size_t j = 0;
  for (; j + kWidth <= n; j += kWidth, iota += step) {
    const f4 v = load(x + j), e = load(w + j);
    const i4 id = ids ? load(ids + j) : iota;
    const i4 keep = ((v > vcx) | ((v == vcx) & (id <= vcid))) & (e >= vmin);
    store(w + j, keep ? e : zero);
  }
  for (; j < n; ++j) {
    const int32_t id = ids ? ids[j] : static_cast<int32_t>(j);
    const bool keep = (x[j] > cx || (x[j] == cx && id <= cid)) && w[j] >= min_p;
    w[j] = keep ? w[j] : 0.0f;
  }
}

void top_n(const float* x, size_t size, size_t n, std::vector<std::pair<int32_t, float>>& out) {
  n = std::min(n, size);
  out.clear();
  if (n == 0) return;
  // Sorted insertion into a short list. Ids arrive in increasing order and an equal value never
  // displaces an earlier one, which gives the ties-to-lower-id order for free.
  auto offer = [&](size_t i) {
    if (out.size() == n) {
      if (!(x[i] > out.back().second)) return;
      out.pop_back();
    }
    auto at = std::upper_bound(out.begin(), out.end(), x[i],
                               [](float v, const std::pair<int32_t, float>& p) { return v > p.second; });
    out.insert(at, {static_cast<int32_t>(i), x[i]});
  };
  size_t i = 0;
  for (; i < n; ++i) offer(i);
  for (; i + kBlock16 <= size; i += kBlock16) {
    if (!any(max16(x + i) > out.back().second)) continue;
    for (size_t j = i; j < i + kBlock16; ++j) offer(j);
  }
  for (; i < size; ++i) offer(i);
}

}  // namespace tsc::sample_ops
