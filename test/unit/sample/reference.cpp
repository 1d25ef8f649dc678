// Loads data/hf_reference.json into dense per-case distributions.
#include "reference.h"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace tsc::test {
namespace {

std::vector<float> floats(const nlohmann::json& a) {
  std::vector<float> v;
  for (const auto& x : a) v.push_back(x.is_null() ? -INFINITY : static_cast<float>(x.get<double>()));
  return v;
}

Reference load() {
  const std::string path = std::string(TSC_SAMPLE_REF_DIR) + "/hf_reference.json";
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot open " + path + " (regenerate with test/gen/sampling_ref.py)");
  const nlohmann::json j = nlohmann::json::parse(f);
  const size_t vocab = j.at("vocab").get<size_t>();
  const double unit = j.at("prob_unit").get<double>();
  Reference r;
  for (const auto& v : j.at("vectors")) {
    RefVector rv;
    rv.name = v.at("name").get<std::string>();
    rv.logits = floats(v.at("logits"));
    rv.prompt = v.at("prompt").get<std::vector<int32_t>>();
    rv.generated = v.at("generated").get<std::vector<int32_t>>();
    for (const auto& p : v.at("top_logprobs"))
      rv.top_logprobs.emplace_back(p.at(0).get<int32_t>(), p.at(1).is_null() ? -INFINITY : p.at(1).get<float>());
    if (v.contains("log_softmax")) rv.log_softmax = floats(v.at("log_softmax"));
    if (rv.logits.size() != vocab) throw std::runtime_error("vector " + rv.name + ": wrong size");
    r.vectors.push_back(std::move(rv));
  }
  for (const auto& c : j.at("cases")) {
    RefCase rc;
    rc.vector = c.at("vector").get<int>();
    const auto& p = c.at("params");
    rc.params.temperature = p.at("temperature").get<float>();
    rc.params.top_k = p.at("top_k").get<int32_t>();
    rc.params.top_p = p.at("top_p").get<float>();
    rc.params.min_p = p.at("min_p").get<float>();
    rc.params.repetition_penalty = p.at("repetition_penalty").get<float>();
    rc.params.presence_penalty = p.at("presence_penalty").get<float>();
    rc.params.frequency_penalty = p.at("frequency_penalty").get<float>();
    rc.probs.assign(vocab, -1.0);
    const auto ints = c.at("p").get<std::vector<int64_t>>();
    if (c.contains("ids")) {
      const auto ids = c.at("ids").get<std::vector<int32_t>>();
      for (size_t k = 0; k < ids.size(); ++k) rc.probs.at(ids[k]) = static_cast<double>(ints.at(k)) / unit;
    } else {
      for (size_t k = 0; k < vocab; ++k) rc.probs[k] = ints.at(k) < 0 ? -1.0 : static_cast<double>(ints[k]) / unit;
    }
    r.cases.push_back(std::move(rc));
  }
  return r;
}

}  // namespace

std::string RefCase::describe(const std::vector<RefVector>& vectors) const {
  std::ostringstream s;
  s << "vector=" << vectors.at(vector).name << " temperature=" << params.temperature << " top_k=" << params.top_k
    << " top_p=" << params.top_p << " min_p=" << params.min_p << " repetition_penalty=" << params.repetition_penalty
    << " presence_penalty=" << params.presence_penalty << " frequency_penalty=" << params.frequency_penalty;
  return s.str();
}

const RefVector& Reference::vector(const std::string& name) const {
  for (const RefVector& v : vectors)
    if (v.name == name) return v;
  throw std::runtime_error("no reference vector " + name);
}

const Reference& reference() {
  static const Reference r = load();
  return r;
}

}  // namespace tsc::test
