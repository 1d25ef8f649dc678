// eval_node against onnxruntime: single-op cases whose expected outputs test/gen/eval_ort_cases.py recorded from onnxruntime.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "builder.h"
#include "compiler/ir/eval.h"

namespace tsc {
namespace {

using nlohmann::json;

json load_cases() {
  std::ifstream f(TSC_IR_TEST_DATA "/eval_ort_cases.json");
  if (!f) return json::array();
  return json::parse(f).at("cases");
}

Tensor decode(const json& j) {
  std::vector<int64_t> shape = j.at("shape").get<std::vector<int64_t>>();
  Tensor t = Tensor::alloc(static_cast<DType>(j.at("dtype").get<int>()), shape);
  const json& d = j.at("data");
  for (size_t i = 0; i < d.size(); ++i) {
    if (t.dtype == DType::kI64) static_cast<int64_t*>(t.mutable_data())[i] = d[i].get<int64_t>();
    else t.set_f64(static_cast<int64_t>(i), d[i].get<double>());
  }
  return t;
}

Attribute decode_attr(const json& j) {
  if (j.contains("i")) return test::ai(j["i"].get<int64_t>());
  if (j.contains("f")) return test::af(j["f"].get<float>());
  if (j.contains("ints")) return test::aints(j["ints"].get<std::vector<int64_t>>());
  return test::atensor(decode(j.at("t")));
}

class EvalOrt : public ::testing::TestWithParam<json> {};

TEST_P(EvalOrt, MatchesOnnxruntime) {
  const json& c = GetParam();
  Node n = test::make_node(c.at("op"), {}, c.at("outputs").size());
  for (auto& [k, v] : c.at("attrs").items()) n.attrs[k] = decode_attr(v);
  std::vector<Tensor> in;
  in.reserve(c.at("inputs").size());
  for (auto& x : c.at("inputs")) in.push_back(x.is_null() ? Tensor() : decode(x));
  std::vector<const Tensor*> ptrs;
  for (size_t i = 0; i < in.size(); ++i) ptrs.push_back(c.at("inputs")[i].is_null() ? nullptr : &in[i]);
  auto out = eval_node(n, ptrs);
  ASSERT_TRUE(out.has_value()) << "eval_node declined " << c.at("op");
  ASSERT_EQ(out->size(), c.at("outputs").size());
  const double tol = c.at("tol").get<double>();
  for (size_t k = 0; k < out->size(); ++k) {
    Tensor want = decode(c.at("outputs")[k]);
    const Tensor& got = (*out)[k];
    EXPECT_EQ(got.dtype, want.dtype) << "output " << k;
    ASSERT_EQ(got.shape, want.shape) << "output " << k;
    for (int64_t i = 0; i < want.numel(); ++i) {
      if (want.dtype == DType::kI64) {
        EXPECT_EQ(got.i64(i), want.i64(i)) << "output " << k << " element " << i;
      } else {
        double w = want.f64(i), g = got.f64(i);
        EXPECT_LE(std::fabs(g - w), tol * std::max(1.0, std::fabs(w))) << "output " << k << " element " << i << ": " << g << " vs " << w;
      }
    }
  }
}

std::string case_name(const ::testing::TestParamInfo<json>& info) { return info.param.at("name").get<std::string>(); }

INSTANTIATE_TEST_SUITE_P(Cases, EvalOrt, ::testing::ValuesIn(load_cases().get<std::vector<json>>()), case_name);

TEST(EvalOrtData, IsPresent) {
  // A missing data file would silently instantiate no cases.
  EXPECT_GE(load_cases().size(), 60u) << "regenerate with python3 test/gen/eval_ort_cases.py";
}

}  // namespace
}  // namespace tsc
