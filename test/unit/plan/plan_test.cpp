// make_plan on specs with 4-bit projections: the block size and scale type reach the kernel key; the CUDA kernels'
// 16-byte code chunks refuse blocks under 32.
#include <gtest/gtest.h>

#include <map>

#include "compiler/plan/plan.h"
#include "contract/error.h"
#include "contract/payload_tensors.h"

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
  o.target = parse_target(target, "--target");
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

TEST(Plan, Int8ReachesTheKeyOnBothTargets) {
  DecoderSpec s = llama_spec();
  s.quantization = Quantization{"uint8", 8, 0, true, DType::kF32, 8, 8};
  const KernelPlan cuda = make_plan(s, options("cuda"), true);  // weight-only gemv_i8 / dequant_i8
  EXPECT_TRUE(cuda.i8);
  EXPECT_EQ(cuda.q4_block, 0);
  EXPECT_EQ(cuda.key(), "hd16_ps16_k64_g2_rd16_f16_i8");
  EXPECT_NE(plan_to_text(cuda).find("I8: 1"), std::string::npos);
  EXPECT_TRUE(make_plan(s, options("cpu"), false).i8);
  EXPECT_FALSE(make_plan(llama_spec(), options("cuda"), true).i8);
}

// The message of the tsc::Error `f` throws ("" when it throws none).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return std::string(e.what()) + " | " + e.hint();
  }
  return "";
}

TEST(BuildOptions, BadValuesAreOneLineErrorsWithHints) {
  EXPECT_EQ(error_of([] { parse_page_score("maxbound", "--page-score"); }),
            "--page-score maxbound is not a page score | use bound (the key bound) or sketch (the key sketch)");
  EXPECT_EQ(error_of([] { parse_target("tpu", "--target"); }), "--target tpu is not a target | use cpu or cuda");
  EXPECT_EQ(parse_cuda_compiler(cuda_compiler_name(CudaCompiler::kClang), "x"), CudaCompiler::kClang);
  CompileOptions o = options("cpu");
  o.build.page_size = 12;
  EXPECT_NE(error_of([&] { make_plan(llama_spec(), o, false); }).find("--page-size 12 is not a power of two"), std::string::npos);
  o = options("cpu");
  o.build.select_every = 65;
  EXPECT_NE(error_of([&] { make_plan(llama_spec(), o, false); }).find("--select-every 65 is outside [1, 64]"), std::string::npos);
}

TEST(BuildOptions, PlanResolvesAndThePayloadRecordRoundTrips) {
  CompileOptions o = options("cuda");
  o.build.page_score = PageScore::kBound;
  const KernelPlan p = make_plan(llama_spec(), o, true);
  EXPECT_EQ(p.build.max_seq_len, 512);               // the model's max_position_embeddings
  EXPECT_EQ(p.build.weight_dtype, DType::kF16);      // the GPU streams half-precision weights
  const BuildOptions back = build_options_from_json(build_options_to_json(p.build));
  EXPECT_EQ(back.target, Target::kCuda);
  EXPECT_EQ(back.page_score, PageScore::kBound);
  EXPECT_EQ(back.max_seq_len, 512);
  EXPECT_EQ(back.kv_dtype, DType::kF16);
}

// The payload tensor table's shape rules, in the spec's terms (llama_spec: H 64, Q 64, KV 32, I 128, gated).
TEST(PayloadTensors, ShapeRulesFollowTheSpec) {
  const DecoderSpec s = llama_spec();
  std::map<std::string, std::vector<int64_t>> shape;
  for (const TensorRule& r : payload_tensors()) shape[r.name(0)] = r.shape(s);
  EXPECT_EQ(shape.at("embed_tokens"), (std::vector<int64_t>{256, 64}));
  EXPECT_EQ(shape.at("layers.0.qkv_w"), (std::vector<int64_t>{64 + 2 * 32, 64}));
  EXPECT_EQ(shape.at("layers.0.up_w"), (std::vector<int64_t>{2 * 128, 64}));  // [gate|up]
  EXPECT_EQ(shape.at("layers.0.down_w"), (std::vector<int64_t>{64, 128}));
  EXPECT_EQ(shape.at("rope_inv_freq"), (std::vector<int64_t>{8}));
  EXPECT_EQ(shape.at("layers.0.q_norm_w"), (std::vector<int64_t>{64}));  // all heads unless qk_norm is per head
}

}  // namespace
}  // namespace tsc
