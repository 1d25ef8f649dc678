// The CUDA append kernel's key-sketch coding rule (templates/cuda/page_sketch_code.cuh, compiled here as host code)
// against the CPU target's (templates/cpu/page_sketch.h, through its kv_append): the same words on the same keys.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "templates/cpu/attention.h"
#include "templates/cuda/page_sketch_code.cuh"

namespace {

// One page of one KV head: keys [PS, D] drawn from `levels` values per channel (few levels: equal widths and keys
// on a box's midpoint, the rule's ties), coded by both targets; returns whether the words agree.
template <int D, int PS>
void check_page(uint32_t seed, int levels, int constant_channels) {
  using CpuL = tsc::cpu::SketchLayout<D, PS>;
  using CudaL = tsc::cuda::SketchLayout<D, PS>;
  static_assert(CpuL::kWords == CudaL::kWords && CpuL::kMaskWords == CudaL::kMaskWords && CpuL::kKeyWords == CudaL::kKeyWords);
  std::mt19937 g(seed);
  std::uniform_int_distribution<int> lv(-levels, levels);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> k(PS * D), v(PS * D, 0.f), kc(PS * D), vc(PS * D), bounds(2 * D);
  for (int s = 0; s < PS; ++s)
    for (int c = 0; c < D; ++c)
      k[s * D + c] = c < constant_channels ? 0.5f : levels > 0 ? lv(g) * 0.25f : nd(g) * (1.f + c % 5);
  std::vector<uint32_t> cpu_code(CpuL::kWords, 0xdeadbeefu);
  const tsc::cpu::KvLayer kv{kc.data(), vc.data(), bounds.data(), 1, cpu_code.data()};
  const int32_t page = 0;
  tsc::cpu::kv_append<D, PS, tsc::cpu::kPageScoreSketch>(kv, tsc::cpu::SeqPages{&page, PS}, 0, PS, k.data(), v.data());

  // The CUDA rule as the append kernel's D threads run it: every channel's half width, the coded mask, then each
  // coded channel's key bits; mn/mx are the stored bounds (exact min/max of the keys).
  std::vector<uint32_t> cuda_code(CudaL::kWords, 0u);
  float w[D];
  for (int c = 0; c < D; ++c) w[c] = tsc::cuda::sketch_half_width(bounds[c], bounds[D + c]);
  for (int c = 0; c < D; ++c)
    if (tsc::cuda::sketch_channel_coded<D>(w, c)) cuda_code[c / 32] |= 1u << (c % 32);
  for (int c = 0; c < D; ++c)
    if (cuda_code[c / 32] >> (c % 32) & 1u)
      tsc::cuda::sketch_code_channel<D, PS>(
          cuda_code.data(), c, bounds[c], w[c], [&](int slot) { return k[slot * D + c]; }, [&](int word, uint32_t bit) { cuda_code[word] |= bit; });
  int coded = 0;
  for (int i = 0; i < CudaL::kMaskWords; ++i) coded += __builtin_popcount(cuda_code[i]);
  EXPECT_EQ(coded, D / 4);
  EXPECT_EQ(cuda_code, cpu_code) << "D " << D << " PS " << PS << " seed " << seed << " levels " << levels;
}

TEST(PageSketchCode, CudaRuleEqualsCpuOnRandomKeys) {
  for (uint32_t seed = 0; seed < 50; ++seed) {
    check_page<64, 16>(seed, 0, 0);
    check_page<16, 4>(seed, 0, 0);
    check_page<128, 32>(seed, 0, 0);
    check_page<256, 8>(seed, 0, 0);
  }
}

TEST(PageSketchCode, CudaRuleEqualsCpuOnTies) {
  // Few levels: many channels of equal width (ties to the lower channel) and keys on the box midpoint (bit 1).
  for (uint32_t seed = 0; seed < 50; ++seed) {
    check_page<64, 16>(seed, 2, 0);
    check_page<16, 4>(seed, 1, 0);
    check_page<128, 16>(seed, 3, 0);
  }
}

TEST(PageSketchCode, CudaRuleEqualsCpuOnConstantChannels) {
  // Zero-width channels (a constant channel codes no 1 bit), more of them than D - D/4: some are coded anyway.
  for (uint32_t seed = 0; seed < 20; ++seed) {
    check_page<64, 16>(seed, 0, 56);
    check_page<16, 8>(seed, 2, 14);
  }
}

}  // namespace
