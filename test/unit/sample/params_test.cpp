// SamplingParams::validate: each bad field is named, with the value and a hint.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "contract/error.h"
#include "runtime/sample/sampler.h"

namespace tsc::test {
namespace {

// The message of the tsc::Error validate() throws for params changed by `edit`.
std::string rejection(const std::function<void(SamplingParams&)>& edit, std::string* hint = nullptr) {
  SamplingParams p;
  edit(p);
  try {
    p.validate();
  } catch (const Error& e) {
    if (hint) *hint = e.hint();
    return e.what();
  }
  return "(accepted)";
}

TEST(SamplingParams, DefaultsAreValid) { EXPECT_NO_THROW(SamplingParams{}.validate()); }

TEST(SamplingParams, RejectsBadValuesNamingTheField) {
  EXPECT_EQ(rejection([](auto& p) { p.top_p = 1.5f; }), "top_p must be in (0, 1], got 1.5");
  EXPECT_EQ(rejection([](auto& p) { p.top_p = 0.0f; }), "top_p must be in (0, 1], got 0");
  EXPECT_EQ(rejection([](auto& p) { p.top_p = NAN; }), "top_p must be in (0, 1], got nan");
  EXPECT_EQ(rejection([](auto& p) { p.temperature = -0.5f; }), "temperature must be >= 0 and finite, got -0.5");
  EXPECT_EQ(rejection([](auto& p) { p.temperature = INFINITY; }), "temperature must be >= 0 and finite, got inf");
  EXPECT_EQ(rejection([](auto& p) { p.top_k = -1; }), "top_k must be >= 0, got -1");
  EXPECT_EQ(rejection([](auto& p) { p.min_p = 1.25f; }), "min_p must be in [0, 1], got 1.25");
  EXPECT_EQ(rejection([](auto& p) { p.min_p = -0.1f; }), "min_p must be in [0, 1], got -0.1");
  EXPECT_EQ(rejection([](auto& p) { p.repetition_penalty = 0.0f; }),
            "repetition_penalty must be > 0 and finite, got 0");
  EXPECT_EQ(rejection([](auto& p) { p.presence_penalty = 2.5f; }), "presence_penalty must be in [-2, 2], got 2.5");
  EXPECT_EQ(rejection([](auto& p) { p.frequency_penalty = -3.0f; }),
            "frequency_penalty must be in [-2, 2], got -3");
  EXPECT_EQ(rejection([](auto& p) { p.logprobs = true, p.top_logprobs = 21; }),
            "top_logprobs must be in [0, 20], got 21");
  EXPECT_EQ(rejection([](auto& p) { p.top_logprobs = 3; }), "top_logprobs is 3 but logprobs is off");
}

TEST(SamplingParams, ErrorsCarryAHint) {
  std::string hint;
  rejection([](auto& p) { p.top_p = 2.0f; }, &hint);
  EXPECT_EQ(hint, "use 1 to turn top-p off");
  rejection([](auto& p) { p.top_k = -1; }, &hint);
  EXPECT_EQ(hint, "use 0 to turn top-k off");
}

TEST(SamplingParams, AcceptsTheEdges) {
  for (auto edit : std::initializer_list<std::function<void(SamplingParams&)>>{
           [](auto& p) { p.temperature = 0.0f; }, [](auto& p) { p.temperature = 100.0f; },
           [](auto& p) { p.top_p = 1e-6f; }, [](auto& p) { p.min_p = 1.0f; },
           [](auto& p) { p.presence_penalty = -2.0f, p.frequency_penalty = 2.0f; },
           [](auto& p) { p.repetition_penalty = 1e-3f; }, [](auto& p) { p.top_k = 1 << 30; },
           [](auto& p) { p.logprobs = true, p.top_logprobs = 20; }, [](auto& p) { p.seed = ~0ull; }})
    EXPECT_EQ(rejection(edit), "(accepted)");
}

TEST(SamplingParams, SamplerValidatesOnConstruction) {
  SamplingParams p;
  p.top_p = 1.5f;
  EXPECT_THROW(Sampler(p, {}), Error);
}

TEST(SamplingParams, GreedyBelowTheThreshold) {
  EXPECT_TRUE(SamplingParams{.temperature = 0.0f}.greedy());
  EXPECT_TRUE(SamplingParams{.temperature = 1e-6f}.greedy());
  EXPECT_FALSE(SamplingParams{.temperature = 1e-4f}.greedy());
}

}  // namespace
}  // namespace tsc::test
