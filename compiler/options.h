// Options of the tsc command line: what only the compiler reads, plus the BuildOptions recorded into the executable
// (contract/build_options.h, which holds their defaults). Read by more than one stage (plan, driver), so it belongs
// to none of them.
#pragma once
#include <optional>
#include <string>

#include "contract/build_options.h"

namespace tsc {

struct CompileOptions {
  std::string model;             // path to model.onnx
  std::string output = "model_server";
  std::string emit;              // "", graph, spec, plan, cpu, cuda, ptx
  bool json = false;             // --emit=spec --json
  std::optional<Target> target;  // unset: cuda where nvcc exists and a GPU is usable, else cpu
  std::optional<CudaCompiler> cuda_compiler;  // unset: $TSC_CUDA_COMPILER, else nvcc (resolved by run_tsc)
  std::optional<DType> dtype;    // f32 | f16 | bf16; unset: the model's
  int64_t weight_bits = 0;       // --weight-dtype int4 | int8: quantize a float file's projections (0: as the file has them)
  int64_t weight_group = 0;      // --weight-group: int4's block (0: 32)
  bool head_int4 = false;        // --head-dtype int4: the tied embedding / LM head matrix in 4-bit blocks too
  BuildOptions build;            // page_size, top_k_pages, dense_layers, page_score, select_every, max_seq_len, max_batch
  std::string tokenizer;         // directory or tokenizer.json; "" = beside the model
  std::string config;            // HF config.json; "" = beside the model
  bool verbose = false;
  bool print_after_all = false;
};

}  // namespace tsc
