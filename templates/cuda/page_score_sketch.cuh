// The key sketch page score on the CUDA target (tsc --page-score sketch; DESIGN.md "Page scores", the CPU's
// templates/cpu/page_sketch.h): the append kernel codes a page as its last key is written (1 bit per key on the
// D/4 widest box channels, page_sketch_code.cuh), and selection ranks pages by the attention mass those coded keys
// estimate, normalized per query head over the candidates and summed over the GQA group.
#pragma once
#include "templates/cuda/page_score.cuh"
#include "templates/cuda/page_sketch_code.cuh"

namespace tsc::cuda {

template <typename T, int D, int PS, int GROUP>
struct PageScoreSketch {
  using L = SketchLayout<D, PS>;
  static constexpr int kSummaryWords = L::kWords;
  static constexpr int kScratch = GROUP;  // a candidate's log mass per query head
  struct AppendShared {
    float w[D];
    uint32_t code[L::kWords];
  };
  struct SelectShared {
    float a[kDecodeWarps][GROUP][L::kCoded];  // per warp's page: q_gc (max_c - min_c) / 4 of coded channel j
    float base[kDecodeWarps][GROUP];          // q_g·center - Σ_j a_gj: every coded channel in its lower half
    float top[kDecodeWarps][GROUP];           // per head, the largest log mass over the candidates
  };

  // Codes the page once it is full (filled == PS, uniform over the block): thread c decides whether channel c is
  // coded (its rank among the half widths), then writes its keys' bits; the code goes out as whole words.
  __device__ __forceinline__ static void append(const T* kpage, float mn, float mx, int filled, uint32_t* summary, AppendShared& s) {
    if (filled != PS) return;
    const int c = threadIdx.x;
    const float w = sketch_half_width(mn, mx);
    s.w[c] = w;
    for (int i = c; i < L::kWords; i += D) s.code[i] = 0u;
    __syncthreads();
    const bool coded = sketch_channel_coded<D>(s.w, c);
    if (coded) atomicOr(&s.code[c / 32], 1u << (c % 32));
    __syncthreads();
    if (coded)
      sketch_code_channel<D, PS>(
          s.code, c, mn, w, [&](int slot) { return Elem<T>::to_float(kpage[slot * D + c]); }, [&](int word, uint32_t bit) { atomicOr(&s.code[word], bit); });
    __syncthreads();
    for (int i = c; i < L::kWords; i += D) summary[i] = s.code[i];
  }

