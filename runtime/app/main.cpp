// model_server: the executable tsc builds. Subcommands: serve (the default), generate, score, bench, info.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "runtime/app/commands.h"
#include "runtime/app/serve.h"
#include "contract/error.h"

// How the CPU kernels' OpenMP threads wait between parallel regions, unless the user set OMP_WAIT_POLICY or
// GOMP_SPINCOUNT. `serve` and `bench` (a machine given to the model) spin for a bounded time, then sleep: a
// decode step runs ~120 regions (SmolLM2: 4 projections a layer) and waking sleeping threads for each cost a
// quarter of a step (SmolLM2-135M, 2 cores: 37-48 -> 29 ms at batch 1, docs/PERF.md). The one-shot commands
// (score, generate, info), which tests and scripts run on shared machines, sleep at once: there spinning
// turns every region into a scheduler quantum (measured 101 -> 185 ms per step with 5 runnable processes per
// core). libgomp reads the variables in its constructor, so they are set from the executable's preinit
// array, which glibc runs before any shared library's initializers.
static void tsc_default_omp_env(int argc, char** argv, char**) {
  if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) return;
  const bool serving = argc < 2 || argv[1][0] == '-' || std::strcmp(argv[1], "serve") == 0 || std::strcmp(argv[1], "bench") == 0;
  if (serving) setenv("GOMP_SPINCOUNT", "30000", /*overwrite=*/0);  // a few ms of pause loops at most
  else setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/0);
}
__attribute__((section(".preinit_array"), used)) static void (*tsc_preinit)(int, char**, char**) = &tsc_default_omp_env;

