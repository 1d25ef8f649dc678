// Vector kernels of the CPU sampler: each a vector body over four lanes plus a scalar tail.
#include "runtime/sample/logits_ops.h"

#include <algorithm>
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
  for (; i + kWidth <= n; i += kWidth)
    if (any(load(x + i) == v)) break;
  while (i < n && x[i] != v) ++i;
  return i;
}

void divide(const float* x, size_t n, float t, float* out) {
  size_t i = 0;
  for (; i + kWidth <= n; i += kWidth) store(out + i, load(x + i) / t);
  for (; i < n; ++i) out[i] = x[i] / t;
}

float kth_largest(const float* x, size_t n, size_t k, std::vector<float>& scratch) {
  if (k > 4096) {
    // Large k: selection on a copy, O(n).
    scratch.assign(x, x + n);
    std::nth_element(scratch.begin(), scratch.begin() + (k - 1), scratch.end(), std::greater<float>());
    return scratch[k - 1];
  }
  // A min-heap of the k largest seen so far. Blocks none of whose values can enter the heap are
  // skipped after one vector compare, so most of the vocabulary costs that compare only.
  scratch.assign(x, x + k);
  std::make_heap(scratch.begin(), scratch.end(), std::greater<float>());
  auto offer = [&](float v) {
    if (v > scratch.front()) {
      std::pop_heap(scratch.begin(), scratch.end(), std::greater<float>());
      scratch.back() = v;
      std::push_heap(scratch.begin(), scratch.end(), std::greater<float>());
    }
  };
  size_t i = k;
  for (; i + kWidth <= n; i += kWidth) {
    if (!any(load(x + i) > scratch.front())) continue;
    for (size_t j = 0; j < kWidth; ++j) offer(x[i + j]);
  }
  for (; i < n; ++i) offer(x[i]);
  return scratch.front();
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
  for (; i + kWidth <= n; i += kWidth) {
    if (!any(load(x + i) >= vlo)) continue;
    for (size_t j = i; j < i + kWidth; ++j) take(j);
  }
  for (; i < n; ++i) take(i);
  return m;
}

double exp_shifted(const float* x, size_t n, float m, float* e) {
  Lanes acc;
  size_t i = 0;
  for (; i + kWidth <= n; i += kWidth) {
    const f4 v = exp_nonpositive(load(x + i) - m);
    store(e + i, v);
    accumulate(acc.lo, acc.hi, v);
  }
  for (; i < n; ++i) acc.add(i, e[i] = exp_nonpositive(x[i] - m));
  return acc.sum();
}

double exp_sum(const float* x, size_t n, float m) {
  Lanes acc;
  size_t i = 0;
  for (; i + kWidth <= n; i += kWidth) accumulate(acc.lo, acc.hi, exp_nonpositive(load(x + i) - m));
  for (; i < n; ++i) acc.add(i, exp_nonpositive(x[i] - m));
  return acc.sum();
}

double fixed_sum(const float* e, size_t n) {
  Lanes acc;
  size_t i = 0;
  for (; i + kWidth <= n; i += kWidth) accumulate(acc.lo, acc.hi, load(e + i));
  for (; i < n; ++i) acc.add(i, e[i]);
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
  for (; i + kWidth <= size; i += kWidth) {
    if (!any(load(x + i) > out.back().second)) continue;
    for (size_t j = i; j < i + kWidth; ++j) offer(j);
  }
  for (; i < size; ++i) offer(i);
}

}  // namespace tsc::sample_ops
