// Lifting entry points on small inputs: what lift_decoder refuses, and reconcile_with_config's cross-checks.
#include <gtest/gtest.h>

#include "test/unit/ir/builder.h"
#include "compiler/lift/lift.h"
#include "contract/error.h"

namespace tsc {
namespace {

using test::Builder;
using test::S;

TEST(Lift, GraphWithoutEmbeddingIsNotADecoder) {
  Builder b;
  b.input("image", DType::kF32, {S("n"), SymExpr(3), SymExpr(8), SymExpr(8)});
  b.node("Relu", {"image"}, {"y"});
  b.output("y");
  try {
    lift_decoder(b.g);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the graph has no token embedding"), std::string::npos) << e.what();
    EXPECT_NE(e.hint().find("decoder-only"), std::string::npos);
  }
}

TEST(Lift, EmbeddingWithoutBlocks) {
  Builder b;
  b.input("input_ids", DType::kI64, {S("b"), S("s")});
  b.constant("E", Tensor::alloc(DType::kF32, {16, 4}));
  b.node("Gather", {"E", "input_ids"}, {"x"});
  b.output("x");
  try {
    lift_decoder(b.g);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layer 0: the residual stream 'x' feeds no LayerNorm/RMSNorm"), std::string::npos) << e.what();
  }
}

DecoderSpec llama_like() {
  DecoderSpec s;
  s.num_hidden_layers = 2;
  s.hidden_size = 64;
  s.num_attention_heads = 4;
  s.num_key_value_heads = 2;
  s.head_dim = 16;
  s.intermediate_size = 128;
  s.vocab_size = 512;
  s.norm = NormKind::kRMSNorm;
  s.norm_eps = 1e-6;
  s.position = PositionKind::kRope;
  s.rope_theta = 10000.0;
  return s;
}

TEST(Reconcile, AgreeingConfigFillsMaxPositions) {
  DecoderSpec s = llama_like();
  auto d = reconcile_with_config(s, R"({"num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 4,
      "num_key_value_heads": 2, "head_dim": 16, "intermediate_size": 128, "vocab_size": 512, "rms_norm_eps": 1e-06,
      "max_position_embeddings": 2048, "rope_parameters": {"rope_theta": 10000.0}, "tie_word_embeddings": false})");
  EXPECT_TRUE(d.empty()) << d[0];
  EXPECT_EQ(s.max_position_embeddings, 2048);
}

TEST(Reconcile, DisagreementsAreListed) {
  DecoderSpec s = llama_like();
  s.max_position_embeddings = 1024;  // learned positions: the table's length is the truth
  auto d = reconcile_with_config(s, R"({"num_hidden_layers": 3, "n_embd": 64, "rms_norm_eps": 1e-5,
      "max_position_embeddings": 2048, "rope_theta": 500000, "tie_word_embeddings": true, "n_inner": null})");
  std::string all;
  for (auto& x : d) all += x + "\n";
  EXPECT_EQ(d.size(), 5u) << all;
  EXPECT_NE(all.find("num_hidden_layers: graph says 2, config.json says 3"), std::string::npos) << all;
  EXPECT_NE(all.find("max_position_embeddings: graph says 1024, config.json says 2048"), std::string::npos) << all;
  EXPECT_NE(all.find("norm_eps"), std::string::npos) << all;
  EXPECT_NE(all.find("rope_theta"), std::string::npos) << all;
  EXPECT_NE(all.find("tie_word_embeddings: graph says false, config.json says true"), std::string::npos) << all;
  EXPECT_EQ(s.max_position_embeddings, 1024);
}

// SmolLM3's no_rope_layers (1 = the layer applies the rotary) must say what the graph says, layer by layer.
TEST(Reconcile, NoRopeLayersAreCrossChecked) {
  DecoderSpec s = llama_like();
  s.no_rope_layers = {1, 0};
  EXPECT_TRUE(reconcile_with_config(s, R"({"no_rope_layers": [1, 0, 1, 1]})").empty());  // longer lists are HF's norm
  auto d = reconcile_with_config(s, R"({"no_rope_layers": [1, 1]})");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0], "no_rope_layers: layer 1 has no rotary in the graph, rotary in config.json");
  s.no_rope_layers.clear();  // every layer has rotary
  d = reconcile_with_config(s, R"({"no_rope_layers": [0, 1]})");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0], "no_rope_layers: layer 0 has rotary in the graph, none in config.json");
}

TEST(Reconcile, InvalidJsonIsAnError) {
  DecoderSpec s = llama_like();
  EXPECT_THROW(reconcile_with_config(s, "{ n_layer: 2"), Error);
  EXPECT_TRUE(reconcile_with_config(s, "{}").empty());
}

}  // namespace
}  // namespace tsc
