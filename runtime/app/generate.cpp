// `model_server generate`: tokenize a prompt, prefill it, then sample token by token through the paged
// decode path, streaming text to stdout.
#include <algorithm>
#include <chrono>
#include <optional>
#include <iostream>
#include <sstream>

#include "runtime/app/commands.h"
#include "runtime/app/payload_tokenizer.h"
#include "runtime/sample/stop_matcher.h"
#include "contract/error.h"
#include "runtime/engine/engine.h"
#include "runtime/sample/sampler.h"

namespace tsc {

namespace {

std::vector<int32_t> parse_ids(const std::string& s) {
  std::vector<int32_t> ids;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      long long v = std::stoll(item, &used);
      if (item.find_first_not_of(" \t", used) != std::string::npos) throw std::invalid_argument(item);
      ids.push_back(static_cast<int32_t>(v));
    } catch (const std::exception&) {
      throw Error("--prompt-ids: '" + item + "' is not an integer", "pass comma-separated token ids, e.g. --prompt-ids 1,2,3");
    }
  }
  return ids;
}

}  // namespace

int cmd_generate(const GenerateArgs& a) {
  using clock = std::chrono::steady_clock;
  Engine eng(Payload::open(self_exe()), EngineOptions{0, a.kv_memory});
  auto tok = tokenizer_from_payload(eng.payload());
  std::vector<int32_t> prompt;
  if (!a.prompt_ids.empty()) prompt = parse_ids(a.prompt_ids);
  else if (!tok) throw Error("this executable has no tokenizer, so it cannot read --prompt text",
                             "pass token ids with --prompt-ids, or rebuild with tsc --tokenizer DIR");
  else prompt = tok->encode(a.prompt, true);
  if (prompt.empty()) throw Error("the prompt is empty", "pass a non-empty --prompt");
  SamplingParams sp = a.sampling;
  Sampler sampler(sp, prompt);
  std::vector<int32_t> eos = tok ? tok->eos_ids() : std::vector<int32_t>{};
  const int64_t budget = a.dense ? 0 : (a.top_k_pages >= 0 ? a.top_k_pages : eng.options().top_k_pages);
  const int64_t every = resolve_select_every(a.select_every, eng.options().select_every);
  SeqKv seq;
  std::vector<float> logits;
  auto t0 = clock::now();
  // Prefill in chunks so that long prompts keep activations small.
  const int64_t chunk = 512;
  for (size_t at = 0; at < prompt.size(); at += chunk) {
    const int64_t n = std::min<int64_t>(chunk, static_cast<int64_t>(prompt.size() - at));
    StepSeq s{&seq, prompt.data() + at, n, false, 0, false};
    eng.step({&s, 1}, logits);
  }
  auto t1 = clock::now();
  std::optional<IncrementalDecoder> dec;
  if (tok) dec.emplace(*tok, /*skip_special_tokens=*/true);
  StopMatcher stops(a.stop);
  std::string finish = "length";
  int64_t generated = 0;
  auto emit = [&](const std::string& text) {
    std::string out = stops.push(text);
    std::cout << out << std::flush;
  };
  for (; generated < a.max_tokens; ++generated) {
    SampleResult r = sampler.sample(logits);
    if (!a.ignore_eos && std::find(eos.begin(), eos.end(), r.token) != eos.end()) { finish = "stop"; break; }
    if (dec) emit(dec->push(r.token));
    else std::cout << (generated ? "," : "") << r.token << std::flush;
    if (stops.stopped()) { finish = "stop"; ++generated; break; }
    if (seq.num_tokens + 1 > eng.options().max_seq_len) break;
    StepSeq s{&seq, &r.token, 1, true, budget, false};
    s.select_every = every;
    eng.step({&s, 1}, logits);
  }
  if (dec && !stops.stopped()) emit(dec->flush());
  std::cout << stops.flush() << "\n" << std::flush;
  auto t2 = clock::now();
  if (a.stats) {
    const double pre = std::chrono::duration<double>(t1 - t0).count(), gen = std::chrono::duration<double>(t2 - t1).count();
    std::cerr << "generate: prompt " << prompt.size() << " tokens in " << pre * 1e3 << " ms, " << generated << " tokens in " << gen * 1e3
              << " ms (" << (gen > 0 ? static_cast<double>(generated) / gen : 0.0) << " tokens/s), finish_reason " << finish
              << ", seed " << sampler.seed() << "\n";
    const auto& c = eng.backend().counters();
    if (c.pages_total > 0)
      std::cerr << "generate: decode attention kept " << c.pages_kept << " of " << c.pages_total << " pages\n";
  }
  eng.kv().free(seq);
  return 0;
}

}  // namespace tsc
