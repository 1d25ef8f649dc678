// Sampler behaviour the HF data does not pin: greedy, seeds and replay, penalty counting, filter
// edge cases, errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <thread>

#include "contract/error.h"
#include "runtime/sample/sampler.h"
#include "test_logits.h"

namespace tsc::test {
namespace {

using Ids = std::vector<int32_t>;  // std::span has no initializer-list constructor before C++26

std::vector<float> probabilities(const SamplingParams& p, const std::vector<float>& logits,
                                 std::vector<int32_t> prompt = {}, std::vector<int32_t> generated = {}) {
  Sampler s(p, prompt);
  for (int32_t t : generated) s.accept(t);
  std::vector<float> probs(logits.size());
  s.probabilities(logits, probs);
  return probs;
}

std::vector<int32_t> sample_sequence(Sampler& s, int steps, size_t vocab = 5000) {
  std::vector<int32_t> out;
  for (int i = 0; i < steps; ++i) out.push_back(s.sample(test_logits(vocab, i)).token);
  return out;
}

const SamplingParams kMixed{.temperature = 0.9f, .top_k = 100, .top_p = 0.95f, .repetition_penalty = 1.1f,
                            .presence_penalty = 0.2f, .frequency_penalty = 0.1f};

// --- greedy ---

TEST(Greedy, ArgmaxWithTiesToTheLowestId) {
  for (uint64_t seed = 0; seed < 200; ++seed) {
    std::vector<float> logits = test_logits(1000 + seed, seed);
    // Quantize so that ties are common, tie the max on purpose, and mask some tokens.
    for (float& x : logits) x = std::round(x * 2) / 2;
    const float mx = *std::max_element(logits.begin(), logits.end());
    logits[(seed * 7) % logits.size()] = mx;
    logits[(seed * 13) % logits.size()] = -INFINITY;
    const int32_t expect = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    // Filters and sampling parameters do not change a greedy pick.
    Sampler s({.temperature = 0.0f, .top_k = 3, .top_p = 0.2f, .min_p = 0.5f}, {});
    EXPECT_EQ(s.sample(logits).token, expect) << "seed " << seed;
  }
}

TEST(Greedy, TinyTemperatureIsGreedyAndProbabilitiesAreOneHot) {
  const std::vector<float> logits = {1.0f, 7.0f, 3.0f, 7.0f};
  const auto probs = probabilities({.temperature = 1e-6f}, logits);
  EXPECT_EQ(probs, (std::vector<float>{0, 1, 0, 0}));
}

TEST(Greedy, PenaltiesStillApply) {
  Sampler s({.temperature = 0.0f, .repetition_penalty = 1.1f}, Ids{0});
  EXPECT_EQ(s.sample(std::vector<float>{5.0f, 4.9f, 1.0f}).token, 1);  // 5 / 1.1 < 4.9
}

TEST(Greedy, SampledTokensCountForPenalties) {
  // Flat logits, frequency penalty: each pick is penalized next time, so greedy cycles through ids.
  Sampler s({.temperature = 0.0f, .frequency_penalty = 1.0f}, {});
  const std::vector<float> flat(4, 0.0f);
  std::vector<int32_t> got;
  for (int i = 0; i < 8; ++i) got.push_back(s.sample(flat).token);
  EXPECT_EQ(got, (std::vector<int32_t>{0, 1, 2, 3, 0, 1, 2, 3}));
  EXPECT_EQ(s.num_generated(), 8u);
}

// --- seeds ---

TEST(Seeds, SameSeedSameTokens) {
  SamplingParams p = kMixed;
  p.seed = 123;
  Sampler a(p, Ids{1, 2, 3}), b(p, Ids{1, 2, 3});
  EXPECT_EQ(sample_sequence(a, 300), sample_sequence(b, 300));
  EXPECT_EQ(a.seed(), 123u);
}

TEST(Seeds, DifferentSeedsAgreeNoMoreThanChance) {
  // Two independent draws from p agree with probability sum p_i^2; over 400 steps the agreements
  // must stay within a few standard deviations of the sum of those. (No penalties, so that both
  // requests keep seeing the same distributions.)
  SamplingParams p{.temperature = 0.8f, .top_k = 20};
  p.seed = 1;
  Sampler a(p, {});
  p.seed = 2;
  Sampler b(p, {});
  double expected = 0;
  int agree = 0;
  std::vector<float> probs(1000);
  for (int i = 0; i < 400; ++i) {
    const auto logits = test_logits(1000, i);
    a.probabilities(logits, probs);
    for (float q : probs) expected += double{q} * q;
    agree += a.sample(logits).token == b.sample(logits).token;
  }
  EXPECT_LE(agree, expected + 5 * std::sqrt(expected) + 3) << "expected about " << expected;
}

TEST(Seeds, UnseededSamplersDrawTheirOwnSeedAndReportIt) {
  Sampler a(kMixed, {}), b(kMixed, {});
  EXPECT_NE(a.seed(), b.seed());
  SamplingParams p = kMixed;
  p.seed = a.seed();
  Sampler again(p, {});
  EXPECT_EQ(sample_sequence(a, 50), sample_sequence(again, 50));
}

TEST(Seeds, ReplayingAcceptedTokensResumesTheSameStream) {
  // After preemption a request is rebuilt from its tokens: accept() them, then sampling continues
  // exactly where it left off (the draw number is the position, not a hidden generator state).
  SamplingParams p = kMixed;
  p.seed = 99;
  Sampler first(p, Ids{4, 5});
  const auto whole = sample_sequence(first, 40);
  Sampler resumed(p, Ids{4, 5});
  for (int i = 0; i < 20; ++i) resumed.accept(whole[i]);
  std::vector<int32_t> rest;
  for (int i = 20; i < 40; ++i) rest.push_back(resumed.sample(test_logits(5000, i)).token);
  EXPECT_EQ(rest, std::vector<int32_t>(whole.begin() + 20, whole.end()));
}

TEST(Seeds, ThreadsGiveTheSameTokens) {
  SamplingParams p = kMixed;
  p.seed = 5;
  Sampler ref(p, {});
  const auto expect = sample_sequence(ref, 100, 50000);
  std::vector<int32_t> got[2];
  std::thread t0([&] { Sampler s(p, {}); got[0] = sample_sequence(s, 100, 50000); });
  std::thread t1([&] { Sampler s(p, {}); got[1] = sample_sequence(s, 100, 50000); });
  t0.join();
  t1.join();
  EXPECT_EQ(got[0], expect);
  EXPECT_EQ(got[1], expect);
}

// Pinned tokens: a change here changes what every seeded request generates, on every machine.
TEST(Seeds, GoldenSequences) {
  const std::pair<SamplingParams, std::vector<int32_t>> golden[] = {
      {{.seed = 42}, {19614, 31597, 26423, 23484, 10454, 9994, 7177, 11311, 17728, 8760, 16846, 10661}},
      {{.temperature = 0.7f, .top_k = 40, .seed = 42}, {21166, 30247, 27458, 21767, 8974, 7332, 7628, 15456, 17577, 6775, 15491, 10158}},
      {{.top_p = 0.9f, .min_p = 0.01f, .seed = 42}, {19589, 31600, 26433, 23519, 10465, 9977, 7163, 11283, 17747, 8829, 16859, 10683}},
      {{.temperature = 1.2f, .top_p = 0.95f, .repetition_penalty = 1.2f, .presence_penalty = 0.5f, .seed = 7},
       {30618, 12978, 185, 12627, 9319, 10683, 25542, 8415, 432, 18397, 24338, 25387}},
  };
  for (const auto& [p, expect] : golden) {
    Sampler s(p, Ids{10, 20, 30});
    EXPECT_EQ(sample_sequence(s, static_cast<int>(expect.size()), 32000), expect);
  }
}

// --- penalties ---

TEST(Penalties, RepetitionOverPromptAndGeneratedPresenceFrequencyOverGeneratedOnly) {
  const std::vector<float> logits = {2.0f, -1.0f, 0.5f, 3.0f, -2.0f, 1.0f, 0.0f, 4.0f};
  // Ids >= the vocabulary (9, 100) are ignored, as HF does.
  const auto probs = probabilities(
      {.repetition_penalty = 2.0f, .presence_penalty = 0.5f, .frequency_penalty = 0.25f}, logits,
      /*prompt=*/{1, 1, 3, 6, 9, 100}, /*generated=*/{3, 5, 5, 100});
  std::vector<float> expect = logits;
  expect[1] = -1.0f * 2.0f;               // prompt only, twice: once, and multiplied as it is negative
  expect[3] = 3.0f / 2.0f - 0.25f - 0.5f;  // prompt and generated once
  expect[5] = 1.0f / 2.0f - 0.5f - 0.5f;   // generated twice
  expect[6] = 0.0f;                       // 0 / 2
  for (size_t i = 1; i < logits.size(); ++i)
    EXPECT_NEAR(std::log(probs[i] / probs[0]), expect[i] - expect[0], 1e-5) << "token " << i;
}

TEST(Penalties, PresenceAndFrequencyIgnoreThePrompt) {
  const std::vector<float> logits = test_logits(50, 3);
  const auto plain = probabilities({}, logits);
  const auto prompted = probabilities({.presence_penalty = 2.0f, .frequency_penalty = 2.0f}, logits, {1, 2, 3, 3});
  EXPECT_EQ(plain, prompted);
}

// --- filter edge cases beyond the HF data ---

TEST(Filters, TopKKeepsEveryTokenTiedWithTheKth) {
  EXPECT_EQ(probabilities({.top_k = 1}, {1.0f, 3.0f, 3.0f, 2.0f}), (std::vector<float>{0, 0.5f, 0.5f, 0}));
  EXPECT_EQ(probabilities({.top_k = 4}, {0.0f, 0.0f, 0.0f}), std::vector<float>(3, 1.0f / 3));
}

TEST(Filters, TopPKeepsTheTokenThatCrossesAndTheLowerIdOfATieAtTheCut) {
  const std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.2f)};
  const auto probs = probabilities({.top_p = 0.6f}, logits);
  EXPECT_NEAR(probs[0], 0.5 / 0.8, 1e-6);
  EXPECT_NEAR(probs[1], 0.3 / 0.8, 1e-6);
  EXPECT_EQ(probs[2], 0.0f);
  // HF's order among tied tokens is torch.sort's and unspecified; ours keeps the lower id.
  EXPECT_EQ(probabilities({.top_p = 0.1f}, {1.0f, 3.0f, 3.0f, 0.0f}), (std::vector<float>{0, 1, 0, 0}));
}

