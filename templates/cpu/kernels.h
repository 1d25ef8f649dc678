// Kernels<Config>: instantiates every CPU kernel template with one model's specialization constants and
// fills the KernelTable. Generated files define Config (constants only) and instantiate this.
#pragma once
#include <tuple>

#include "templates/cpu/attention.h"
#include "templates/cpu/elementwise.h"
#include "templates/cpu/kernel_table.h"
#include "templates/cpu/gemm.h"
#include "templates/cpu/linear_int8.h"
#include "templates/cpu/linear_quant.h"
#include "templates/cpu/rope.h"

namespace tsc::cpu {

template <typename W> constexpr int32_t dtype_code();
template <> constexpr int32_t dtype_code<float>() { return 1; }
template <> constexpr int32_t dtype_code<f16_t>() { return 10; }
template <> constexpr int32_t dtype_code<bf16_t>() { return 16; }

// Config: kHeadDim, kPageSize, kTopK, kGroup, kRotaryDim, kRopeInterleaved, kPageScore (PageScore), kQ4Block (0 or
// the MatMulNBits block size), kKey, and `using Weight`, `using Q4Scale` (float or f16_t).
template <typename Config>
struct Kernels {
  using W = typename Config::Weight;
  static constexpr int D = Config::kHeadDim, PS = Config::kPageSize, K = Config::kTopK, G = Config::kGroup;
  static constexpr int RD = Config::kRotaryDim > 0 ? Config::kRotaryDim : 2;
  static constexpr int SC = Config::kPageScore;
  using Score = PageScoreOf<SC, D, PS>;  // a page score registered by its header (page_score.h)

  static constexpr int QB = Config::kQ4Block;
  using QS = typename Config::Q4Scale;

  static void linear_q4_entry(const float* x, int64_t M, int64_t K, const uint8_t* codes, const void* scales, const uint8_t* zp,
                              const float* bias, int64_t N, float* y) {
    if constexpr (QB > 0) linear_q4<QB, QS>(x, M, K, codes, static_cast<const QS*>(scales), zp, bias, N, y);
  }

  static void quant_params_entry(const float* x, int64_t n, float* scale, uint8_t* zp) {
    std::tie(*scale, *zp) = dynamic_quant_params(x, n);
  }

  static const KernelTable* table() {
    static const KernelTable t = {
        Config::kKey, D, PS, K, G, Config::kRotaryDim, Config::kRopeInterleaved, dtype_code<W>(),
        SC, Score::kSummaryWords, QB,
        &linear<W>, QB > 0 ? &linear_q4_entry : nullptr, &embed<W>, &add_rows<W>, &layernorm, &rmsnorm,
        &rope<D, RD, Config::kRopeInterleaved != 0>,
        &kv_append<D, PS, SC>, &attend_prefill<D, PS, G>, &attend_decode<D, PS, K, G, SC>,
        &gelu, &silu_mul, &add, &gelu_tanh_mul, &quant_params_entry, &linear_i8<int8_t>, &linear_i8<uint8_t>};
    return &t;
  }
};

}  // namespace tsc::cpu
