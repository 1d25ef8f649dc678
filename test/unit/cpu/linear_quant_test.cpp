// The quantized CPU projections (templates/cpu/linear_quant.h, linear_int8.h) against onnxruntime on single-node cases recorded by test/gen/quant_cases.py.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "templates/cpu/linear_int8.h"
#include "templates/cpu/linear_quant.h"

namespace tsc::cpu {
namespace {

using nlohmann::json;

json load_cases() {
  std::ifstream f(TSC_QUANT_TEST_DATA "/quant_cases.json");
  EXPECT_TRUE(f.good()) << "missing " TSC_QUANT_TEST_DATA "/quant_cases.json: run python3 test/gen/quant_cases.py";
  if (!f) return json::array();
  return json::parse(f).at("cases");
}

template <typename T>
std::vector<T> vec(const json& j) {
  std::vector<T> r;
  for (const auto& v : j) r.push_back(static_cast<T>(v.get<double>()));
  return r;
}

// max |got - want| <= rel * max |want|: float summation order differs from onnxruntime's.
void expect_close(const std::vector<float>& got, const std::vector<float>& want, double rel, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double scale = 0, err = 0;
  for (size_t i = 0; i < want.size(); ++i) scale = std::max(scale, std::fabs(double(want[i]))), err = std::max(err, std::fabs(double(got[i]) - want[i]));
  EXPECT_LE(err, rel * scale + 1e-30) << what << ": max|err| " << err << " of max|y| " << scale;
}

void run_q4(const json& c) {
  const int64_t M = c["M"], K = c["K"], N = c["N"], block = c["block"];
  auto x = vec<float>(c["x"]), scales = vec<float>(c["scales"]);
  auto codes = vec<uint8_t>(c["codes"]);
  std::vector<uint8_t> zp;
  if (!c["zp"].is_null()) zp = vec<uint8_t>(c["zp"]);
  std::vector<float> y(M * N);
  const uint8_t* z = zp.empty() ? nullptr : zp.data();
  switch (block) {
    case 16: linear_q4<16>(x.data(), M, K, codes.data(), scales.data(), z, nullptr, N, y.data()); break;
    case 32: linear_q4<32>(x.data(), M, K, codes.data(), scales.data(), z, nullptr, N, y.data()); break;
    case 64: linear_q4<64>(x.data(), M, K, codes.data(), scales.data(), z, nullptr, N, y.data()); break;
    case 128: linear_q4<128>(x.data(), M, K, codes.data(), scales.data(), z, nullptr, N, y.data()); break;
    default: FAIL() << "no instantiation for block " << block;
  }
  expect_close(y, vec<float>(c["y"]), 1e-5, "MatMulNBits K=" + std::to_string(K) + " block=" + std::to_string(block));
}

template <typename T>
void run_int8(const json& c) {
  const int64_t M = c["M"], K = c["K"], N = c["N"];
  auto x = vec<float>(c["x"]), ws = vec<float>(c["ws"]);
  auto wq = vec<T>(c["wq"]), wzp = vec<T>(c["wzp"]);
  // DynamicQuantizeLinear is exact: the same scale, zero point and codes as onnxruntime (one tensor of M rows).
  const auto [s, z] = dynamic_quant_params(x.data(), M * K);
  EXPECT_EQ(s, static_cast<float>(c["xs"].get<double>()));
  EXPECT_EQ(z, c["xzp"].get<int>());
  std::vector<uint8_t> xq;
  for (float v : x) xq.push_back(dynamic_quant_code(v, s, z));
  EXPECT_EQ(xq, vec<uint8_t>(c["xq"]));
  // The payload's layout: codes [N, K] (the file's [K, N] transposed), a scale and zero point per row.
  std::vector<T> codes(static_cast<size_t>(N * K)), zp_rows(static_cast<size_t>(N));
  std::vector<float> s_rows(static_cast<size_t>(N));
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t k = 0; k < K; ++k) codes[n * K + k] = wq[k * N + n];
    zp_rows[n] = wzp.size() == 1 ? wzp[0] : wzp[n];
    s_rows[n] = ws.size() == 1 ? ws[0] : ws[n];
  }
  std::vector<float> xs(static_cast<size_t>(M), s), y(static_cast<size_t>(M * N));
  std::vector<uint8_t> xz(static_cast<size_t>(M), z);
  linear_i8<T>(x.data(), M, K, xs.data(), xz.data(), codes.data(), zp_rows.data(), s_rows.data(), nullptr, N, y.data());
  // int32 accumulation, then the same float multiplies: equal up to the rounding of one product.
  expect_close(y, vec<float>(c["y"]), 1e-6, "MatMulInteger K=" + std::to_string(K));
}

TEST(LinearQuant, MatchesOnnxruntime) {
  json cases = load_cases();
  ASSERT_GE(cases.size(), 10u);
  int q4 = 0, i8 = 0;
  for (const auto& c : cases) {
    const std::string kind = c["kind"];
    SCOPED_TRACE(kind + " M=" + std::to_string(c["M"].get<int>()) + " K=" + std::to_string(c["K"].get<int>()));
    if (kind == "q4") run_q4(c), ++q4;
    else if (kind == "int8") run_int8<int8_t>(c), ++i8;
    else run_int8<uint8_t>(c), ++i8;
  }
  EXPECT_EQ(q4, 5);
  EXPECT_EQ(i8, 8);
}

}  // namespace
}  // namespace tsc::cpu
