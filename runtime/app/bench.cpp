// `model_server bench`: batched greedy decoding of random prompts, timed per step (CUDA graphs on the
// GPU); prints time to first token, ms per decode step, tokens/s and device memory. Prompts are prefilled
// in chunks (one sequence at a time) so that long contexts fit; TTFT is the time of one prompt's prefill.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <random>

#include <nlohmann/json.hpp>

#include "runtime/app/commands.h"
#include "runtime/core/error.h"
#include "runtime/engine/engine.h"

namespace tsc {

namespace {

using clock_t_ = std::chrono::steady_clock;

double since_ms(clock_t_::time_point t0) { return std::chrono::duration<double, std::milli>(clock_t_::now() - t0).count(); }

// Prefills one sequence in chunks; returns its first generated token.
int32_t prefill(Engine& eng, SeqKv& seq, const std::vector<int32_t>& prompt, int64_t chunk) {
  std::vector<int32_t> ids;
  for (size_t at = 0; at < prompt.size(); at += static_cast<size_t>(chunk)) {
    const int64_t n = std::min<int64_t>(chunk, static_cast<int64_t>(prompt.size() - at));
    StepSeq s{&seq, prompt.data() + at, n, false, 0, false};
    eng.step_greedy({&s, 1}, ids);
  }
  return ids[0];
}

}  // namespace

int cmd_bench(const BenchArgs& a) {
  Engine eng(Payload::open(self_exe()), EngineOptions{0, a.kv_memory});
  const int64_t V = eng.spec().vocab_size;
  const int64_t budget = a.dense ? 0 : (a.top_k_pages >= 0 ? a.top_k_pages : eng.options().top_k_pages);
  const int64_t max_prompt = a.mixed ? a.mixed_max : a.prompt_len;
  if (max_prompt + a.gen > eng.options().max_seq_len)
    throw Error("prompt " + std::to_string(max_prompt) + " + generated " + std::to_string(a.gen) + " tokens exceed max_seq_len " +
                    std::to_string(eng.options().max_seq_len), "lower --prompt-len or --gen, or rebuild with a larger --max-seq-len");
  std::mt19937_64 rng(1234);
  auto random_prompt = [&](int64_t len) {
    std::vector<int32_t> p(static_cast<size_t>(len));
    for (auto& t : p) t = static_cast<int32_t>(rng() % static_cast<uint64_t>(V));
    return p;
  };
  // Warm-up: one short sequence through prefill and decode (module loading, cuBLAS, first captures).
  {
    SeqKv s;
    auto p = random_prompt(16);
    int32_t t = prefill(eng, s, p, a.chunk);
    std::vector<int32_t> ids;
    for (int i = 0; i < 3; ++i) {
      StepSeq st{&s, &t, 1, true, budget, false};
      eng.step_greedy({&st, 1}, ids);
      t = ids[0];
    }
    eng.kv().free(s);
  }
  for (int64_t B : a.batches) {
    std::vector<std::vector<int32_t>> prompts(static_cast<size_t>(B));
    int64_t total_prompt = 0;
    for (auto& p : prompts) {
      const int64_t len = a.mixed ? a.mixed_min + static_cast<int64_t>(rng() % static_cast<uint64_t>(a.mixed_max - a.mixed_min + 1)) : a.prompt_len;
      p = random_prompt(len);
      total_prompt += len;
    }
    std::vector<SeqKv> seqs(static_cast<size_t>(B));
    std::vector<int32_t> next(static_cast<size_t>(B)), ids;
    auto t0 = clock_t_::now();
    double ttft = 0;
    for (int64_t b = 0; b < B; ++b) {
      auto tb = clock_t_::now();
      next[b] = prefill(eng, seqs[b], prompts[b], a.chunk);
      if (b == 0) ttft = since_ms(tb);
    }
    const double prefill_ms = since_ms(t0);
    // One decode run per mode on the same prefilled sequences (--modes sparse,dense compares them on one prefill).
    for (const std::string& mode : a.modes.empty() ? std::vector<std::string>{a.dense ? "dense" : "sparse"} : a.modes) {
      const int64_t bud = mode == "dense" ? 0 : budget;
      std::vector<double> ms;
      for (int64_t i = 0; i < a.gen; ++i) {
        std::vector<StepSeq> step;
        for (int64_t b = 0; b < B; ++b) step.push_back(StepSeq{&seqs[b], &next[b], 1, true, bud, false});
        auto s0 = clock_t_::now();
        eng.step_greedy(step, ids);
        ms.push_back(since_ms(s0));
        next = ids;
      }
      const int64_t peak_pages = eng.pool().used_pages();
      const int64_t mem = eng.backend().device_memory_used();
      std::vector<double> steady(ms.begin() + std::min<int64_t>(a.warmup, static_cast<int64_t>(ms.size())), ms.end());
      std::sort(steady.begin(), steady.end());
      const double med = steady.empty() ? 0 : steady[steady.size() / 2];
      double mean = 0;
      for (double v : steady) mean += v;
      mean = steady.empty() ? 0 : mean / static_cast<double>(steady.size());
      nlohmann::json j = {{"backend", eng.backend().name()}, {"batch", B}, {"prompt_len", a.mixed ? -1 : a.prompt_len},
                          {"prompt_tokens", total_prompt}, {"gen", a.gen}, {"mode", mode}, {"budget", bud}, {"dense_layers", eng.options().dense_layers},
                          {"ttft_ms", ttft}, {"prefill_ms", prefill_ms}, {"step_ms_median", med}, {"step_ms_mean", mean},
                          {"tokens_per_s", med > 0 ? static_cast<double>(B) * 1000.0 / med : 0.0}, {"device_memory_bytes", mem},
                          {"kv_pages_used", peak_pages}, {"kv_page_bytes", kv_page_bytes(eng.spec(), eng.options())}, {"kv_pages", eng.pool().num_pages()}};
      if (a.json) std::cout << j.dump() << std::endl;
      else
        std::cout << "batch " << B << " " << mode << ": ttft " << ttft << " ms, decode " << med << " ms/step (median; mean " << mean << "), "
                  << j["tokens_per_s"].get<double>() << " tokens/s, device memory " << mem / (1 << 20) << " MiB" << std::endl;
    }
    for (auto& s : seqs) eng.kv().free(s);
  }
  return 0;
}

}  // namespace tsc
