// `model_server bench`: batched greedy decoding of random prompts, timed per step (CUDA graphs on the
// GPU); prints time to first token, ms per decode step, tokens/s and device memory.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <random>

#include <nlohmann/json.hpp>

#include "runtime/app/commands.h"
#include "runtime/core/error.h"
#include "runtime/engine/engine.h"

namespace tsc {

int cmd_bench(const BenchArgs& a) {
  using clock = std::chrono::steady_clock;
  Engine eng(Payload::open(self_exe()), EngineOptions{0, a.kv_memory});
  const int64_t V = eng.spec().vocab_size;
  const int64_t budget = a.dense ? 0 : (a.top_k_pages >= 0 ? a.top_k_pages : eng.options().top_k_pages);
  if (a.prompt_len + a.gen > eng.options().max_seq_len)
    throw Error("prompt " + std::to_string(a.prompt_len) + " + generated " + std::to_string(a.gen) + " tokens exceed max_seq_len " +
                    std::to_string(eng.options().max_seq_len), "lower --prompt-len or --gen");
  for (int64_t B : a.batches) {
    std::mt19937_64 rng(1234);
    std::vector<std::vector<int32_t>> prompts(static_cast<size_t>(B));
    for (auto& p : prompts) {
      p.resize(static_cast<size_t>(a.prompt_len));
      for (auto& t : p) t = static_cast<int32_t>(rng() % static_cast<uint64_t>(V));
    }
    std::vector<SeqKv> seqs(static_cast<size_t>(B));
    std::vector<int32_t> ids, next(static_cast<size_t>(B));
    // Prefill: all prompts in one step (the first token of each comes from it).
    auto t0 = clock::now();
    {
      std::vector<StepSeq> step;
      for (int64_t b = 0; b < B; ++b) step.push_back(StepSeq{&seqs[b], prompts[b].data(), a.prompt_len, false, 0, false});
      eng.step_greedy(step, ids);
    }
    const double ttft = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
    next = ids;
    std::vector<double> ms;
    for (int64_t i = 0; i < a.gen; ++i) {
      std::vector<StepSeq> step;
      for (int64_t b = 0; b < B; ++b) step.push_back(StepSeq{&seqs[b], &next[b], 1, true, budget, false});
      auto s0 = clock::now();
      eng.step_greedy(step, ids);
      ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - s0).count());
      next = ids;
    }
    for (auto& s : seqs) eng.kv().free(s);
    // Steps after warm-up (graph capture happens in the first two of each shape).
    std::vector<double> steady(ms.begin() + std::min<int64_t>(a.warmup, static_cast<int64_t>(ms.size())), ms.end());
    std::sort(steady.begin(), steady.end());
    const double med = steady.empty() ? 0 : steady[steady.size() / 2];
    double mean = 0;
    for (double v : steady) mean += v;
    mean = steady.empty() ? 0 : mean / static_cast<double>(steady.size());
    nlohmann::json j = {{"backend", eng.backend().name()}, {"batch", B}, {"prompt_len", a.prompt_len}, {"gen", a.gen}, {"budget", budget},
                        {"ttft_ms", ttft}, {"step_ms_median", med}, {"step_ms_mean", mean},
                        {"tokens_per_s", med > 0 ? static_cast<double>(B) * 1000.0 / med : 0.0},
                        {"device_memory_bytes", eng.backend().device_memory_used()}, {"kv_pages", eng.pool().num_pages()}};
    if (a.json) std::cout << j.dump() << std::endl;
    else
      std::cout << "batch " << B << ": ttft " << ttft << " ms, decode " << med << " ms/step (median; mean " << mean << "), "
                << j["tokens_per_s"].get<double>() << " tokens/s, device memory " << j["device_memory_bytes"].get<int64_t>() / (1 << 20)
                << " MiB" << std::endl;
  }
  return 0;
}

}  // namespace tsc
