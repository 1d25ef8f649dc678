// KernelPlan construction and printing (tsc --emit=plan).
#include "compiler/plan/plan.h"

#include <sstream>

#include "contract/error.h"
#include "contract/build_options.h"

namespace tsc {

std::string KernelPlan::key() const {
  std::ostringstream o;
  o << "hd" << head_dim << "_ps" << build.page_size << "_k" << build.top_k_pages << "_g" << group << "_rd" << rotary_dim
    << (rope_interleaved ? "i" : "") << "_" << dtype_name(build.weight_dtype) << (build.page_score == PageScore::kSketch ? "_sketch" : "");
  if (q4_block > 0) o << "_q4b" << q4_block << (q4_scale_dtype == DType::kF16 ? "h" : "");
  if (i8) o << "_i8";
  return o.str();
}

KernelPlan make_plan(const DecoderSpec& s, const CompileOptions& opt, bool have_nvcc) {
  KernelPlan p;
  BuildOptions& b = p.build;
  b = opt.build;
  b.target = opt.target.value_or(have_nvcc ? Target::kCuda : Target::kCpu);
  const bool cuda = b.target == Target::kCuda;
  // The CUDA kernels read a block's codes in 16-byte chunks (32 codes): blocks of 16 do not fit them.
  if (s.quantization && s.quantization->bits == 4 && cuda && s.quantization->block_size % 32 != 0)
    throw Error("the model's 4-bit projections use blocks of " + std::to_string(s.quantization->block_size) + ", which the CUDA kernels do not run (blocks of 32 or more)",
                "build with --target cpu, or quantize with block_size 32 or larger (MatMulNBitsQuantizer(block_size=32))");
  if (cuda && !have_nvcc)
    throw Error("--target cuda needs nvcc, which is not on this machine's PATH", "install the CUDA Toolkit, or build with --target cpu");
  check_build_options(b);
  if (b.page_score == PageScore::kSketch && s.head_dim % 4 != 0)
    throw Error("--page-score sketch codes head_dim / 4 channels per key; head_dim " + std::to_string(s.head_dim) + " is not a multiple of 4",
                "leave --page-score at bound");
  if (s.quantization && s.quantization->bits == 4) {
    p.q4_block = s.quantization->block_size;
    p.q4_scale_dtype = s.quantization->scale_dtype;
  }
  // 8-bit projections: the CPU kernels quantize activations as the file's DynamicQuantizeLinear does; the CUDA
  // kernels are weight-only (codes dequantized in registers, activations in fp16/bf16).
  p.i8 = s.quantization && s.quantization->bits == 8;
  if (b.max_seq_len <= 0) b.max_seq_len = s.max_position_embeddings.value_or(kDefaultMaxSeqLen);
  if (s.position == PositionKind::kLearned && b.max_seq_len > *s.max_position_embeddings)
    throw Error("--max-seq-len " + std::to_string(b.max_seq_len) + " exceeds the model's " + std::to_string(*s.max_position_embeddings) + " learned positions",
                "use --max-seq-len " + std::to_string(*s.max_position_embeddings) + " or less");
  if (opt.dtype) b.weight_dtype = *opt.dtype;
  else b.weight_dtype = s.weight_dtype == DType::kF32 || s.weight_dtype == DType::kF16 || s.weight_dtype == DType::kBF16 ? s.weight_dtype : DType::kF32;
  if (cuda && b.weight_dtype == DType::kF32) b.weight_dtype = DType::kF16;  // GPU kernels stream half-precision weights
  b.kv_dtype = cuda ? (b.weight_dtype == DType::kBF16 ? DType::kBF16 : DType::kF16) : DType::kF32;
  b.source_model = opt.model;
  b.tsc_version = "0.1.0";
  p.head_dim = s.head_dim;
  p.group = s.num_attention_heads / s.num_key_value_heads;
  p.rotary_dim = s.position == PositionKind::kRope ? s.rotary_dim : 0;
  p.rope_interleaved = s.rope_interleaved;
  p.norm = s.norm == NormKind::kRMSNorm ? 1 : 0;
  p.activation = s.mlp_gated ? (s.activation == Activation::kSilu ? 2 : 3) : (s.activation == Activation::kGeluTanh ? 0 : 1);
  if (s.mlp_gated && s.activation == Activation::kGelu)
    throw Error("gated MLP with activation " + activation_name(s.activation) + " (erf GELU) is not supported by the kernels",
                "tsc supports SiLU-gated (Llama), tanh-GELU-gated (Gemma's GeGLU) and GELU (GPT-2) MLPs");
  return p;
}

std::string plan_to_text(const KernelPlan& p) {
  std::ostringstream o;
  o << "KernelPlan " << p.key() << "\n";
  o << "  target: " << target_name(p.build.target) << "\n";
  o << "  weight_dtype: " << dtype_name(p.build.weight_dtype) << "\n";
  o << "  kv_dtype: " << dtype_name(p.build.kv_dtype) << "\n";
  o << "  HEAD_DIM: " << p.head_dim << "\n  PAGE_SIZE: " << p.build.page_size << "\n  TOP_K: " << p.build.top_k_pages << "\n  GROUP: " << p.group
    << "\n  ROTARY_DIM: " << p.rotary_dim << "\n  ROPE_INTERLEAVED: " << (p.rope_interleaved ? 1 : 0)
    << "\n  NORM: " << (p.norm ? "rmsnorm" : "layernorm") << "\n  ACTIVATION: " << (p.activation == 3 ? "gelu_tanh_gated" : p.activation == 2 ? "silu_gated" : p.activation == 1 ? "gelu" : "gelu_tanh") << "\n";
  o << "  PAGE_SCORE: " << page_score_name(p.build.page_score) << "\n";
  o << "  select_every: " << p.build.select_every << "\n";
  if (p.q4_block > 0) o << "  Q4_BLOCK: " << p.q4_block << "\n  Q4_SCALE: " << dtype_name(p.q4_scale_dtype) << "\n";
  if (p.i8) o << "  I8: 1\n";
  o << "  dense_layers: " << p.build.dense_layers << "\n  max_seq_len: " << p.build.max_seq_len << "\n  max_batch: " << p.build.max_batch << "\n";
  return o.str();
}

}  // namespace tsc
