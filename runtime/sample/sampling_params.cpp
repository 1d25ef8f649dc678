// Validation of SamplingParams: one message per field, in the request's own terms.
#include "runtime/sample/sampling_params.h"

#include <cmath>
#include <cstdio>
#include <string>

#include "contract/error.h"

namespace tsc {
namespace {

std::string show(float v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", static_cast<double>(v));
  return buf;
}

}  // namespace

void SamplingParams::validate() const {
  // Comparisons are written so that NaN fails them.
  if (!(temperature >= 0.0f && std::isfinite(temperature)))
    throw Error("temperature must be >= 0 and finite, got " + show(temperature),
                "use 0 for greedy decoding, 1 for the model's own distribution");
  if (top_k < 0)
    throw Error("top_k must be >= 0, got " + std::to_string(top_k), "use 0 to turn top-k off");
  if (!(top_p > 0.0f && top_p <= 1.0f))
    throw Error("top_p must be in (0, 1], got " + show(top_p), "use 1 to turn top-p off");
  if (!(min_p >= 0.0f && min_p <= 1.0f))
    throw Error("min_p must be in [0, 1], got " + show(min_p), "use 0 to turn min-p off");
  if (!(repetition_penalty > 0.0f && std::isfinite(repetition_penalty)))
    throw Error("repetition_penalty must be > 0 and finite, got " + show(repetition_penalty),
                "use 1 for no penalty; values above 1 discourage repeats");
  if (!(presence_penalty >= -2.0f && presence_penalty <= 2.0f))
    throw Error("presence_penalty must be in [-2, 2], got " + show(presence_penalty), "use 0 for no penalty");
  if (!(frequency_penalty >= -2.0f && frequency_penalty <= 2.0f))
    throw Error("frequency_penalty must be in [-2, 2], got " + show(frequency_penalty), "use 0 for no penalty");
  if (top_logprobs < 0 || top_logprobs > kMaxTopLogprobs)
    throw Error("top_logprobs must be in [0, " + std::to_string(kMaxTopLogprobs) + "], got " +
                    std::to_string(top_logprobs),
                "ask for at most " + std::to_string(kMaxTopLogprobs) + " alternatives per token");
  if (top_logprobs > 0 && !logprobs)
    throw Error("top_logprobs is " + std::to_string(top_logprobs) + " but logprobs is off",
                "set logprobs to true to get top_logprobs");
}

}  // namespace tsc
