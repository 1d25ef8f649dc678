// Deterministic logits for the sampler tests, from integer arithmetic only (no libm, no <random>
// distributions, whose output differs between standard libraries): the same on every machine.
#pragma once
#include <cstdint>
#include <vector>

namespace tsc::test {

// vocab values uniform in [-scale, scale), a pure function of (seed, index).
inline std::vector<float> test_logits(size_t vocab, uint64_t seed, float scale = 4.0f) {
  std::vector<float> v(vocab);
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (float& x : v) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x = scale * (static_cast<float>(static_cast<int32_t>(s >> 40) - (1 << 23)) / static_cast<float>(1 << 23));
  }
  return v;
}

}  // namespace tsc::test
