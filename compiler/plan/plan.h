// Planning: DecoderSpec + serving options -> KernelPlan (target, specialization constants).
#pragma once
#include <string>
#include <vector>

#include "compiler/options.h"
#include "contract/payload.h"
#include "contract/spec.h"

namespace tsc {

// The build options resolved (target, dtypes, max_seq_len) and checked, plus the spec's constants the kernels
// specialize on; page size, budget and page score are build's (kPageSize, kTopK, kPageScore in generated code).
struct KernelPlan {
  BuildOptions build;          // recorded in the executable
  int64_t head_dim = 0, group = 0, rotary_dim = 0;
  bool rope_interleaved = false;
  int norm = 0;        // 0 LayerNorm, 1 RMSNorm (selects the fused projections' prologue)
  int activation = 0;  // 0 gelu_tanh, 1 gelu (erf), 2 silu-gated, 3 gelu_tanh-gated (GeGLU)
  int64_t q4_block = 0;                 // MatMulNBits block size of the 4-bit projections (0: none)
  DType q4_scale_dtype = DType::kF32;   // their scales' type (f16 in q4f16 files)
  bool i8 = false;                      // 8-bit projections (MatMulInteger codes): the CUDA kernels gemv_i8 / dequant_i8
  // "hd64_ps16_k64_g3_rd64_f16" ("..._sketch" with the sketch score, "..._q4b32" with 4-bit projections, "..._i8" with 8-bit ones): the key in generated file and kernel names.
  std::string key() const;
};

// Validates the options against the spec (page size a power of two, budget >= 2 or 0, ...); throws
// tsc::Error naming the option and the accepted values.
KernelPlan make_plan(const DecoderSpec& spec, const CompileOptions& opt, bool have_nvcc);
std::string plan_to_text(const KernelPlan& p);

}  // namespace tsc
