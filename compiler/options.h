// Options of the tsc command line, recorded into the executable it builds. Read by more than one stage (plan,
// driver), so it belongs to none of them.
#pragma once
#include <cstdint>
#include <string>

namespace tsc {

struct CompileOptions {
  std::string model;             // path to model.onnx
  std::string output = "model_server";
  std::string emit;              // "", graph, spec, plan, cpu, cuda, ptx
  bool json = false;             // --emit=spec --json
  std::string target;            // cpu | cuda ("" = cuda where nvcc exists, else cpu)
  std::string cuda_compiler;     // nvcc | clang ("" = $TSC_CUDA_COMPILER, else nvcc): who compiles CUDA kernels
  int64_t page_size = 16;
  int64_t top_k_pages = 64;      // page budget per sequence, layer and KV head (0 = dense)
  int64_t dense_layers = 2;
  std::string page_score = "bound";  // bound | sketch: what decode ranks pages by (DESIGN.md)
  int64_t select_every = 1;      // decode steps between page scorings; the kept set is reused in between
  std::string dtype;             // f32 | f16 | bf16 ("" = the model's)
  int64_t max_seq_len = 0;       // 0 = max_position_embeddings (or 4096 if unknown)
  int64_t max_batch = 64;
  std::string tokenizer;         // directory or tokenizer.json; "" = beside the model
  std::string config;            // HF config.json; "" = beside the model
  bool verbose = false;
  bool print_after_all = false;
};

}  // namespace tsc
