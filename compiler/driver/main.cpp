// tsc: compiles the ONNX file of a decoder LM into one serving executable (command-line entry point).
#include <CLI/CLI.hpp>
#include <iostream>

#include "compiler/driver/pipeline.h"
#include "contract/error.h"

int main(int argc, char** argv) {
  tsc::CompileOptions o;
  tsc::BuildOptions& b = o.build;
  std::string target, cuda_compiler, page_score = tsc::page_score_name(b.page_score), dtype, weight_dtype;  // typed after parsing
  CLI::App app{"tsc: ahead-of-time compiler from the ONNX file of a decoder LM (GPT-2, Llama family) to one serving executable"};
  app.add_option("model", o.model, "model.onnx, or a folder holding model.onnx or onnx/model.onnx (external data, config.json and tokenizer files are read from beside it, or one folder up in the hub layout)")->required();
  app.add_option("-o,--output", o.output, "path of the executable to write")->capture_default_str();
  std::vector<std::string> emits{"graph", "spec", "cpu", "cuda", "ptx"};
  std::string stages_help = "stop after a stage and print its result:";
  for (const tsc::Stage& s : tsc::compile_stages()) {
    emits.push_back(s.name);
    stages_help += std::string("\n  ") + s.name + ": " + s.summary;
  }
  stages_help += "\n  (graph = simplify, spec = lift; cpu, cuda, ptx = codegen's source or PTX for that target)";
  app.add_option("--emit", o.emit, stages_help)->check(CLI::IsMember(emits));
  app.add_flag("--json", o.json, "with --emit=spec: JSON with HF config.json key names");
  app.add_option("--target", target, "cpu or cuda (default: cuda where nvcc exists, else cpu)")->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_option("--cuda-compiler", cuda_compiler,
                 "who compiles the CUDA kernels: nvcc, or clang (LLVM's NVPTX back end: clang++-19 to PTX, then the CUDA "
                 "Toolkit's ptxas and fatbinary); default: $TSC_CUDA_COMPILER, else nvcc");
  app.add_option("--page-size", b.page_size, "tokens per KV-cache page")->capture_default_str();
  app.add_option("--top-k-pages", b.top_k_pages, "page budget kept per decode step, layer and KV head (0 = dense attention)")->capture_default_str();
  app.add_option("--dense-layers", b.dense_layers, "number of first layers that always attend densely")->capture_default_str();
  std::string score_help = "what decode ranks pages by:";
  std::vector<std::string> score_names;
  for (const auto& s : tsc::kPageScores) {
    score_help += std::string(score_names.empty() ? " " : "; ") + s.name + " (" + s.what + ")";
    score_names.push_back(s.name);
  }
  app.add_option("--page-score", page_score, score_help)->check(CLI::IsMember(score_names))->capture_default_str();
  app.add_option("--select-every", b.select_every,
                 "score pages every N decode steps of a sequence and reuse its kept pages in between (pages begun since "
                 "are always kept); 1 scores every step. Requests may override it")
      ->capture_default_str();
  app.add_option("--dtype", dtype, "weight type in the executable: f32, f16 or bf16 (default: the model's)")->check(CLI::IsMember({"f32", "f16", "bf16"}));
  app.add_option("--weight-dtype", weight_dtype,
                 "quantize a float file's projections at compile time: int4 (blocks of --weight-group, symmetric, round to "
                 "nearest, as onnxruntime's MatMulNBitsQuantizer) or int8 (one scale per output channel, symmetric, as "
                 "quantize_dynamic per_channel; inputs quantized per step); a tied LM head stays in --dtype (default: as the file has them)")
      ->check(CLI::IsMember({"int4", "int8"}));
  app.add_option("--weight-group", o.weight_group, "with --weight-dtype int4: values per scale, a power of two of at least 16 (default 32)");
  std::string head_dtype;
  app.add_option("--head-dtype", head_dtype,
                 "int4: store the tied embedding / LM head matrix in the projections' 4-bit format too (their block and "
                 "scale type; symmetric, round to nearest), where a file keeps it in floats (transformers.js's model_q4): "
                 "a smaller executable and faster decode, logits no longer those of the file (default: as the file has it)")
      ->check(CLI::IsMember({"int4"}));
  app.add_option("--max-seq-len", b.max_seq_len, "longest sequence served (default: the model's max_position_embeddings)");
  app.add_option("--max-batch", b.max_batch, "most sequences decoded together")->capture_default_str();
  app.add_option("--tokenizer", o.tokenizer, "folder with tokenizer.json (or vocab.json + merges.txt); default: beside the model");
  app.add_option("--config", o.config, "HF config.json to cross-check the recovered spec with; default: beside the model");
  app.add_flag("-v,--verbose", o.verbose, "print each stage with its time, and why patterns did not match");
  app.add_flag("--print-after-all", o.print_after_all, "print the graph after every simplification pass (to stderr)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    if (!target.empty()) o.target = tsc::parse_target(target, "--target");
    if (!cuda_compiler.empty()) o.cuda_compiler = tsc::parse_cuda_compiler(cuda_compiler, "--cuda-compiler " + cuda_compiler);
    b.page_score = tsc::parse_page_score(page_score, "--page-score");
    if (!dtype.empty()) o.dtype = tsc::dtype_from_name(dtype);
    o.head_int4 = !head_dtype.empty();
    if (!weight_dtype.empty()) o.weight_bits = weight_dtype == "int4" ? 4 : 8;
    if (o.weight_group != 0 && o.weight_bits != 4)
      throw tsc::Error("--weight-group " + std::to_string(o.weight_group) + " needs --weight-dtype int4",
                       "int8 has one scale per output channel; add --weight-dtype int4, or leave --weight-group out");
    return tsc::run_tsc(o);
  } catch (const tsc::Error& e) {
    std::cerr << tsc::format_error("tsc", e);
    return 1;
  } catch (const std::bad_alloc&) {
    std::cerr << "tsc: error: out of memory\n---> HINT: close other programs or use a machine with more memory\n";
    return 1;
  }
}
