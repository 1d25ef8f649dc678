// CPU projection GEMM: y[M,N] = x[M,K] w[N,K]^T + b, register-tiled (SIMD), OpenMP over output-feature tiles.
#pragma once
#include <algorithm>
#include <type_traits>
#include <vector>

#include "templates/cpu/simd.h"

namespace tsc::cpu {
namespace gemm {
using namespace simd;

// Threads only pay for themselves on large products; small ones (tiny models, tests) stay serial.
inline bool worth_threads(int64_t M, int64_t K, int64_t N) { return M * N * K >= (int64_t{1} << 17); }

// ---- Few rows (decode, M < kPanelRows): dot products along K. A tile holds MR rows of x against NR rows
// of w in MR x NR vector accumulators; each weight vector is loaded once for all MR rows, so a decode step
// reads every weight once (batch <= MR) at the memory's pace. Rows past the end repeat a valid row.
// Software prefetch distance in weights (1 KiB of f32): the hardware prefetchers alone left a batch-8 decode
// step compute and memory in turn instead of overlapped (measured: lm_head at M = 8, 20 -> 15 ms CPU time).
inline constexpr int64_t kPrefetch = 256;

template <typename W, int MR, int NR>
inline void dot_tile(const float* const* xr, const W* const* wr, int64_t K, float (&out)[MR][NR]) {
  vf acc[MR][NR] = {};
  int64_t k = 0;
  for (; k + kLanes <= K; k += kLanes) {
    vf wv[NR];
#pragma GCC unroll 16
    for (int j = 0; j < NR; ++j) {
      __builtin_prefetch(wr[j] + k + kPrefetch);
      wv[j] = load(wr[j] + k);
    }
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const vf xv = loadu(xr[i] + k);
#pragma GCC unroll 16
      for (int j = 0; j < NR; ++j) acc[i][j] = fma(xv, wv[j], acc[i][j]);
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) {
      float s = hsum(acc[i][j]);
      for (int64_t kk = k; kk < K; ++kk) s += xr[i][kk] * to_f32(wr[j][kk]);
      out[i][j] = s;
    }
}

template <typename W, int MR, int NR>
void gemm_dot(const float* x, int64_t M, int64_t K, const W* w, const float* bias, int64_t N, float* y) {
  const int64_t tiles = (N + NR - 1) / NR;
#pragma omp parallel for schedule(static) if (worth_threads(M, K, N))
  for (int64_t t = 0; t < tiles; ++t) {
    const int64_t n0 = t * NR, nr = std::min<int64_t>(NR, N - n0);
    const W* wr[NR];
    for (int j = 0; j < NR; ++j) wr[j] = w + (n0 + std::min<int64_t>(j, nr - 1)) * K;
    for (int64_t m0 = 0; m0 < M; m0 += MR) {
      const int64_t mr = std::min<int64_t>(MR, M - m0);
      const float* xr[MR];
      for (int i = 0; i < MR; ++i) xr[i] = x + (m0 + std::min<int64_t>(i, mr - 1)) * K;
      float out[MR][NR];
      dot_tile<W, MR, NR>(xr, wr, K, out);
      for (int64_t i = 0; i < mr; ++i)
        for (int64_t j = 0; j < nr; ++j) y[(m0 + i) * N + n0 + j] = out[i][j] + (bias ? bias[n0 + j] : 0.f);
    }
  }
}

// ---- Many rows (prefill): x is packed into panels of P = A * kLanes rows, stored k-major ([K][P], zero
// padded), so a tile multiplies A row vectors by NR broadcast weights per k: A x NR accumulators, no
// horizontal sums. Weights other than float32 are converted per tile into a [NR][K] float32 scratch that
// serves every panel. M is walked in blocks of kBlockPanels panels so that the block's panels stay in L2
// while each thread sweeps its share of the weight tiles, and K in chunks of kChunk so that a weight tile's
// chunk (12 rows x 512 B) stays in L1 for all panels of the block while their x chunks stream past it
// (without them the x panel, K x 128 B, evicts the tile between panels; a small gain, within this machine's noise).
inline constexpr int kA = 2, kPanelRows = kA * kLanes, kPanelNR = kRegs == 32 ? 12 : 6, kBlockPanels = 4;
inline constexpr int64_t kChunk = 128;

// out[j][:] = sum_k xp[k][:] * w_j[k * WS] for NR weight rows w_j (element stride WS): the register tile of the
// panel GEMM (WS = 1) and of attention's Q.K^T (WS = 1). xp: [K][A * kLanes]; `accumulate` adds to out.
template <int A, int NR, int WS = 1>
inline void panel_tile(const float* xp, const float* const* wr, int64_t K, float* out /* [NR][A * kLanes] */,
                       bool accumulate = false) {
  vf acc[A][NR];
  for (int j = 0; j < NR; ++j)
    for (int a = 0; a < A; ++a) acc[a][j] = accumulate ? loadu(out + j * A * kLanes + a * kLanes) : splat(0.f);
  for (int64_t k = 0; k < K; ++k) {
    vf xv[A];
#pragma GCC unroll 4
    for (int a = 0; a < A; ++a) xv[a] = loadu(xp + k * A * kLanes + a * kLanes);
#pragma GCC unroll 16
    for (int j = 0; j < NR; ++j) {
      const vf b = splat(wr[j][k * WS]);
#pragma GCC unroll 4
      for (int a = 0; a < A; ++a) acc[a][j] = fma(xv[a], b, acc[a][j]);
    }
  }
  for (int j = 0; j < NR; ++j)
    for (int a = 0; a < A; ++a) storeu(out + j * A * kLanes + a * kLanes, acc[a][j]);
}

// The panels' weight rows: a dense [N, K] matrix of W, read in place when W is float32, else converted into
// the tile's scratch. Quantized formats supply their own (linear_quant.h, q4::Rows).
template <typename W>
struct DenseRows {
  static constexpr bool kDirect = std::is_same_v<W, float>;
  const W* w;
  int64_t K;
  const float* row(int64_t n, float* scratch) const {
    if constexpr (kDirect) return w + n * K;
    else {
      load_row(w + n * K, K, scratch);
      return scratch;
    }
  }
};

template <typename Rows>
void gemm_panels(const float* x, int64_t M, int64_t K, const Rows& w, const float* bias, int64_t N, float* y) {
  constexpr int P = kPanelRows, NR = kPanelNR;
  const int64_t panels = (M + P - 1) / P, tiles = (N + NR - 1) / NR;
  static thread_local std::vector<float> packed;  // [panels][K][P], grown once per caller thread
  packed.resize(static_cast<size_t>(panels * K * P));
  float* xp = packed.data();
  const bool par = worth_threads(M, K, N);
#pragma omp parallel if (par)
  {
#pragma omp for schedule(static)
    for (int64_t p = 0; p < panels; ++p)
      for (int64_t k = 0; k < K; ++k)
        for (int r = 0; r < P; ++r) {
          const int64_t m = p * P + r;
          xp[(p * K + k) * P + r] = m < M ? x[m * K + k] : 0.f;
        }
    std::vector<float> wconv(Rows::kDirect ? 0 : static_cast<size_t>(NR * K));
    float out[kBlockPanels][NR * P];
    for (int64_t b0 = 0; b0 < panels; b0 += kBlockPanels) {
#pragma omp for schedule(static) nowait
      for (int64_t t = 0; t < tiles; ++t) {
        const int64_t n0 = t * NR, nr = std::min<int64_t>(NR, N - n0);
        const float* wr[NR];
        for (int j = 0; j < NR; ++j) wr[j] = w.row(n0 + std::min<int64_t>(j, nr - 1), Rows::kDirect ? nullptr : wconv.data() + j * K);
        const int64_t b1 = std::min(panels, b0 + kBlockPanels);
        for (int64_t k0 = 0; k0 < K; k0 += kChunk) {
          const float* wk[NR];
          for (int j = 0; j < NR; ++j) wk[j] = wr[j] + k0;
          for (int64_t p = b0; p < b1; ++p)
            panel_tile<kA, NR>(xp + (p * K + k0) * P, wk, std::min(kChunk, K - k0), out[p - b0], k0 > 0);
        }
        for (int64_t p = b0; p < b1; ++p) {
          const int64_t mr = std::min<int64_t>(P, M - p * P);
          for (int64_t r = 0; r < mr; ++r)
            for (int64_t j = 0; j < nr; ++j) y[(p * P + r) * N + n0 + j] = out[p - b0][j * P + r] + (bias ? bias[n0 + j] : 0.f);
        }
      }
    }
  }
}

}  // namespace gemm

// Dispatch by row count: decode batches take the dot tiles (MR chosen so one tile covers the batch), prefill
// the packed panels.
template <typename W>
void linear(const float* x, int64_t M, int64_t K, const void* wv, const float* bias, int64_t N, float* y) {
  using namespace gemm;
  const W* w = static_cast<const W*>(wv);
  constexpr bool wide = simd::kRegs == 32;  // AVX-512: 32 vector registers
  if (M >= kPanelRows) gemm_panels(x, M, K, DenseRows<W>{w, K}, bias, N, y);
  else if (M == 1) gemm_dot<W, 1, 8>(x, M, K, w, bias, N, y);
  else if (M == 2) gemm_dot<W, 2, wide ? 8 : 4>(x, M, K, w, bias, N, y);
  else if (M <= 4) gemm_dot<W, 4, wide ? 5 : 2>(x, M, K, w, bias, N, y);
  else gemm_dot<W, 8, wide ? 3 : 1>(x, M, K, w, bias, N, y);
}

}  // namespace tsc::cpu
