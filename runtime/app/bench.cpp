// `model_server bench`: batched greedy decoding of random prompts, timed per step (CUDA graphs on the
// GPU); prints time to first token, ms per decode step, tokens/s and device memory. Prompts are prefilled
// packed into steps of at most --chunk tokens; TTFT is the time until every sequence of the batch has its
// first token (warm: the batch's first prefill step runs once untimed before).
#include <algorithm>
#include <chrono>
#include <iostream>
#include <random>

#include <nlohmann/json.hpp>

#include "runtime/app/commands.h"
#include "contract/error.h"
#include "runtime/engine/engine.h"

namespace tsc {

namespace {

using clock_t_ = std::chrono::steady_clock;

double since_ms(clock_t_::time_point t0) { return std::chrono::duration<double, std::milli>(clock_t_::now() - t0).count(); }

// Prefills every sequence, packing prompts into steps of at most `chunk` tokens (several short prompts per
// step, a long one over several steps), as a server batches them; next[b] = sequence b's first generated
// token. Stops after `max_steps` steps (< 0: all); returns the steps run.
int64_t prefill(Engine& eng, std::vector<SeqKv>& seqs, const std::vector<std::vector<int32_t>>& prompts, int64_t chunk,
                std::vector<int32_t>& next, int64_t max_steps = -1) {
  std::vector<size_t> done(prompts.size(), 0);
  std::vector<int32_t> ids;
  int64_t steps = 0;
  for (size_t first = 0; first < prompts.size() && steps != max_steps; ++steps) {
    std::vector<StepSeq> step;
    std::vector<size_t> who;
    int64_t left = chunk;
    for (size_t b = first; b < prompts.size() && left > 0; ++b) {
      const int64_t n = std::min<int64_t>(left, static_cast<int64_t>(prompts[b].size() - done[b]));
      step.push_back(StepSeq{&seqs[b], prompts[b].data() + done[b], n, false, 0, false});
      who.push_back(b);
      left -= n;
    }
    eng.step_greedy(step, ids);
    for (size_t k = 0; k < who.size(); ++k) {
      done[who[k]] += static_cast<size_t>(step[k].n);
      if (done[who[k]] == prompts[who[k]].size()) next[who[k]] = ids[k];
    }
    while (first < prompts.size() && done[first] == prompts[first].size()) ++first;
  }
  return steps;
}

}  // namespace

int cmd_bench(const BenchArgs& a) {
  Engine eng(Payload::open(self_exe()), EngineOptions{0, a.kv_memory});
  const int64_t V = eng.spec().vocab_size;
  const int64_t budget = a.dense ? 0 : (a.top_k_pages >= 0 ? a.top_k_pages : eng.options().top_k_pages);
  std::vector<int64_t> everies;
  for (int64_t e : a.select_every.empty() ? std::vector<int64_t>{-1} : a.select_every) everies.push_back(resolve_select_every(e, eng.options().select_every));
  // One decode run per (mode, select_every), each continuing the same sequences.
  std::vector<std::pair<std::string, int64_t>> runs;
  for (const std::string& mode : a.modes.empty() ? std::vector<std::string>{a.dense ? "dense" : "sparse"} : a.modes)
    for (int64_t e : mode == "dense" ? std::vector<int64_t>{1} : everies) runs.emplace_back(mode, e);
  const int64_t max_prompt = a.mixed ? a.mixed_max : a.prompt_len;
  const int64_t gen_all = a.gen * static_cast<int64_t>(runs.size());
  if (max_prompt + gen_all > eng.options().max_seq_len)
    throw Error("prompt " + std::to_string(max_prompt) + " + generated " + std::to_string(gen_all) + " tokens (" + std::to_string(runs.size()) +
                    " runs of --gen) exceed max_seq_len " + std::to_string(eng.options().max_seq_len),
                "lower --prompt-len or --gen, or rebuild with a larger --max-seq-len");
  std::mt19937_64 rng(1234);
  auto random_prompt = [&](int64_t len) {
    std::vector<int32_t> p(static_cast<size_t>(len));
    for (auto& t : p) t = static_cast<int32_t>(rng() % static_cast<uint64_t>(V));
    return p;
  };
  // Warm-up: one short sequence through prefill and decode (module loading, cuBLAS, first captures).
  {
    std::vector<SeqKv> s(1);
    std::vector<int32_t> t(1);
    prefill(eng, s, {random_prompt(16)}, a.chunk, t);
    std::vector<int32_t> ids;
    for (int i = 0; i < 3; ++i) {
      StepSeq st{&s[0], &t[0], 1, true, budget, false};
      st.select_every = everies[0];
      eng.step_greedy({&st, 1}, ids);
      t[0] = ids[0];
    }
    eng.kv().free(s[0]);
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
    // The first prefill step of this batch once untimed (its GEMM shapes' first use: library kernel loading,
    // plan choice, activation growth), as compiled baselines are timed warm; its time is reported apart.
    auto tw = clock_t_::now();
    prefill(eng, seqs, prompts, a.chunk, next, 1);
    const double prefill_cold_ms = since_ms(tw);
    for (auto& s : seqs) eng.kv().free(s);
    seqs.assign(static_cast<size_t>(B), SeqKv{});
    // Time to first token of the batch: every sequence prefilled and its first token chosen.
    auto t0 = clock_t_::now();
    const int64_t prefill_steps = prefill(eng, seqs, prompts, a.chunk, next);
    const double ttft = since_ms(t0);
    // One decode run per mode (and select_every) on the same prefilled sequences (--modes sparse,dense compares them on one prefill).
    for (const auto& [mode, every] : runs) {
      const int64_t bud = mode == "dense" ? 0 : budget;
      std::vector<double> ms;
      for (int64_t i = 0; i < a.gen; ++i) {
        std::vector<StepSeq> step;
        for (int64_t b = 0; b < B; ++b) {
          step.push_back(StepSeq{&seqs[b], &next[b], 1, true, bud, false});
          step.back().select_every = every;
        }
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
                          {"prompt_tokens", total_prompt}, {"gen", a.gen}, {"mode", mode}, {"budget", bud}, {"select_every", every}, {"dense_layers", eng.options().dense_layers},
                          {"ttft_ms", ttft}, {"prefill_steps", prefill_steps}, {"prefill_first_step_cold_ms", prefill_cold_ms}, {"step_ms_median", med}, {"step_ms_mean", mean},
                          {"tokens_per_s", med > 0 ? static_cast<double>(B) * 1000.0 / med : 0.0}, {"device_memory_bytes", mem},
                          {"kv_pages_used", peak_pages}, {"kv_page_bytes", kv_page_bytes(eng.spec(), eng.options())}, {"kv_pages", eng.pool().num_pages()}};
      if (a.json) std::cout << j.dump() << std::endl;
      else
        std::cout << "batch " << B << " " << mode << (every > 1 ? " every " + std::to_string(every) : std::string()) << ": ttft " << ttft << " ms, decode " << med << " ms/step (median; mean " << mean << "), "
                  << j["tokens_per_s"].get<double>() << " tokens/s, device memory " << mem / (1 << 20) << " MiB" << std::endl;
    }
    for (auto& s : seqs) eng.kv().free(s);
  }
  return 0;
}

}  // namespace tsc
