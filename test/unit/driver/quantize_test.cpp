// compiler/driver/quantize.h: onnxruntime's int4 (MatMulNBits, symmetric) and int8 (per channel, symmetric) rules on
// values whose codes are known by hand: the signed extreme's sign, ties, rounding, padding and all-zero rows.
// (test/e2e/quantize_vs_ort.py checks the same rules against onnxruntime's quantizers on a whole model.)
#include "compiler/driver/quantize.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace tsc {
namespace {

// Unpacks block b of row n: two codes a byte, lower k in the low nibble.
std::vector<int> codes_of(const std::vector<uint8_t>& packed, int64_t n, int64_t b, int64_t nb, int64_t block) {
  std::vector<int> c;
  for (int64_t j = 0; j < block / 2; ++j) {
    const uint8_t v = packed[static_cast<size_t>((n * nb + b) * (block / 2) + j)];
    c.push_back(v & 15);
    c.push_back(v >> 4);
  }
  return c;
}

// One row of one 16-value block (the values given, then zeros): its scale and its 16 codes.
std::pair<float, std::vector<int>> one_block(std::vector<float> w) {
  w.resize(16, 0.f);
  std::vector<uint8_t> codes(8);
  float scale = 0;
  quantize_int4_rows(w.data(), 1, 16, 16, codes.data(), &scale);
  return {scale, codes_of(codes, 0, 0, 1, 16)};
}

TEST(QuantizeInt4, SignedExtremeMapsToCodeZero) {
  // max |w| is the negative -2: scale = -2 / -8 = 0.25, code = round(w * 4 + 8).
  const auto [scale, c] = one_block({-2.f, 1.f, 0.3f, -0.3f, 1.875f});
  EXPECT_EQ(scale, 0.25f);
  EXPECT_EQ(c[0], 0);   // -2 -> -8
  EXPECT_EQ(c[1], 12);  // 1 -> 4
  EXPECT_EQ(c[2], 9);   // 1.2 -> 1
  EXPECT_EQ(c[3], 7);   // -1.2 -> -1
  EXPECT_EQ(c[4], 15);  // 7.5 + 8 = 15.5 rounds away from zero to 16, clamped to 15
  EXPECT_EQ(c[5], 8);
}

TEST(QuantizeInt4, PositiveExtremeGivesNegativeScale) {
  // max |w| is +4 (strictly larger than |min|): scale = 4 / -8 = -0.5, so +4 -> code 0 and -3.5 -> 15.
  const auto [scale, c] = one_block({4.f, -3.5f});
  EXPECT_EQ(scale, -0.5f);
  EXPECT_EQ(c[0], 0);
  EXPECT_EQ(c[1], 15);
}

TEST(QuantizeInt4, TieKeepsTheMinimum) {
  // |max| == |min|: onnxruntime keeps the min, so -1 -> code 0 and +1 -> 16, clamped to 15.
  const auto [scale, c] = one_block({1.f, -1.f});
  EXPECT_EQ(scale, 0.125f);
  EXPECT_EQ(c[0], 15);
  EXPECT_EQ(c[1], 0);
}

TEST(QuantizeInt4, ShortLastBlockIsPaddedAndZeroBlockIsCodeEight) {
  // K = 20, block 16: two blocks, the second holds 4 values and 12 padding codes of 8; row 1 is all zeros.
  std::vector<float> w(40, 0.f);
  for (int k = 0; k < 20; ++k) w[static_cast<size_t>(k)] = static_cast<float>(k % 5) - 2.f;
  std::vector<uint8_t> codes(2 * 2 * 8);
  std::vector<float> scales(4);
  quantize_int4_rows(w.data(), 2, 20, 16, codes.data(), scales.data());
  EXPECT_EQ(scales[0], 0.25f);   // block 0 of row 0: -2..2, a tie kept at the min
  EXPECT_EQ(scales[1], -0.25f);  // block 1 of row 0: {-1, 0, 1, 2}, the max wins
  const std::vector<int> c = codes_of(codes, 0, 1, 2, 16);
  EXPECT_EQ((std::vector<int>(c.begin(), c.begin() + 4)), (std::vector<int>{12, 8, 4, 0}));
  for (size_t j = 4; j < c.size(); ++j) EXPECT_EQ(c[j], 8) << j;
  EXPECT_EQ(scales[2], 0.f);
  EXPECT_EQ(scales[3], 0.f);
  for (int b = 0; b < 2; ++b)
    for (int v : codes_of(codes, 1, b, 2, 16)) EXPECT_EQ(v, 8);
}

TEST(QuantizeInt8, PerRowScaleAndHalfToEven) {
  // Row 0: absmax 127 -> scale exactly 1, halves round to even. Row 1: absmax 2.54 -> scale float(5.08 / 254).
  std::vector<float> w = {2.5f, 3.5f, -0.5f, -127.f, 126.5f, 2.54f, -1.f, 0.f, 0.f, 0.f};
  std::vector<int8_t> codes(10);
  std::vector<float> scales(2);
  quantize_int8_rows(w.data(), 2, 5, codes.data(), scales.data());
  EXPECT_EQ(scales[0], 1.f);
  EXPECT_EQ((std::vector<int>(codes.begin(), codes.begin() + 5)), (std::vector<int>{2, 4, 0, -127, 126}));
  EXPECT_EQ(scales[1], static_cast<float>(2.0 * static_cast<double>(2.54f) / 254.0));
  EXPECT_EQ(codes[5], 127);
  EXPECT_EQ(codes[6], -50);
}

TEST(QuantizeInt8, ZeroRowGetsScaleOne) {
  std::vector<float> w(4, 0.f);
  std::vector<int8_t> codes(4, 5);
  std::vector<float> scales(1);
  quantize_int8_rows(w.data(), 1, 4, codes.data(), scales.data());
  EXPECT_EQ(scales[0], 1.f);
  for (int8_t c : codes) EXPECT_EQ(c, 0);
}

}  // namespace
}  // namespace tsc
