// make_plan on specs with 4-bit projections: the block size and scale type reach the kernel key; the CUDA kernels'
// 16-byte code chunks refuse blocks under 32.
#include <gtest/gtest.h>

#include "compiler/plan/plan.h"
#include "contract/error.h"

namespace tsc {
namespace {

DecoderSpec llama_spec() {
  DecoderSpec s;
  s.num_hidden_layers = 1;
  s.hidden_size = 64;
  s.num_attention_heads = 4;
  s.num_key_value_heads = 2;
  s.head_dim = 16;
  s.intermediate_size = 128;
  s.vocab_size = 256;
  s.max_position_embeddings = 512;
  s.norm = NormKind::kRMSNorm;
  s.activation = Activation::kSilu;
  s.mlp_gated = true;
  s.position = PositionKind::kRope;
  s.rotary_dim = 16;
  return s;
}

CompileOptions options(const std::string& target) {
  CompileOptions o;
  o.target = target;
  return o;
}

TEST(Plan, DenseModelHasNoQ4Specialization) {
  const KernelPlan p = make_plan(llama_spec(), options("cpu"), false);
  EXPECT_EQ(p.q4_block, 0);
  EXPECT_EQ(p.key(), "hd16_ps16_k64_g2_rd16_f32");
}

TEST(Plan, Q4BlockAndScaleTypeReachTheKey) {
  DecoderSpec s = llama_spec();
  s.quantization = Quantization{"int4", 4, 128, true, DType::kF16, 8, 8};
  const KernelPlan p = make_plan(s, options("cpu"), false);
  EXPECT_EQ(p.q4_block, 128);
  EXPECT_EQ(p.q4_scale_dtype, DType::kF16);
  EXPECT_EQ(p.key(), "hd16_ps16_k64_g2_rd16_f32_q4b128h");
  EXPECT_NE(plan_to_text(p).find("Q4_BLOCK: 128"), std::string::npos);
}

TEST(Plan, CudaTakesBlocksOf32AndRefusesBlocksOf16) {
  DecoderSpec s = llama_spec();
  s.quantization = Quantization{"int4", 4, 32, false, DType::kF32, 8, 8};
  EXPECT_EQ(make_plan(s, options("cuda"), true).q4_block, 32);
  s.quantization->block_size = 16;
  try {
    make_plan(s, options("cuda"), true);
    FAIL() << "blocks of 16 were accepted for CUDA";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("blocks of 16"), std::string::npos) << e.what();
  }
  EXPECT_EQ(make_plan(s, options("cpu"), false).q4_block, 16);  // the CPU kernels take any power of two >= 16
}

}  // namespace
}  // namespace tsc
