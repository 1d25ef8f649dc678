// model_server subcommands: each reads the payload of this executable and does one job.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "runtime/engine/select_diag.h"  // select_score_names() for the --select-score options
#include "runtime/sample/sampling_params.h"

namespace tsc {

struct ScoreArgs {
  std::string input_ids, out, mode = "prefill";
  bool dense = false;
  int64_t top_k_pages = -1;  // -1: the build's budget
  int64_t kv_pages = 0;
  std::string select_reduce = "sum";  // ablation: "max" scores pages by the max over the GQA group
  bool no_sink = false;               // ablation: the first page is not always kept
  std::string select_score = "bound";  // ablation: "oracle" ranks pages by exact attention mass; "subpage2",
                                       // "subpage4", "sphere", "subpage2sphere", "qsum", "qsumsphere":
                                       // tighter bounds from the keys; "gauss", "boundsoft",
                                       // "subpage2gauss", "gausscap", "boxgauss", "sketch1", "sketch2",
                                       // "sketch1half", "sketch1quarter": estimated mass
  int64_t prefill_tokens = 0;         // decode mode: the first N tokens in one dense prefill pass, as a prompt
  int64_t prefill_chunk = 0;          // prefill mode: steps of at most N tokens per sequence (chunked prefill); 0: one step
  // decode mode: record each step's page selection (int32 [batch, seq, layers, kv_heads, top_k], -1 padded),
  // or impose a recorded one (CPU target), to compare two targets' numerics on the same selection
  std::string select_trace, select_replay;
  int64_t select_every = -1;  // decode steps between page scorings; -1: the build's
};
int cmd_score(const ScoreArgs& a);
int cmd_info(bool json);

struct GenerateArgs {
  std::string prompt, prompt_ids;
  int64_t max_tokens = 128;
  SamplingParams sampling;
  std::vector<std::string> stop;
  bool ignore_eos = false, dense = false, stats = false;
  int64_t top_k_pages = -1;
  int64_t select_every = -1;
  int64_t kv_memory = 0;
};
int cmd_generate(const GenerateArgs& a);

struct BenchArgs {
  std::vector<int64_t> batches = {1};
  int64_t prompt_len = 128, gen = 256, warmup = 8, chunk = 2048;
  bool mixed = false;                    // prompt lengths uniform in [mixed_min, mixed_max]
  std::vector<std::string> modes;        // decode runs on the same prefill: "sparse", "dense" (default: per --dense)
  int64_t mixed_min = 64, mixed_max = 2048;
  bool dense = false, json = false;
  int64_t top_k_pages = -1;
  std::vector<int64_t> select_every;     // sparse decode runs, one per value (default: the build's)
  int64_t kv_memory = 0;
};
int cmd_bench(const BenchArgs& a);

// Path of the running executable (its payload).
std::string self_exe();
// A --select-every value (-1: the build's), checked (info.cpp).
int64_t resolve_select_every(int64_t requested, int64_t build);

}  // namespace tsc
