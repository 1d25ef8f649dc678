// The HF reference data of the sampler tests (data/hf_reference.json, from test/gen/sampling_ref.py).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "runtime/sample/sampling_params.h"

namespace tsc::test {

struct RefVector {
  std::string name;
  std::vector<float> logits;  // [vocab]; -inf where the file has null
  std::vector<int32_t> prompt, generated;
  std::vector<std::pair<int32_t, float>> top_logprobs;  // torch.topk(log_softmax(logits), 20)
  std::vector<float> log_softmax;                       // [vocab], only for the vector named "normal"
};

struct RefCase {
  int vector;
  SamplingParams params;
  std::vector<double> probs;  // [vocab], HF's distribution; -1 where HF filtered the token out
  std::string describe(const std::vector<RefVector>& vectors) const;
};

struct Reference {
  std::vector<RefVector> vectors;
  std::vector<RefCase> cases;
  const RefVector& vector(const std::string& name) const;
};

// Loaded once; throws if the file is missing or malformed.
const Reference& reference();

}  // namespace tsc::test
