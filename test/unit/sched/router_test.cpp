// Router tests over two fake engines: prefix affinity, spreading by load, a failed engine (fault injection)
// skipped from then on, and outputs equal to the cache-free reference whichever engine ran them.
#include <gtest/gtest.h>

#include <random>

#include "runtime/sched/fault_injection.h"
#include "runtime/sched/router.h"
#include "test/unit/sched/fake_model.h"

namespace tsc {
namespace {

using test::FakeModel;
using test::greedy;
using test::reference_greedy;

constexpr int64_t kVocab = 97, kPage = 4;

// Tokens of choice 0 and its finish (error text kept).
std::pair<std::vector<int32_t>, std::string> run(RequestStream& s) {
  std::vector<int32_t> out;
  std::vector<Event> ev;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    ev.clear();
    s.wait(ev, std::chrono::milliseconds(50));
    for (auto& e : ev) {
      if (e.kind == Event::Kind::kToken) out.push_back(e.token.token);
      if (e.kind == Event::Kind::kFinish) return {out, e.finish == FinishReason::kError ? "error: " + e.error : ""};
    }
  }
  ADD_FAILURE() << "request did not finish";
  return {out, "timeout"};
}

struct Two {
  FakeModel m0{64, kPage, kVocab, 256}, m1{64, kPage, kVocab, 256};
  std::unique_ptr<FailingStepModel> faulty;
  std::unique_ptr<Scheduler> s0, s1;
  std::unique_ptr<Router> router;
  explicit Two(int64_t fail_engine1_at = 0) {
    SchedulerOptions o;
    o.max_running = 8;
    o.name = "engine 0";
    s0 = std::make_unique<Scheduler>(m0, o);
    o.name = "engine 1";
    if (fail_engine1_at > 0) faulty = std::make_unique<FailingStepModel>(m1, fail_engine1_at);
    s1 = std::make_unique<Scheduler>(faulty ? static_cast<StepModel&>(*faulty) : m1, o);
    RouterOptions ro;
    ro.page_size = kPage;
    router = std::make_unique<Router>(std::vector<Router::Member>{{"0", s0.get()}, {"1", s1.get()}}, ro);
  }
};

TEST(Router, SamePrefixSameEngineAndCacheHits) {
  Two t;
  std::mt19937 rng(5);
  std::vector<int32_t> a(12), b(12);  // 3 full pages each
  for (auto& x : a) x = static_cast<int32_t>(rng() % kVocab);
  for (auto& x : b) x = static_cast<int32_t>(rng() % kVocab);
  std::vector<size_t> ea, eb;
  for (int i = 0; i < 5; ++i)
    for (auto* p : {&a, &b}) {
      std::vector<int32_t> prompt = *p;
      prompt.push_back(static_cast<int32_t>(rng() % kVocab));
      prompt.push_back(static_cast<int32_t>(i));
      Router::Routed r = t.router->submit({greedy(prompt, 6)});
      auto [tokens, err] = run(*r.stream);
      EXPECT_EQ(err, "");
      EXPECT_EQ(tokens, reference_greedy(prompt, 6, kVocab));
      (p == &a ? ea : eb).push_back(r.engine);
    }
  for (size_t e : ea) EXPECT_EQ(e, ea[0]);
  for (size_t e : eb) EXPECT_EQ(e, eb[0]);
  EXPECT_NE(ea[0], eb[0]);  // idle ties alternate, so the two prefixes went apart
  EXPECT_EQ(t.router->routed_affine(0) + t.router->routed_affine(1), 8);
  EXPECT_EQ(t.s0->stats().prefix_hit_tokens + t.s1->stats().prefix_hit_tokens, 8 * 12);
}

TEST(Router, LoadSpreadsConcurrentRequests) {
  Two t;
  t.m0.delay_us = t.m1.delay_us = 2000;
  std::vector<std::shared_ptr<RequestStream>> streams;
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < 8; ++i) {
    prompts.push_back({i + 1, i + 2, i + 3, i + 4, i + 5, i + 6});  // same length, distinct first page
    streams.push_back(t.router->submit({greedy(prompts.back(), 10)}).stream);
  }
  for (size_t i = 0; i < streams.size(); ++i) EXPECT_EQ(run(*streams[i]).first, reference_greedy(prompts[i], 10, kVocab));
  EXPECT_EQ(t.router->routed_load(0), 4);
  EXPECT_EQ(t.router->routed_load(1), 4);
}

TEST(Router, FailedEngineEndsItsRequestsAndIsSkipped) {
  Two t(/*fail_engine1_at=*/2);
  std::vector<std::pair<size_t, std::shared_ptr<RequestStream>>> sent;
  for (int i = 0; i < 2; ++i) {
    Router::Routed r = t.router->submit({greedy({i, 3, 1, 4, 1, 5, 9}, 8)});  // distinct first pages: no affinity
    sent.emplace_back(r.engine, r.stream);
  }
  ASSERT_NE(sent[0].first, sent[1].first);
  for (auto& [engine, stream] : sent) {
    auto [tokens, err] = run(*stream);
    if (engine == 1) EXPECT_NE(err.find("engine 1 failed: TSC_TEST_FAIL_ENGINE injected a failure at step 2"), std::string::npos) << err;
    else EXPECT_EQ(err, "");
  }
  EXPECT_FALSE(t.s1->load().failure.empty());
  EXPECT_THROW(t.s1->submit({greedy({1, 2}, 2)}), EngineDown);
  for (int i = 0; i < 4; ++i) {
    Router::Routed r = t.router->submit({greedy({7, 7, i}, 3)});
    EXPECT_EQ(r.engine, 0u);
    EXPECT_EQ(run(*r.stream).second, "");
  }
}

TEST(Router, EveryEngineFailedIsEngineDown) {
  FakeModel m(16, kPage, kVocab, 64);
  FailingStepModel f(m, 1);
  SchedulerOptions o;
  o.name = "engine 0";
  Scheduler s(f, o);
  Router router({{"0", &s}}, RouterOptions{});
  EXPECT_NE(run(*router.submit({greedy({1, 2, 3}, 2)}).stream).second.find("engine 0 failed"), std::string::npos);
  EXPECT_THROW(router.submit({greedy({1, 2, 3}, 2)}), EngineDown);
}

}  // namespace
}  // namespace tsc
