// Scheduler tests over a fake model whose logits hash the token history read back from KV pages: batching,
// chunked prefill, preemption, prefix reuse, forks and cancellation must all leave outputs unchanged and
// every page free.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <thread>

#include "runtime/sched/scheduler.h"
#include "test/unit/sched/fake_model.h"

namespace tsc {
namespace {

using test::FakeModel;
using test::greedy;
using test::reference_greedy;

struct Result {
  std::vector<std::vector<int32_t>> tokens;
  std::vector<std::vector<float>> logprobs;
  std::vector<FinishReason> finish;
  std::vector<TokenLogprob> prompt;
};

Result collect(RequestStream& s, std::chrono::seconds limit = std::chrono::seconds(60)) {
  Result r;
  r.tokens.resize(static_cast<size_t>(s.n()));
  r.logprobs.resize(static_cast<size_t>(s.n()));
  r.finish.resize(static_cast<size_t>(s.n()), FinishReason::kError);
  int32_t done = 0;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::vector<Event> ev;
  while (done < s.n()) {
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "request did not finish";
      return r;
    }
    ev.clear();
    s.wait(ev, std::chrono::milliseconds(100));
    for (auto& e : ev) {
      if (e.kind == Event::Kind::kToken) {
        r.tokens[e.choice].push_back(e.token.token);
        r.logprobs[e.choice].push_back(e.token.logprob);
      } else if (e.kind == Event::Kind::kFinish) {
        r.finish[e.choice] = e.finish;
        if (!e.error.empty()) ADD_FAILURE() << "error: " << e.error;
        ++done;
      } else {
        r.prompt = e.prompt;
      }
    }
  }
  return r;
}

std::vector<int32_t> random_prompt(std::mt19937& rng, int64_t len, int64_t vocab) {
  std::vector<int32_t> p(static_cast<size_t>(len));
  for (auto& t : p) t = static_cast<int32_t>(rng() % vocab);
  return p;
}

// Every page is either free or held by the prefix cache alone.
void expect_no_leak(Scheduler& s, FakeModel& m) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  SchedStats st;
  do {
    st = s.stats();
    if (st.requests_in_flight == 0 && st.running == 0 && st.kv_pages_free + st.kv_pages_cached_idle == st.kv_pages_total) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(st.requests_in_flight, 0);
  EXPECT_EQ(st.kv_pages_cached, st.kv_pages_cached_idle);
  EXPECT_EQ(st.kv_pages_free + st.kv_pages_cached_idle, st.kv_pages_total);
  EXPECT_EQ(m.pool().free_pages() + st.kv_pages_cached, m.pool().num_pages());
}

TEST(Scheduler, ConcurrentGreedyEqualsReference) {
  FakeModel m(512, 4, 97, 256);
  SchedulerOptions o;
  o.max_running = 16;
  o.max_step_tokens = 32;  // long prompts are chunked
  Scheduler s(m, o);
  std::mt19937 rng(1);
  std::vector<GenerationRequest> reqs;
  for (int i = 0; i < 60; ++i) reqs.push_back(greedy(random_prompt(rng, 1 + rng() % 70, 97), 1 + rng() % 40));
  std::vector<std::shared_ptr<RequestStream>> streams;
  for (auto& g : reqs) streams.push_back(s.submit({g}));
  for (size_t i = 0; i < reqs.size(); ++i) {
    Result r = collect(*streams[i]);
    EXPECT_EQ(r.tokens[0], reference_greedy(reqs[i].prompt, reqs[i].max_tokens, 97)) << "request " << i;
    EXPECT_EQ(r.finish[0], FinishReason::kLength);
  }
  expect_no_leak(s, m);
  EXPECT_GT(m.decode_tokens.load(), 0);
}

TEST(Scheduler, PreemptionKeepsOutputs) {
  // 24 pages of 4 tokens: a handful of sequences of up to ~60 tokens cannot all fit.
  FakeModel m(24, 4, 61, 128);
  SchedulerOptions o;
  o.max_running = 8;
  o.max_step_tokens = 16;
  Scheduler s(m, o);
  std::mt19937 rng(2);
  std::vector<GenerationRequest> reqs;
  for (int i = 0; i < 20; ++i) reqs.push_back(greedy(random_prompt(rng, 1 + rng() % 30, 61), 5 + rng() % 30));
  // One submission, queued at once: submitted one by one, the scheduler could finish the first requests
  // before the last arrived and never run short of pages (seen under a loaded CI run: 0 preemptions).
  Result r = collect(*s.submit(std::vector<GenerationRequest>(reqs)));  // reqs are read below
  for (size_t i = 0; i < reqs.size(); ++i)
    EXPECT_EQ(r.tokens[i], reference_greedy(reqs[i].prompt, reqs[i].max_tokens, 61)) << "request " << i;
  EXPECT_GT(s.stats().preemptions, 0);
  expect_no_leak(s, m);
}

TEST(Scheduler, PreemptionKeepsSampledOutputs) {
  // A sampled sequence that is preempted continues its Sampler: same seed, same text as alone.
  auto run = [](int64_t pages, int count) {
    FakeModel m(pages, 4, 61, 128);
    SchedulerOptions o;
    o.max_running = 8;
    Scheduler s(m, o);
    std::mt19937 rng(3);
    std::vector<std::shared_ptr<RequestStream>> streams;
    for (int i = 0; i < count; ++i) {
      GenerationRequest g;
      g.prompt = random_prompt(rng, 10, 61);
      g.max_tokens = 40;
      g.sampling.temperature = 0.9f;
      g.sampling.seed = 100 + i;
      streams.push_back(s.submit({g}));
    }
    std::vector<std::vector<int32_t>> out;
    for (auto& st : streams) out.push_back(collect(*st).tokens[0]);
    return std::make_pair(out, s.stats().preemptions);
  };
  auto [roomy, p0] = run(512, 8);
  auto [tight, p1] = run(20, 8);
  EXPECT_EQ(p0, 0);
  EXPECT_GT(p1, 0);
  EXPECT_EQ(roomy, tight);
}

TEST(Scheduler, PrefixCacheHitsAndOutputs) {
  FakeModel m(256, 4, 53, 256);
  Scheduler s(m, SchedulerOptions{});
  std::mt19937 rng(4);
  const auto system = random_prompt(rng, 40, 53);
  for (int i = 0; i < 10; ++i) {
    auto p = system;
    auto tail = random_prompt(rng, 1 + rng() % 9, 53);
    p.insert(p.end(), tail.begin(), tail.end());
    auto g = greedy(p, 8);
    Result r = collect(*s.submit({g}));
    EXPECT_EQ(r.tokens[0], reference_greedy(p, 8, 53));
  }
  const SchedStats st = s.stats();
  EXPECT_GE(st.prefix_hit_tokens, 9 * 40);  // every request after the first reuses the 10 shared pages
  EXPECT_GT(st.prefix_lookup_tokens, st.prefix_hit_tokens);
  expect_no_leak(s, m);
}

TEST(Scheduler, PrefixCacheEvictsUnderPressure) {
  FakeModel m(16, 4, 53, 64);
  Scheduler s(m, SchedulerOptions{});
  std::mt19937 rng(5);
  for (int i = 0; i < 12; ++i) {
    auto p = random_prompt(rng, 30, 53);
    Result r = collect(*s.submit({greedy(p, 20)}));
    EXPECT_EQ(r.tokens[0], reference_greedy(p, 20, 53));
  }
  EXPECT_GT(s.stats().prefix_evictions, 0);
  expect_no_leak(s, m);
}

TEST(Scheduler, ForksShareThePromptAndMatchSeeds) {
  FakeModel m(256, 4, 59, 256);
  Scheduler s(m, SchedulerOptions{});
  std::mt19937 rng(6);
  GenerationRequest g;
  g.prompt = random_prompt(rng, 23, 59);  // a partly filled last page, shared then copied on write
  g.max_tokens = 12;
  g.n = 4;
  g.sampling.temperature = 1.0f;
  g.sampling.seed = 7;
  Result all = collect(*s.submit({g}));
  EXPECT_EQ(m.prefill_tokens.load(), 23);  // the prompt was computed once for four choices
  for (int32_t c = 0; c < 4; ++c) {
    GenerationRequest one = g;
    one.n = 1;
    one.sampling.seed = 7 + c;
    Result r = collect(*s.submit({one}));
    EXPECT_EQ(all.tokens[c], r.tokens[0]) << "choice " << c;
  }
  EXPECT_NE(all.tokens[0], all.tokens[1]);
  expect_no_leak(s, m);
}

TEST(Scheduler, GreedyForksAreIdentical) {
  FakeModel m(64, 4, 59, 256);
  Scheduler s(m, SchedulerOptions{});
  GenerationRequest g = greedy({1, 2, 3, 4, 5, 6}, 10);
  g.n = 3;
  Result r = collect(*s.submit({g}));
  for (int c = 0; c < 3; ++c) EXPECT_EQ(r.tokens[c], reference_greedy(g.prompt, 10, 59));
  expect_no_leak(s, m);
}

TEST(Scheduler, StopIdsAndLength) {
  FakeModel m(64, 4, 31, 40);
  Scheduler s(m, SchedulerOptions{});
  std::vector<int32_t> p = {3, 1, 4, 1, 5};
  auto ref = reference_greedy(p, 20, 31);
  GenerationRequest g = greedy(p, 20);
  g.stop_ids = {ref[5]};
  Result r = collect(*s.submit({g}));
  const auto first = std::find(ref.begin(), ref.end(), ref[5]) - ref.begin();
  EXPECT_EQ(r.tokens[0], std::vector<int32_t>(ref.begin(), ref.begin() + first + 1));
  EXPECT_EQ(r.finish[0], FinishReason::kStop);
  // The context ends generation too: 35 + 5 = 40 = max_len.
  GenerationRequest l = greedy(std::vector<int32_t>(35, 2), 5);
  Result rl = collect(*s.submit({l}));
  EXPECT_EQ(rl.tokens[0].size(), 5u);
  EXPECT_EQ(rl.finish[0], FinishReason::kLength);
  expect_no_leak(s, m);
}

TEST(Scheduler, CancellationFreesPages) {
  FakeModel m(256, 4, 31, 512);
  m.delay_us = 500;
  Scheduler s(m, SchedulerOptions{});
  auto st = s.submit({greedy(std::vector<int32_t>(40, 7), 400)});
  std::vector<Event> ev;
  while (ev.empty()) st->wait(ev, std::chrono::milliseconds(100));
  st->cancel();
  Result r = collect(*st);
  EXPECT_EQ(r.finish[0], FinishReason::kAbort);
  expect_no_leak(s, m);
}

TEST(Scheduler, CancelOneChoice) {
  FakeModel m(256, 4, 31, 512);
  m.delay_us = 200;
  Scheduler s(m, SchedulerOptions{});
  GenerationRequest g = greedy({1, 2, 3}, 300);
  g.n = 2;
  auto st = s.submit({g});
  std::vector<Event> ev;
  while (ev.empty()) st->wait(ev, std::chrono::milliseconds(100));
  st->cancel_choice(1);
  Result r = collect(*st);
  EXPECT_EQ(r.finish[1], FinishReason::kAbort);
  EXPECT_EQ(r.finish[0], FinishReason::kLength);
  expect_no_leak(s, m);
}

TEST(Scheduler, QueueBound) {
  FakeModel m(64, 4, 31, 512);
  SchedulerOptions o;
  o.max_waiting = 2;
  Scheduler s(m, o);
  EXPECT_THROW(s.submit({greedy({1}, 1), greedy({1}, 1), greedy({1}, 1)}), QueueFull);
  // Two prompts of one call share a stream: choice r * n + c.
  Result r = collect(*s.submit({greedy({1, 2}, 3), greedy({3, 4}, 4)}));
  EXPECT_EQ(r.tokens[0], reference_greedy({1, 2}, 3, 31));
  EXPECT_EQ(r.tokens[1], reference_greedy({3, 4}, 4, 31));
  expect_no_leak(s, m);
}

TEST(Scheduler, RejectsWhatCannotRun) {
  FakeModel m(8, 4, 31, 64);
  Scheduler s(m, SchedulerOptions{});
  EXPECT_THROW(s.submit({greedy({}, 1)}), Error);
  EXPECT_THROW(s.submit({greedy({31}, 1)}), Error);                   // outside the vocabulary
  EXPECT_THROW(s.submit({greedy(std::vector<int32_t>(60, 1), 10)}), Error);  // past the context
  EXPECT_THROW(s.submit({greedy(std::vector<int32_t>(30, 1), 10)}), Error);  // more pages than the pool
  EXPECT_THROW(s.submit({greedy({1}, 0)}), Error);
  GenerationRequest b = greedy({1}, 1);
  b.budget = 9;  // beyond top_k_pages
  EXPECT_THROW(s.submit({b}), Error);
  GenerationRequest t = greedy({1}, 1);
  t.sampling.top_p = 2;
  EXPECT_THROW(s.submit({t}), Error);
}

// --select-every: a request's tsc.select_every reaches its decode steps; without one, the build's does;
// values outside [1, 64] are refused at submission.
TEST(Scheduler, SelectEveryPerRequest) {
  FakeModel m(16, 4, 31, 64);
  m.build_select_every = 3;
  Scheduler s(m, SchedulerOptions{});
  GenerationRequest g = greedy({1, 2, 3}, 4);
  g.select_every = 5;
  collect(*s.submit({g}));
  EXPECT_EQ(m.last_decode_every.load(), 5);
  collect(*s.submit({greedy({1, 2, 3}, 4)}));
  EXPECT_EQ(m.last_decode_every.load(), 3);
  for (int64_t bad : {0, 65}) {
    GenerationRequest b = greedy({1}, 2);
    b.select_every = bad;
    EXPECT_THROW(s.submit({b}), Error) << bad;
  }
  expect_no_leak(s, m);
}

TEST(Scheduler, PromptLogprobs) {
  FakeModel m(64, 4, 29, 128);
  Scheduler s(m, SchedulerOptions{});
  std::vector<int32_t> p = {5, 9, 2, 7, 7, 1, 0, 3, 8};
  GenerationRequest g = greedy(p, 0);
  g.prompt_logprobs = true;
  g.sampling.logprobs = true;
  g.sampling.top_logprobs = 2;
  Result r = collect(*s.submit({g}));
  ASSERT_EQ(r.prompt.size(), p.size() - 1);
  std::vector<float> l(29);
  for (size_t j = 1; j < p.size(); ++j) {
    test::fake_logits(std::span<const int32_t>(p.data(), j), 29, l.data());
    double z = 0;
    for (float x : l) z += std::exp(static_cast<double>(x));
    EXPECT_NEAR(r.prompt[j - 1].logprob, l[p[j]] - std::log(z), 1e-5);
    EXPECT_EQ(r.prompt[j - 1].top.size(), 2u);
  }
  EXPECT_TRUE(r.tokens[0].empty());
  expect_no_leak(s, m);
}

TEST(Scheduler, ShutdownAbortsInFlight) {
  FakeModel m(256, 4, 31, 1024);
  m.delay_us = 1000;
  auto s = std::make_unique<Scheduler>(m, SchedulerOptions{});
  auto st = s->submit({greedy({1, 2}, 500)});
  EXPECT_FALSE(s->wait_idle(std::chrono::steady_clock::now() + std::chrono::milliseconds(20)));
  s->cancel_all();
  EXPECT_TRUE(s->wait_idle(std::chrono::steady_clock::now() + std::chrono::seconds(5)));
  EXPECT_EQ(collect(*st).finish[0], FinishReason::kAbort);
  s.reset();
  EXPECT_EQ(m.pool().free_pages(), m.pool().num_pages());  // the cache let go of its pages too
}

}  // namespace
}  // namespace tsc
