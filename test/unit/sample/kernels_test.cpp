// The sampler's building blocks against plain references: Philox, exp, sums, k-th largest, top-p
// cut, top-n, token counts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "runtime/sample/logits_ops.h"
#include "runtime/sample/philox.h"
#include "runtime/sample/simd.h"
#include "runtime/sample/token_counts.h"
#include "test_logits.h"

namespace tsc::test {
namespace {

using namespace sample_ops;

TEST(Philox, Random123KnownAnswers) {
  // Random123's kat_vectors for philox4x32_10.
  EXPECT_EQ(philox4x32_10({0, 0, 0, 0}, {0, 0}), (PhiloxBlock{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}),
            (PhiloxBlock{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}),
            (PhiloxBlock{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

TEST(Philox, UniformsAreInRangeAndUniform) {
  // Mean and variance of 100k draws of one stream: 1/2 and 1/12, to a few standard errors.
  double sum = 0, sq = 0;
  constexpr int kN = 100000;
  for (uint64_t i = 0; i < kN; ++i) {
    const double u = philox_uniform(0xabcdef, i);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    sq += u * u;
  }
  EXPECT_NEAR(sum / kN, 0.5, 5 * std::sqrt(1.0 / 12 / kN));
  EXPECT_NEAR(sq / kN - (sum / kN) * (sum / kN), 1.0 / 12, 1e-3);
  EXPECT_NE(philox_uniform(1, 0), philox_uniform(2, 0));
  EXPECT_NE(philox_uniform(1, 0), philox_uniform(1, 1));
}

TEST(Exp, WithinTwoUlpOfTheTrueValue) {
  EXPECT_EQ(exp_nonpositive(0.0f), 1.0f);
  EXPECT_EQ(exp_nonpositive(-INFINITY), 0.0f);
  EXPECT_EQ(exp_nonpositive(-87.5f), 0.0f);
  for (float d = 0.0f; d > -87.0f; d -= 0.000731f) {
    const double want = std::exp(static_cast<double>(d));
    ASSERT_NEAR(exp_nonpositive(d), want, 2.5e-7 * want) << d;
  }
}

TEST(Exp, VectorAndScalarPathsAgreeBitForBit) {
  const std::vector<float> x = test_logits(1003, 1, 40.0f);  // odd length: vector body + scalar tail
  const float m = *std::max_element(x.begin(), x.end());
  std::vector<float> e(x.size());
  std::vector<double> blocks((x.size() + kSumBlock - 1) / kSumBlock);
  const double total = exp_blocks(x.data(), x.size(), m, e.data(), blocks.data());
  double sum = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    ASSERT_EQ(e[i], exp_nonpositive(x[i] - m)) << i;
    sum += e[i];
  }
  EXPECT_NEAR(total, sum, 1e-12 * total);
  std::vector<double> again(blocks.size());
  EXPECT_EQ(block_sums(e.data(), e.size(), again.data()), total);
  EXPECT_EQ(again, blocks);
  EXPECT_NEAR(exp_sum(x.data(), x.size(), m), total, 1e-12 * total);
}

TEST(Kernels, CheckedMaxFindsTheMaxAndTheFirstBadValue) {
  std::vector<float> x = test_logits(1001, 2);
  x[777] = 9.0f;
  EXPECT_EQ(checked_max(x.data(), x.size()).max, 9.0f);
  EXPECT_EQ(checked_max(x.data(), x.size()).bad, -1);
  x[1000] = NAN;
  x[999] = INFINITY;
  EXPECT_EQ(checked_max(x.data(), x.size()).bad, 999);
  EXPECT_EQ(first_equal(x.data(), x.size(), 9.0f), 777u);
}

TEST(Kernels, KthLargestMatchesASort) {
  for (size_t n : {1u, 7u, 100u, 5000u, 20000u}) {
    std::vector<float> x = test_logits(n, n);
    for (size_t i = 0; i < n; i += 3) x[i] = std::round(x[i]);  // ties
    for (size_t i = 1; i < n; i += 11) x[i] = -INFINITY;
    std::vector<float> sorted = x, scratch;
    std::sort(sorted.begin(), sorted.end(), std::greater<float>());
    for (size_t k : {size_t{1}, size_t{2}, size_t{50}, size_t{300}, size_t{4097}, n / 2, n}) {
      if (k == 0 || k > n) continue;
      EXPECT_EQ(kth_largest(x.data(), n, k, scratch), sorted[k - 1]) << "n " << n << " k " << k;
    }
  }
}

TEST(Kernels, GatherAtLeastKeepsOrderAndDropsMinusInf) {
  std::vector<float> x = test_logits(999, 4);
  x[10] = -INFINITY;
  std::vector<int32_t> ids(x.size());
  std::vector<float> out(x.size());
  const size_t m = gather_at_least(x.data(), x.size(), 3.0f, ids.data(), out.data());
  std::vector<int32_t> expect;
  for (size_t i = 0; i < x.size(); ++i)
    if (x[i] >= 3.0f) expect.push_back(static_cast<int32_t>(i));
  ASSERT_EQ(std::vector<int32_t>(ids.begin(), ids.begin() + m), expect);
  for (size_t j = 0; j < m; ++j) EXPECT_EQ(out[j], x[ids[j]]);
  EXPECT_EQ(gather_at_least(x.data(), x.size(), -INFINITY, ids.data(), out.data()), x.size() - 1);
}

// The naive top-p: sort everything (most likely first, ties to the lower id) and walk.
Ranked naive_cut(const std::vector<float>& x, const std::vector<float>& e, float top_p, bool* has_cut) {
  std::vector<Ranked> r;
  double total = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] != -INFINITY) r.push_back({x[i], static_cast<int32_t>(i), e[i]});
    total += e[i];
  }
  std::sort(r.begin(), r.end(), ranks_before);
  double before = 0;
  for (size_t k = 0; k < r.size(); ++k) {
    if (k > 0 && before >= top_p * total) {
      *has_cut = true;
      return r[k - 1];
    }
    before += r[k].e;
  }
  *has_cut = false;
  return r.back();
}

TEST(Kernels, TopPCutMatchesAFullSortOnEveryPath) {
  // Small n (sort all), peaked (head near the max), flat and tied (mass histogram), masked.
  struct Shape {
    size_t n;
    float scale;
    int peaks;
    bool ties, masked;
  } shapes[] = {{500, 4, 0, false, false},   {100000, 3, 30, false, false}, {100000, 1, 0, false, false},
                {150000, 4, 0, true, true},  {60000, 0.01f, 0, false, false}, {100000, 25, 0, false, true},
                {100000, 3, 3, true, false}};
  for (const Shape& sh : shapes) {
    std::vector<float> x = test_logits(sh.n, sh.n + sh.peaks, sh.scale);
    for (int k = 0; k < sh.peaks; ++k) x[(k * 7919) % sh.n] = 10.0f + static_cast<float>(k % 3);
    if (sh.ties)
      for (float& v : x) v = std::round(v * 4) / 4;
    if (sh.masked)
      for (size_t i = 0; i < sh.n; i += 5) x[i] = -INFINITY;
    const float m = checked_max(x.data(), x.size()).max;
    std::vector<float> e(x.size());
    std::vector<double> blocks((x.size() + kSumBlock - 1) / kSumBlock);
    const double total = exp_blocks(x.data(), x.size(), m, e.data(), blocks.data());
    TopPScratch scratch;
    for (float top_p : {0.05f, 0.5f, 0.9f, 0.99f, 0.999f}) {
      SCOPED_TRACE("n " + std::to_string(sh.n) + " scale " + std::to_string(sh.scale) + " top_p " +
                   std::to_string(top_p));
      bool naive_has = false;
      const Ranked want = naive_cut(x, e, top_p, &naive_has);
      Ranked got{};
      const bool has = top_p_cut(x.data(), nullptr, e.data(), x.size(), m, total, top_p, scratch, &got);
      // "No cut" and "a cut at the last token" keep the same tokens, so only compare cuts.
      if (has || naive_has) {
        EXPECT_EQ(got.x, want.x);
        EXPECT_EQ(got.id, want.id);
      }
    }
  }
}

TEST(Kernels, TopNIsSortedWithTiesToTheLowerId) {
  std::vector<float> x = test_logits(3000, 8);
  for (float& v : x) v = std::round(v * 3) / 3;
  std::vector<std::pair<int32_t, float>> got;
  top_n(x.data(), x.size(), 20, got);
  std::vector<int32_t> order(x.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return x[a] > x[b]; });
  ASSERT_EQ(got.size(), 20u);
  for (size_t k = 0; k < 20; ++k) {
    EXPECT_EQ(got[k].first, order[k]);
    EXPECT_EQ(got[k].second, x[order[k]]);
  }
  top_n(x.data(), 3, 20, got);
  EXPECT_EQ(got.size(), 3u);
}

TEST(TokenCounts, MatchesAMap) {
  TokenCounts counts;
  std::map<int32_t, std::pair<int, bool>> want;
  uint64_t s = 1;
  for (int i = 0; i < 20000; ++i) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    const auto token = static_cast<int32_t>((s >> 33) % (i < 10000 ? 3000 : 2'000'000'000));
    if (i % 3 == 0) {
      counts.add_prompt(token);
      want[token].second = true;
    } else {
      counts.add_generated(token);
      ++want[token].first;
    }
  }
  ASSERT_EQ(counts.entries().size(), want.size());
  for (const TokenCounts::Entry& e : counts.entries()) {
    EXPECT_EQ(e.generated, want.at(e.token).first) << e.token;
    EXPECT_EQ(e.in_prompt, want.at(e.token).second) << e.token;
  }
}

}  // namespace
}  // namespace tsc::test
