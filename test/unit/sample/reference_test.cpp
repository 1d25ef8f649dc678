// The sampler against HF transformers: filtered distributions, draws (chi-square), log-probabilities.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "reference.h"
#include "runtime/sample/sampler.h"

namespace tsc::test {
namespace {

// A Sampler in the state HF's processors saw: the vector's prompt, then its generated tokens.
Sampler sampler_for(const RefVector& v, SamplingParams p) {
  Sampler s(p, v.prompt);
  for (int32_t t : v.generated) s.accept(t);
  return s;
}

TEST(HfReference, DataLoads) {
  const Reference& r = reference();
  EXPECT_EQ(r.vectors.size(), 7u);
  EXPECT_GT(r.cases.size(), 150u);
}

// Every case: the same tokens kept, and the same probabilities within 1e-5.
TEST(HfReference, FilteredDistributionsMatchTransformers) {
  const Reference& r = reference();
  size_t failed = 0;
  for (const RefCase& c : r.cases) {
    const RefVector& v = r.vectors.at(c.vector);
    std::vector<float> probs(v.logits.size());
    sampler_for(v, c.params).probabilities(v.logits, probs);
    int bad = 0;
    for (size_t i = 0; i < probs.size() && bad < 3; ++i) {
      const double ref = c.probs[i];
      if (ref < 0) {
        // HF filtered it out: we must too (a token we keep with weight 0 reads the same).
        if (probs[i] != 0.0f) {
          ADD_FAILURE() << c.describe(r.vectors) << "\n  token " << i << ": HF filters it out, we give it " << probs[i];
          ++bad;
        }
      } else if (std::abs(probs[i] - ref) > 1e-5 || (ref >= 1e-8 && probs[i] == 0.0f)) {
        ADD_FAILURE() << c.describe(r.vectors) << "\n  token " << i << ": HF " << ref << ", we " << probs[i];
        ++bad;
      }
    }
    failed += bad > 0;
  }
  EXPECT_EQ(failed, 0u) << "of " << r.cases.size() << " cases";
}

// Chi-square statistic of `counts` (draws per token) against `probs`; tokens expected fewer than
// 5 times are pooled into one bin. Sets *df.
double chi_square(const std::vector<int>& counts, const std::vector<double>& probs, int draws, int* df) {
  double stat = 0, pooled_expected = 0, pooled_observed = 0;
  int bins = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    const double expected = std::max(probs[i], 0.0) * draws;
    if (expected < 5) {
      pooled_expected += expected;
      pooled_observed += counts[i];
      continue;
    }
    stat += (counts[i] - expected) * (counts[i] - expected) / expected;
    ++bins;
  }
  if (pooled_expected >= 5) {
    stat += (pooled_observed - pooled_expected) * (pooled_observed - pooled_expected) / pooled_expected;
    ++bins;
  } else {
    stat += pooled_observed > pooled_expected + 10 ? 1e9 : 0;  // draws where (almost) nothing should be
  }
  *df = bins - 1;
  return stat;
}

// Upper 1e-4 quantile of chi-square with df degrees of freedom (Wilson-Hilferty).
double chi_square_bound(int df) {
  const double z = 3.719, a = 2.0 / (9.0 * df);
  return df * std::pow(1 - a + z * std::sqrt(a), 3);
}

const RefCase* find_case(const Reference& r, const std::string& vector, const SamplingParams& want) {
  for (const RefCase& c : r.cases) {
    const SamplingParams& p = c.params;
    // top_p may have been nudged off an ambiguous cut by the generator.
    if (r.vectors[c.vector].name == vector && p.temperature == want.temperature && p.top_k == want.top_k &&
        std::abs(p.top_p - want.top_p) < 0.05f && p.min_p == want.min_p &&
        p.repetition_penalty == want.repetition_penalty && p.presence_penalty == want.presence_penalty &&
        p.frequency_penalty == want.frequency_penalty)
      return &c;
  }
  return nullptr;
}

constexpr int kDraws = 20000;

void expect_fits(const std::vector<int>& counts, const std::vector<double>& probs) {
  int df = 0;
  const double stat = chi_square(counts, probs, kDraws, &df);
  ASSERT_GT(df, 0);
  EXPECT_LT(stat, chi_square_bound(df)) << "df " << df;
  // Power: the bound must reject the same draws held to the distributions of two typical bugs, a
  // draw off by one token and a draw that ignores the weights of the kept tokens.
  const size_t n = probs.size();
  std::vector<double> shifted(n), flat(n);
  size_t kept = 0;
  for (size_t i = 0; i < n; ++i) {
    shifted[(i + 1) % n] = probs[i];
    kept += probs[i] > 0;
  }
  for (size_t i = 0; i < n; ++i) flat[i] = probs[i] > 0 ? 1.0 / kept : 0.0;
  EXPECT_GT(chi_square(counts, shifted, kDraws, &df), chi_square_bound(df)) << "cannot tell an off-by-one draw";
  if (kept > 1) {
    EXPECT_GT(chi_square(counts, flat, kDraws, &df), chi_square_bound(df)) << "cannot tell an unweighted draw";
  }
}

// 20k draws of one request's stream (draw numbers 0..19999) follow HF's distribution.
TEST(HfReference, DrawsFollowTheDistribution) {
  const Reference& r = reference();
  const std::pair<const char*, SamplingParams> picks[] = {
      {"peaked", {.top_k = 50}},
      {"ties", {.top_p = 0.8f}},
      {"normal", {.temperature = 1.5f}},
      {"masked", {.top_k = 7}},
  };
  for (const auto& [name, want] : picks) {
    const RefCase* c = find_case(r, name, want);
    ASSERT_NE(c, nullptr) << name;
    SCOPED_TRACE(c->describe(r.vectors));
    const RefVector& v = r.vectors[c->vector];
    SamplingParams p = c->params;
    p.seed = 0x5eed;
    Sampler s(p, v.prompt);  // no penalties: the distribution stays put as tokens are drawn
    std::vector<int> counts(v.logits.size());
    for (int d = 0; d < kDraws; ++d) ++counts[s.sample(v.logits).token];
    expect_fits(counts, c->probs);
  }
}

// With penalties each draw changes the counts, so here every draw is the first of its own seed.
TEST(HfReference, DrawsAcrossSeedsFollowThePenalizedDistribution) {
  const Reference& r = reference();
  const RefCase* c = find_case(r, "normal", {.repetition_penalty = 1.3f});
  ASSERT_NE(c, nullptr);
  SCOPED_TRACE(c->describe(r.vectors));
  const RefVector& v = r.vectors[c->vector];
  std::vector<int> counts(v.logits.size());
  for (int d = 0; d < kDraws; ++d) {
    SamplingParams p = c->params;
    p.seed = 1'000'000 + d;
    ++counts[sampler_for(v, p).sample(v.logits).token];
  }
  expect_fits(counts, c->probs);
}

// Log-probabilities are of the model's distribution: log_softmax of the raw logits, whatever the
// penalties, temperature and filters; top_logprobs are torch.topk of it.
TEST(HfReference, LogprobsAreTheModelsLogSoftmax) {
  const Reference& r = reference();
  for (const RefVector& v : r.vectors) {
    SCOPED_TRACE(v.name);
    for (SamplingParams p : {SamplingParams{.temperature = 0.0f}, SamplingParams{.top_k = 40},
                             SamplingParams{.temperature = 0.5f, .top_p = 0.5f, .repetition_penalty = 1.5f,
                                            .presence_penalty = 1.0f}}) {
      p.logprobs = true;
      p.top_logprobs = kMaxTopLogprobs;
      p.seed = 7;
      Sampler s = sampler_for(v, p);
      const SampleResult res = s.sample(v.logits);
      ASSERT_EQ(res.top_logprobs.size(), v.top_logprobs.size());
      for (size_t k = 0; k < res.top_logprobs.size(); ++k) {
        const auto [id, lp] = res.top_logprobs[k];
        const auto [ref_id, ref_lp] = v.top_logprobs[k];
        EXPECT_NEAR(lp, ref_lp, 1e-5) << "rank " << k;
        // torch.topk orders ties its own way; the token must carry the same logit.
        EXPECT_EQ(v.logits[id], v.logits[ref_id]) << "rank " << k;
        if (k > 0) {
          const auto [prev_id, prev_lp] = res.top_logprobs[k - 1];
          EXPECT_TRUE(prev_lp > lp || (prev_lp == lp && prev_id < id)) << "rank " << k << " out of order";
        }
      }
      if (!v.log_softmax.empty()) {
        EXPECT_NEAR(res.logprob, v.log_softmax[res.token], 1e-5);
      } else {
        for (const auto& [id, lp] : res.top_logprobs) {
          if (id == res.token) {
            EXPECT_NEAR(res.logprob, lp, 1e-5);
          }
        }
      }
    }
  }
}

// Without logprobs, none are computed.
TEST(HfReference, NoLogprobsUnlessAsked) {
  const RefVector& v = reference().vector("normal");
  Sampler s(SamplingParams{.seed = 1}, v.prompt);
  const SampleResult res = s.sample(v.logits);
  EXPECT_TRUE(std::isnan(res.logprob));
  EXPECT_TRUE(res.top_logprobs.empty());
}

}  // namespace
}  // namespace tsc::test
