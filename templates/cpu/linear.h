// CPU projection kernel: y[M,N] = x[M,K] w[N,K]^T + b, weights streamed once per block of rows.
#pragma once
#include <algorithm>
#include <vector>

#include "templates/cpu/common.h"

namespace tsc::cpu {

// Rows of x are processed in blocks of kRowBlock so that each converted weight row serves several
// tokens (prefill); decode (M == 1) streams the weights once, parallel over output features.
template <typename W>
void linear(const float* x, int64_t M, int64_t K, const void* wv, const float* bias, int64_t N, float* y) {
  const W* w = static_cast<const W*>(wv);
  constexpr int64_t kRowBlock = 8;
  // Threads only pay for themselves on large products; small ones (tiny models, tests) stay serial.
#pragma omp parallel if (M * N * K >= (int64_t{1} << 20))
  {
    std::vector<float> wrow(static_cast<size_t>(K));
#pragma omp for schedule(static)
    for (int64_t n = 0; n < N; ++n) {
      load_row(w + n * K, K, wrow.data());
      const float b = bias ? bias[n] : 0.f;
      for (int64_t m0 = 0; m0 < M; m0 += kRowBlock) {
        const int64_t m1 = std::min(M, m0 + kRowBlock);
        for (int64_t m = m0; m < m1; ++m) y[m * N + n] = dot(x + m * K, wrow.data(), K) + b;
      }
    }
  }
}

}  // namespace tsc::cpu
