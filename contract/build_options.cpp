// Build options: names, parsing with hints, range checks and the payload's "build" record.
#include "contract/build_options.h"

#include "contract/error.h"

namespace tsc {

std::string target_name(Target t) { return t == Target::kCuda ? "cuda" : "cpu"; }
std::string page_score_name(PageScore p) {
  for (const auto& s : kPageScores)
    if (s.score == p) return s.name;
  return "?";
}
std::string cuda_compiler_name(CudaCompiler c) { return c == CudaCompiler::kClang ? "clang" : "nvcc"; }

Target parse_target(const std::string& text, const std::string& what) {
  if (text == "cpu") return Target::kCpu;
  if (text == "cuda") return Target::kCuda;
  throw Error(what + " " + text + " is not a target", "use cpu or cuda");
}

PageScore parse_page_score(const std::string& text, const std::string& what) {
  std::string names;
  for (const auto& s : kPageScores) {
    if (text == s.name) return s.score;
    names += std::string(names.empty() ? "" : " or ") + s.name + " (" + std::string(s.what).substr(0, std::string(s.what).find(':')) + ")";
  }
  throw Error(what + " " + text + " is not a page score", "use " + names);
}

CudaCompiler parse_cuda_compiler(const std::string& text, const std::string& what) {
  if (text == "nvcc") return CudaCompiler::kNvcc;
  if (text == "clang") return CudaCompiler::kClang;
  throw Error(what + " names no CUDA compiler", "use nvcc (the default) or clang (clang++-19 with the CUDA Toolkit's ptxas)");
}

void check_select_every(int64_t every, const std::string& name) {
  if (every < 1 || every > kMaxSelectEvery)
    throw Error(name + " " + std::to_string(every) + " is outside [1, " + std::to_string(kMaxSelectEvery) + "]",
                "use 1 to score pages every decode step, or 2.." + std::to_string(kMaxSelectEvery) + " to reuse the kept pages in between");
}

void check_build_options(const BuildOptions& o) {
  const bool pow2 = o.page_size >= 1 && (o.page_size & (o.page_size - 1)) == 0;
  if (!pow2 || o.page_size > 256) throw Error("--page-size " + std::to_string(o.page_size) + " is not a power of two in [1, 256]", "use 8, 16 or 32");
  if (o.top_k_pages < 0 || o.top_k_pages == 1)
    throw Error("--top-k-pages " + std::to_string(o.top_k_pages) + " cannot keep the first and the last page", "use 0 (dense) or a budget of at least 2 pages");
  if (o.dense_layers < 0) throw Error("--dense-layers must be >= 0", "use 0, 1 or 2");
  if (o.max_batch < 1) throw Error("--max-batch must be >= 1", "use e.g. 64");
  check_select_every(o.select_every, "--select-every");
}

nlohmann::json build_options_to_json(const BuildOptions& o) {
  return {{"target", target_name(o.target)}, {"weight_dtype", dtype_name(o.weight_dtype)}, {"kv_dtype", dtype_name(o.kv_dtype)},
          {"page_size", o.page_size}, {"top_k_pages", o.top_k_pages}, {"dense_layers", o.dense_layers},
          {"page_score", page_score_name(o.page_score)}, {"select_every", o.select_every},
          {"max_seq_len", o.max_seq_len}, {"max_batch", o.max_batch}, {"source_model", o.source_model},
          {"tsc_version", o.tsc_version}};
}

BuildOptions build_options_from_json(const nlohmann::json& j) {
  BuildOptions o;
  o.target = parse_target(j.at("target"), "the payload's target");
  o.weight_dtype = dtype_from_name(j.at("weight_dtype"));
  o.kv_dtype = dtype_from_name(j.at("kv_dtype"));
  o.page_size = j.at("page_size");
  o.top_k_pages = j.at("top_k_pages");
  o.dense_layers = j.at("dense_layers");
  o.page_score = parse_page_score(j.value("page_score", "bound"), "the payload's page score");  // absent before the option
  o.select_every = j.value("select_every", int64_t{1});  // likewise
  o.max_seq_len = j.at("max_seq_len");
  o.max_batch = j.at("max_batch");
  o.source_model = j.at("source_model");
  o.tsc_version = j.at("tsc_version");
  return o;
}

}  // namespace tsc
