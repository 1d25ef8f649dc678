// FailingStepModel and the TSC_TEST_FAIL_ENGINE parser (test-only; see fault_injection.h).
#include "runtime/sched/fault_injection.h"

#include <cstdlib>
#include <string>

namespace tsc {

std::optional<int64_t> injected_failure_step(int index) {
  const char* env = std::getenv("TSC_TEST_FAIL_ENGINE");
  if (!env || !*env) return std::nullopt;
  const std::string v = env;
  const size_t colon = v.find(':');
  long long engine = -1, step = -1;
  try {
    size_t a = 0, b = 0;
    if (colon != std::string::npos) {
      engine = std::stoll(v.substr(0, colon), &a);
      step = std::stoll(v.substr(colon + 1), &b);
    }
    if (colon == std::string::npos || a != colon || b != v.size() - colon - 1) engine = step = -1;
  } catch (const std::exception&) {
    engine = step = -1;
  }
  if (engine < 0 || step < 1)
    throw Error("TSC_TEST_FAIL_ENGINE=" + v + " is not INDEX:STEP", "unset it (it is a test hook), or give e.g. 1:5 to fail engine 1 at its 5th step");
  if (engine != index) return std::nullopt;
  return step;
}

void FailingStepModel::step(std::span<const StepSeq> seqs, std::vector<float>& logits) {
  if (++steps_ >= fail_at_)
    throw EngineFailure("TSC_TEST_FAIL_ENGINE injected a failure at step " + std::to_string(steps_), "this is a test hook; unset TSC_TEST_FAIL_ENGINE");
  m_.step(seqs, logits);
}

}  // namespace tsc
