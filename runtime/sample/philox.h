// Philox4x32-10 (Salmon et al., SC'11): the counter-based generator behind every sampling draw.
#pragma once
#include <array>
#include <cstdint>

namespace tsc {

// Counter-based rather than stateful (mt19937 and friends) so that a draw is a pure function of
// (seed, position): a request resumed after preemption, or the CUDA sampler (curand ships the same
// Philox4x32-10), reproduces the same numbers without carrying generator state around.
using PhiloxBlock = std::array<uint32_t, 4>;

constexpr PhiloxBlock philox4x32_10(PhiloxBlock ctr, std::array<uint32_t, 2> key) {
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;  // round multipliers
  constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;  // Weyl key increments
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      key[0] += kW0;
      key[1] += kW1;
    }
    const uint64_t p0 = uint64_t{kM0} * ctr[0];
    const uint64_t p1 = uint64_t{kM1} * ctr[2];
    ctr = {static_cast<uint32_t>(p1 >> 32) ^ ctr[1] ^ key[0], static_cast<uint32_t>(p1),
           static_cast<uint32_t>(p0 >> 32) ^ ctr[3] ^ key[1], static_cast<uint32_t>(p0)};
  }
  return ctr;
}

// The uniform double in [0, 1) for draw number `counter` of stream `seed`:
// Philox4x32-10 with key = (seed low, seed high) and counter = (counter low, counter high, 0, 0),
// then the top 53 bits of (out[0] << 32 | out[1]) scaled by 2^-53.
constexpr double philox_uniform(uint64_t seed, uint64_t counter) {
  const PhiloxBlock out = philox4x32_10(
      {static_cast<uint32_t>(counter), static_cast<uint32_t>(counter >> 32), 0u, 0u},
      {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)});
  const uint64_t bits = (uint64_t{out[0]} << 32 | out[1]) >> 11;
  return static_cast<double>(bits) * 0x1.0p-53;
}

}  // namespace tsc
