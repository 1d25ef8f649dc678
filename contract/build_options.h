// Build options: what tsc was asked for, once, typed, with their defaults and checks. tsc's command line fills them
// (compiler/options.h), the plan resolves and holds them, the payload records them and the runtime reads them back
// (model_server info prints them).
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "contract/dtype.h"

namespace tsc {

enum class Target { kCpu, kCuda };
// What decode ranks pages by (DESIGN.md "Page scores"): a new score is a value here, a line of kPageScores and
// one template per target (templates/cpu/page_score.h, templates/cuda/page_score.cuh); the value is its kernels' SCORE.
enum class PageScore { kBound, kSketch };
struct PageScoreInfo {
  PageScore score;
  const char* name;  // --page-score NAME, the payload's and --emit=plan's spelling
  const char* what;
};
inline constexpr PageScoreInfo kPageScores[] = {
    {PageScore::kBound, "bound", "the key bound: an upper bound of q.k from the page's channel min/max"},
    {PageScore::kSketch, "sketch", "the key sketch: the page's attention mass estimated from 1 bit per key on its widest channels"},
};
enum class CudaCompiler { kNvcc, kClang };  // who compiles the CUDA kernels (compile time only: not recorded)

// Names as the command line and the payload spell them ("cpu", "sketch", "clang"), and back: a value that is none
// throws tsc::Error naming `what` (the option or field that carried it) with the accepted values as the hint.
std::string target_name(Target t);
std::string page_score_name(PageScore p);
std::string cuda_compiler_name(CudaCompiler c);
Target parse_target(const std::string& text, const std::string& what);
PageScore parse_page_score(const std::string& text, const std::string& what);
CudaCompiler parse_cuda_compiler(const std::string& text, const std::string& what);

// Largest --select-every accepted (with 16-token pages, 64 steps begin at most 4 pages).
constexpr int64_t kMaxSelectEvery = 64;
// Longest sequence served when neither --max-seq-len nor the model says.
constexpr int64_t kDefaultMaxSeqLen = 4096;

struct BuildOptions {
  Target target = Target::kCpu;
  DType weight_dtype = DType::kF32;  // storage type of matrices (norms stay f32)
  DType kv_dtype = DType::kF32;      // storage type of the KV cache
  int64_t page_size = 16;            // tokens per KV page: a power of two in [1, 256]
  int64_t top_k_pages = 64;          // page budget per sequence, layer and KV head: 0 (dense) or >= 2
  int64_t dense_layers = 2;          // first layers that always attend densely
  PageScore page_score = PageScore::kBound;
  int64_t select_every = 1;          // decode steps between page scorings, [1, kMaxSelectEvery] (kept set reused between)
  int64_t max_seq_len = 0;           // 0 until planned: the model's max_position_embeddings, else kDefaultMaxSeqLen
  int64_t max_batch = 64;            // most sequences decoded together
  std::string source_model;          // path given to tsc
  std::string tsc_version;
};

// Checks the ranges above, naming the option ("--page-size 12 is not a power of two in [1, 256]"); throws tsc::Error.
void check_build_options(const BuildOptions& o);
// `name` (the option or field that carried it) must be in [1, kMaxSelectEvery].
void check_select_every(int64_t every, const std::string& name);

nlohmann::json build_options_to_json(const BuildOptions& o);
BuildOptions build_options_from_json(const nlohmann::json& j);

}  // namespace tsc
