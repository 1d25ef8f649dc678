// The key sketch's coding rule on the CUDA target (templates/cpu/page_sketch.h codes the same bits on the CPU;
// test/unit/cuda/page_sketch_code_test.cpp compiles this header as host code and compares the two on random keys).
#pragma once
#include <stdint.h>

#if defined(__CUDACC__)
#define TSC_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define TSC_HOST_DEVICE inline
#endif

namespace tsc::cuda {

// Words of one page and KV head's sketch (KvLayerDev::summary), as on the CPU (cpu::SketchLayout): a D-bit mask of
// the coded channels, then per slot one bit per coded channel, in increasing channel order.
template <int D, int PS>
struct SketchLayout {
  static constexpr int kCoded = D / 4;                // channels that carry a bit per key
  static constexpr int kMaskWords = (D + 31) / 32;    // [kMaskWords] coded-channel mask
  static constexpr int kKeyWords = (kCoded + 31) / 32;  // [PS, kKeyWords] key bits
  static constexpr int kWords = kMaskWords + PS * kKeyWords;
};

// Half the width of a channel's box [mn, mx]: the coded channels are the widest, a key's bit splits the box there.
TSC_HOST_DEVICE float sketch_half_width(float mn, float mx) { return (mx - mn) / 2.f; }

// Whether channel c is coded: among the D/4 of largest half width w (ties to the lower channel), the set the CPU's
// stable sort picks, decided per channel by its rank so that each of the append kernel's D threads decides its own.
// w: [D].
template <int D>
TSC_HOST_DEVICE bool sketch_channel_coded(const float* w, int c) {
  int rank = 0;
  for (int x = 0; x < D; ++x) rank += w[x] > w[c] || (w[x] == w[c] && x < c);
  return rank < SketchLayout<D, 1>::kCoded;
}

TSC_HOST_DEVICE int sketch_popcount(uint32_t v) {
#if defined(__CUDA_ARCH__)
  return __popc(v);
#else
  return __builtin_popcount(v);
#endif
}

// Index among the coded channels of coded channel c: the mask's set bits below c. mask: [kMaskWords].
TSC_HOST_DEVICE int sketch_coded_index(const uint32_t* mask, int c) {
  int j = 0;
  for (int x = 0; x < c / 32; ++x) j += sketch_popcount(mask[x]);
  return j + sketch_popcount(mask[c / 32] & ((1u << (c % 32)) - 1u));
}

// A key's bit on a coded channel: 1 when k lies in the upper half of [mn, mn + 2 w], i.e. (k - mn) / w >= 1.
TSC_HOST_DEVICE bool sketch_key_bit(float k, float mn, float w) { return w > 0.f && (k - mn) / w >= 1.f; }

// The bits of coded channel c for the page's PS keys: key(slot) is the key's channel c, set(word, bit) ORs a bit
// into the page's code (its mask already holds every coded channel).
template <int D, int PS, typename Key, typename Set>
TSC_HOST_DEVICE void sketch_code_channel(const uint32_t* mask, int c, float mn, float w, Key key, Set set) {
  using L = SketchLayout<D, PS>;
  const int j = sketch_coded_index(mask, c);
  for (int slot = 0; slot < PS; ++slot)
    if (sketch_key_bit(key(slot), mn, w)) set(L::kMaskWords + slot * L::kKeyWords + j / 32, 1u << (j % 32));
}

}  // namespace tsc::cuda