int main(int argc, char** argv) {
  CLI::App app{"model_server: a language model compiled by tsc (weights, tokenizer and kernels inside this file).\n"
               "Without a subcommand it serves the OpenAI API on 127.0.0.1:8000 (`model_server --port 9000` = `model_server serve --port 9000`)."};
  app.require_subcommand(1);
  // No subcommand (or serve's flags straight away): serve.
  std::vector<char*> args(argv, argv + argc);
  static char serve_word[] = "serve";
  if (argc == 1 || (argv[1][0] == '-' && std::string(argv[1]) != "-h" && std::string(argv[1]) != "--help" && std::string(argv[1]) != "--help-all"))
    args.insert(args.begin() + 1, serve_word);
  tsc::ServeArgs sv;
  auto* serve = app.add_subcommand("serve", "serve the OpenAI API (completions, chat, models, health, metrics) over HTTP");
  tsc::add_serve_options(*serve, sv);
  tsc::ScoreArgs sa;
  auto* score = app.add_subcommand("score", "write float32 logits [batch, seq, vocab] for int64 token ids [batch, seq]");
  score->add_option("--input-ids", sa.input_ids, "token ids, .npy int64 [batch, seq]")->required();
  score->add_option("--out", sa.out, "output logits, .npy float32 [batch, seq, vocab]")->required();
  score->add_option("--mode", sa.mode, "prefill: all tokens in one pass; decode: one token per step through the paged decode path")
      ->check(CLI::IsMember({"prefill", "decode"}))->capture_default_str();
  auto* dense = score->add_flag("--dense", sa.dense, "decode attends to every page (no page selection)");
  score->add_option("--top-k-pages", sa.top_k_pages, "decode page budget per KV head and layer (default: the build's)")->excludes(dense);
  score->add_option("--kv-pages", sa.kv_pages, "KV-cache pages to allocate (default: max_batch x max_seq_len worth)");
  score->add_option("--select-reduce", sa.select_reduce, "ablation (CPU target): score pages by the sum or the max over the GQA group")
      ->check(CLI::IsMember({"sum", "max"}))->capture_default_str();
  score->add_flag("--no-sink", sa.no_sink, "ablation (CPU target): do not always keep the first page");
  score->add_option("--select-score", sa.select_score,
                    "ablation (CPU target): rank pages by the key-bound score (bound) or by the attention mass exact attention "
                    "gives them (oracle: as slow as dense; measures what the bound costs), or by tighter upper bounds screened "
                    "from the page's keys: min/max boxes of 2 or 4 sub-page runs (subpage2, subpage4), the box and a ball "
                    "around its center (sphere), or that on each half (subpage2sphere); qsum, qsumsphere: the box (and ball) "
                    "bound of the GQA group's summed query instead of the sum of each head's bound; gauss, boundsoft: "
                    "an estimate of the attention mass (from the keys' channel mean and variance, or the bound), "
                    "normalized per head and summed over the group like the oracle; subpage2gauss: gauss per half; gausscap: "
                    "gauss capped by the bound; boxgauss: gauss with mean and spread taken from the stored min/max; sketch1, "
                    "sketch2: the log-sum-exp of q·k over the page's keys, each channel quantized to 2 or 4 levels of the "
                    "page's min/max box; sketch1half, sketch1quarter: 1 bit on only the page's D/2 or D/4 widest channels")
      ->check(CLI::IsMember(tsc::select_score_names()))
      ->capture_default_str();
  score->add_option("--select-every", sa.select_every,
                    "decode mode: score pages every N decode steps and reuse the kept pages in between (default: the build's)");
  score->add_option("--prefill-tokens", sa.prefill_tokens,
                    "decode mode: prefill the first N tokens densely in one pass (as a served prompt), then decode the rest");
  score->add_option("--prefill-chunk", sa.prefill_chunk,
                    "prefill mode: feed each sequence in steps of at most N tokens (chunked prefill: later chunks attend to "
                    "the cached earlier ones); 0: one step")
      ->check(CLI::NonNegativeNumber);
  score->add_option("--select-trace", sa.select_trace,
                    "decode mode: write the pages each decode attention kept, .npy int32 [batch, seq, layers, kv_heads, top_k] "
                    "(ascending page indices, -1 padded; a row of -1 attended densely)");
  score->add_option("--select-replay", sa.select_replay,
                    "decode mode (CPU target): attend to the pages a --select-trace file recorded (e.g. on the GPU) instead of "
                    "this target's own top-k, and report where they differ from it and by how much");
  tsc::GenerateArgs ga;
  ga.sampling.temperature = 0.7f;
  ga.sampling.top_p = 0.9f;
  ga.sampling.repetition_penalty = 1.1f;
  auto* gen = app.add_subcommand("generate", "generate text from a prompt, streamed to stdout");
  auto* prompt = gen->add_option("-p,--prompt", ga.prompt, "prompt text (tokenized with the embedded tokenizer)");
  gen->add_option("--prompt-ids", ga.prompt_ids, "prompt as comma-separated token ids")->excludes(prompt);
  gen->add_option("-n,--max-tokens", ga.max_tokens, "most tokens to generate")->capture_default_str();
  gen->add_option("--temperature", ga.sampling.temperature, "0 = greedy")->capture_default_str();
  gen->add_option("--top-k", ga.sampling.top_k, "keep the k most likely tokens (0 = off)")->capture_default_str();
  gen->add_option("--top-p", ga.sampling.top_p, "nucleus sampling mass (1 = off)")->capture_default_str();
  gen->add_option("--min-p", ga.sampling.min_p, "drop tokens below min_p x the top probability (0 = off)")->capture_default_str();
  gen->add_option("--repetition-penalty", ga.sampling.repetition_penalty, "HF repetition penalty (1 = off)")->capture_default_str();
  gen->add_option("--presence-penalty", ga.sampling.presence_penalty, "OpenAI presence penalty")->capture_default_str();
  gen->add_option("--frequency-penalty", ga.sampling.frequency_penalty, "OpenAI frequency penalty")->capture_default_str();
  uint64_t seed = 0;
  auto* seed_opt = gen->add_option("--seed", seed, "random seed (same seed, same text)");
  gen->add_option("--stop", ga.stop, "stop before this string (repeatable)");
  gen->add_flag("--ignore-eos", ga.ignore_eos, "keep going past end-of-sequence tokens");
  auto* gdense = gen->add_flag("--dense", ga.dense, "decode attends to every page (no page selection)");
  gen->add_option("--top-k-pages", ga.top_k_pages, "decode page budget per KV head and layer (default: the build's)")->excludes(gdense);
  gen->add_option("--select-every", ga.select_every, "score pages every N decode steps, reusing the kept pages in between (default: the build's)");
  gen->add_option("--kv-memory", ga.kv_memory, "bytes of KV cache (default 4 GiB)");
  gen->add_flag("--stats", ga.stats, "print timings and page-selection figures to stderr");
  tsc::BenchArgs ba;
  auto* bench = app.add_subcommand("bench", "time batched greedy decoding of random prompts (TTFT, ms/step, tokens/s, memory)");
  bench->add_option("--batch", ba.batches, "batch sizes to run, e.g. --batch 1 64")->capture_default_str();
  bench->add_option("--prompt-len", ba.prompt_len, "prompt tokens per sequence")->capture_default_str();
  bench->add_option("--gen", ba.gen, "decode steps")->capture_default_str();
  bench->add_option("--warmup", ba.warmup, "decode steps left out of the statistics")->capture_default_str();
  bench->add_option("--chunk", ba.chunk, "prefill chunk in tokens")->capture_default_str();
  bench->add_flag("--mixed", ba.mixed, "prompt lengths uniform in [--mixed-min, --mixed-max] instead of --prompt-len");
  bench->add_option("--mixed-min", ba.mixed_min, "shortest mixed prompt")->capture_default_str();
  bench->add_option("--mixed-max", ba.mixed_max, "longest mixed prompt")->capture_default_str();
  auto* bdense = bench->add_flag("--dense", ba.dense, "decode attends to every page");
  bench->add_option("--top-k-pages", ba.top_k_pages, "decode page budget (default: the build's)")->excludes(bdense);
  bench->add_option("--select-every", ba.select_every,
                    "score pages every N decode steps, reusing the kept pages in between; several values: one sparse run each on "
                    "the same prefilled batch (default: the build's)");
  bench->add_option("--kv-memory", ba.kv_memory, "bytes of KV cache");
  bench->add_flag("--json", ba.json, "one JSON line per batch size");
  bench->add_option("--modes", ba.modes, "decode runs on the same prefilled batch, e.g. --modes sparse dense")->check(CLI::IsMember({"sparse", "dense"}));
  bool info_json = false;
  auto* info = app.add_subcommand("info", "print the model spec, build options and payload layout");
  info->add_flag("--json", info_json, "as JSON");
  try {
    app.parse(static_cast<int>(args.size()), args.data());
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    if (*serve) return tsc::cmd_serve(sv);
    if (*score) return tsc::cmd_score(sa);
    if (*gen) {
      if (ga.prompt.empty() && ga.prompt_ids.empty()) throw tsc::Error("generate needs --prompt or --prompt-ids", "e.g. generate --prompt \"Once upon a time\"");
      if (*seed_opt) ga.sampling.seed = seed;
      return tsc::cmd_generate(ga);
    }
    if (*info) return tsc::cmd_info(info_json);
    if (*bench) return tsc::cmd_bench(ba);
  } catch (const tsc::Error& e) {
    std::cerr << tsc::format_error("model_server", e);
    return 1;
  }
  return 0;
}