TEST(Filters, MinPOfOneKeepsTheTiedMaxima) {
  EXPECT_EQ(probabilities({.min_p = 1.0f}, {1.0f, 3.0f, 2.9f, 3.0f}), (std::vector<float>{0, 0.5f, 0, 0.5f}));
}

TEST(Filters, OneTokenVocabulary) {
  Sampler s(kMixed, Ids{0, 0});
  for (int i = 0; i < 5; ++i) EXPECT_EQ(s.sample(std::vector<float>{-3.0f}).token, 0);
}

TEST(Filters, MaskedTokensAreNeverDrawn) {
  std::vector<float> logits = test_logits(3000, 11);
  for (size_t i = 0; i < logits.size(); i += 2) logits[i] = -INFINITY;
  Sampler s({.temperature = 5.0f, .seed = 3}, {});
  for (int i = 0; i < 2000; ++i) EXPECT_EQ(s.sample(logits).token % 2, 1);
}

// --- errors ---

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Errors, NonFiniteOrEmptyLogits) {
  Sampler s({}, {});
  std::vector<float> logits(10, 1.0f);
  logits[5] = NAN;
  EXPECT_EQ(error_of([&] { s.sample(logits); }), "logit of token 5 is nan");
  logits[5] = INFINITY;
  EXPECT_EQ(error_of([&] { s.sample(logits); }), "logit of token 5 is inf");
  logits.assign(10, -INFINITY);
  EXPECT_EQ(error_of([&] { s.sample(logits); }), "every logit is -inf: no token can be sampled");
  EXPECT_EQ(error_of([&] { s.sample({}); }), "sampler got empty logits");
  std::vector<float> probs(3);
  EXPECT_EQ(error_of([&] { s.probabilities(std::vector<float>(4, 0.0f), probs); }),
            "probabilities: 3 outputs for 4 logits");
  EXPECT_EQ(s.num_generated(), 0u);  // failed calls record nothing
}

TEST(Errors, NegativeTokenIds) {
  EXPECT_EQ(error_of([] { Sampler({}, Ids{3, -1}); }), "prompt token 1 has negative id -1");
  Sampler s({}, {});
  EXPECT_EQ(error_of([&] { s.accept(-7); }), "accepted token has negative id -7");
}

}  // namespace
}  // namespace tsc::test