  // Per candidate page and query head g, log Σ_{keys} exp(scale q_g·k̂) with k̂ the key rebuilt from the code (as
  // cpu::sketch_log_mass): q_g·k̂ = base_g + Σ_{coded j, bit set} 2 a_gj. A warp takes a page: its lanes first
  // go over channels (base and a into shared memory), then over (head, slot) pairs, SL lanes per head, and a
  // log-sum-exp across each head's lanes. Log masses go to the scratch row: [C, GROUP].
  __device__ __forceinline__ static void score(const DecodeArgs& a, const KvLayerDev& kv, const float (*q)[D], const int32_t* pt, int h, int lo,
                                               int hi, int, float* scratch, float*, SelectShared& sh) {
    constexpr int SL = PS < 32 ? PS : 32, HPW = 32 / SL;  // lanes per head, heads per pass
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, gi = lane / SL, sl = lane % SL;
    const T* bounds = static_cast<const T*>(kv.bounds);
    const uint32_t* codes = kv.summary;
    const int hkv = kv.num_kv_heads;
    for (int ci = lo + warp; ci < hi; ci += kDecodeWarps) {
      const int64_t ph = static_cast<int64_t>(pt[1 + ci]) * hkv + h;
      const T* b = bounds + ph * 2 * D;
      const uint32_t* code = codes + ph * L::kWords;
      float part[GROUP];
#pragma unroll
      for (int g = 0; g < GROUP; ++g) part[g] = 0.f;
      for (int c = lane; c < D; c += 32) {
        const float mn = Elem<T>::to_float(b[c]), mx = Elem<T>::to_float(b[D + c]);
        const int j = (code[c / 32] >> (c % 32)) & 1u ? sketch_coded_index(code, c) : L::kCoded;
        const bool coded = j < L::kCoded;  // a valid code has kCoded channels: the test keeps any other in bounds
#pragma unroll
        for (int g = 0; g < GROUP; ++g) {
          const float qv = q[g][c];
          part[g] += qv * 0.5f * (mn + mx);
          if (coded) {
            const float av = qv * 0.25f * (mx - mn);
            sh.a[warp][g][j] = av;
            part[g] -= av;
          }
        }
      }
#pragma unroll
      for (int g = 0; g < GROUP; ++g) {
        const float v = warp_sum(part[g]);
        if (lane == 0) sh.base[warp][g] = v;
      }
      __syncwarp();
      for (int g0 = 0; g0 < GROUP; g0 += HPW) {
        const int g = g0 + gi;
        float m = -INFINITY, z = 0.f;  // this lane's slots: running max and Σ exp(x - m)
        if (g < GROUP)
          for (int slot = sl; slot < PS; slot += SL) {
            const uint32_t* bits = code + L::kMaskWords + slot * L::kKeyWords;
            float d = sh.base[warp][g];
            for (int j = 0; j < L::kCoded; ++j)
              if ((bits[j / 32] >> (j % 32)) & 1u) d += 2.f * sh.a[warp][g][j];
            const float x = a.scale * d;
            if (x > m) {
              z = z * expf(m - x) + 1.f;
              m = x;
            } else {
              z += expf(x - m);
            }
          }
        float M = m;
#pragma unroll
        for (int o = SL / 2; o > 0; o >>= 1) M = fmaxf(M, __shfl_xor_sync(0xffffffffu, M, o));
        float Z = g < GROUP ? z * expf(m - M) : 0.f;
#pragma unroll
        for (int o = SL / 2; o > 0; o >>= 1) Z += __shfl_xor_sync(0xffffffffu, Z, o);
        if (g < GROUP && sl == 0) scratch[static_cast<int64_t>(ci) * GROUP + g] = M + logf(Z);
      }
      __syncwarp();  // sh.a and sh.base are the next page's
    }
  }

  // scores_s[i] = Σ_g exp(lm_ig - max over candidates of lm_g) (cpu::normalized_mass_candidates).
  __device__ __forceinline__ static void finish(const DecodeArgs&, int C, int, const float* scratch, float* scores_s, SelectShared& sh) {
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    float top[GROUP];
#pragma unroll
    for (int g = 0; g < GROUP; ++g) top[g] = -INFINITY;
    for (int i = tid; i < C; i += kDecodeThreads)
#pragma unroll
      for (int g = 0; g < GROUP; ++g) top[g] = fmaxf(top[g], load_cg(scratch + static_cast<int64_t>(i) * GROUP + g));
#pragma unroll
    for (int g = 0; g < GROUP; ++g) {
      const float t = warp_max(top[g]);
      if (lane == 0) sh.top[warp][g] = t;
    }
    __syncthreads();
#pragma unroll
    for (int g = 0; g < GROUP; ++g) {
      top[g] = sh.top[0][g];
#pragma unroll
      for (int w = 1; w < kDecodeWarps; ++w) top[g] = fmaxf(top[g], sh.top[w][g]);
    }
    for (int i = tid; i < C; i += kDecodeThreads) {
      float total = 0.f;
#pragma unroll
      for (int g = 0; g < GROUP; ++g) total += expf(load_cg(scratch + static_cast<int64_t>(i) * GROUP + g) - top[g]);
      scores_s[i] = total;
    }
  }
};

template <>
struct PageScoreImpl<kPageScoreSketch> {
  template <typename T, int D, int PS, int GROUP>
  using type = PageScoreSketch<T, D, PS, GROUP>;
};

}  // namespace tsc::cuda
