// Kernels<Config>: host launchers for every CUDA kernel template, instantiated with one model's
// specialization constants; fills the KernelTable. Generated files define Config and instantiate this.
#pragma once
#include <algorithm>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <utility>
#include "templates/cuda/decode_attention.cuh"
#include "templates/cuda/elementwise.cuh"
#include "templates/cuda/gemm_q4.cuh"
#include "templates/cuda/gemv.cuh"
#include "templates/cuda/gemv_fused.cuh"
#include "templates/cuda/gemv_i8.cuh"
#include "templates/cuda/gemv_q4.cuh"
#include "templates/cuda/kernel_table.h"
#include "templates/cuda/prefill_attention.cuh"
#include "templates/cuda/prefill_flash.cuh"
#include "templates/cuda/rope_kv.cuh"
#include "templates/cuda/sample.cuh"

namespace tsc::cuda {

template <typename T> constexpr int32_t dtype_code();
template <> constexpr int32_t dtype_code<half>() { return 10; }
template <> constexpr int32_t dtype_code<__nv_bfloat16>() { return 16; }

// Launches with programmatic dependent launch on Hopper (sm_90+): the kernel may start while the one before
// it drains; it calls pdl_wait() before reading that kernel's outputs. A plain launch before sm_90.
template <typename... P, typename... A>
cudaError_t launch_pdl(void (*kernel)(P...), dim3 grid, dim3 block, size_t smem, cudaStream_t s, A&&... args) {
  static int pdl = -1;
  if (pdl < 0) {
    int dev = 0, major = 0;
    pdl = cudaGetDevice(&dev) == cudaSuccess && cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) == cudaSuccess && major >= 9;
  }
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = grid;
  cfg.blockDim = block;
  cfg.dynamicSmemBytes = smem;
  cfg.stream = s;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = attr;
  cfg.numAttrs = pdl ? 1 : 0;
  return cudaLaunchKernelEx(&cfg, kernel, std::forward<A>(args)...);
}

// Blocks of `kernel` the whole device holds at once (threads per block, dynamic shared memory `smem`),
// cached in `c` for the last smem asked: decode attention's pair barrier and the persistent projections
// size their grids by it.
struct ResidentBlocks {
  size_t smem = ~size_t{0};
  int blocks = 0;
};
template <typename F>
cudaError_t resident_blocks(F kernel, int threads, size_t smem, ResidentBlocks& c) {
  if (c.smem == smem) return cudaSuccess;
  int per_sm = 0, sms = 0, dev = 0;
  cudaError_t e = cudaGetDevice(&dev);
  if (e == cudaSuccess) e = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
  if (e == cudaSuccess) e = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, threads, smem);
  if (e != cudaSuccess) return e;
  c.blocks = per_sm * sms;
  c.smem = smem;
  return cudaSuccess;
}

// Config: kKey, kHeadDim, kPageSize, kTopK, kGroup, kRotaryDim, kRopeInterleaved, kNorm (0 LayerNorm,
// 1 RMSNorm), kPageScore (PageScore), kActivation (0 gelu_tanh, 1 gelu, 2 silu-gated, 3 gelu_tanh-gated), kQ4Block (0, or the MatMulNBits
// block size), kI8 (1: the model has 8-bit projections), `using Weight`, `using Q4Scale` (float or half).
template <typename Config>
struct Kernels {
  using T = typename Config::Weight;
  static constexpr int D = Config::kHeadDim, PS = Config::kPageSize, K = Config::kTopK, G = Config::kGroup;
  static constexpr int RD = Config::kRotaryDim > 0 ? Config::kRotaryDim : 2;
  static constexpr bool IL = Config::kRopeInterleaved != 0, ROPE = Config::kRotaryDim > 0;
  static constexpr int RDQ = Config::kRotaryDim;  // 0: no rotary in the decode kernel
  static constexpr int SC = Config::kPageScore;
  using Score = PageScoreOf<SC, T, D, PS, G>;
  static constexpr int NORM_PRO = Config::kNorm == 1 ? kProRmsNorm : kProLayerNorm;
  static constexpr bool GATED = Config::kActivation >= 2;  // [gate | up] rows: the activation is the down projection's prologue
  static constexpr int UP_EPI = GATED ? kEpiStore : (Config::kActivation == 0 ? kEpiStoreGeluTanh : kEpiStoreGelu);
  static constexpr int DOWN_PRO = Config::kActivation == 2 ? kProSiluMul : Config::kActivation == 3 ? kProGeluTanhMul : kProNone;

  static cudaError_t embed(const int32_t* tok, const int32_t* pos, int32_t n, const void* E, const void* P, int32_t H,
                           float* x, cudaStream_t s) {
    if (n == 0) return cudaSuccess;
    embed_kernel<T><<<n, 256, 0, s>>>(tok, pos, static_cast<const T*>(E), static_cast<const T*>(P), H, x);
    return cudaGetLastError();
  }
  static cudaError_t add_norm(float* x, const void* delta, const float* w, const float* b, float eps, int32_t rms,
                              int32_t n, int32_t H, void* out, cudaStream_t s) {
    if (n == 0) return cudaSuccess;
    add_norm_kernel<T><<<n, 256, 0, s>>>(x, static_cast<const T*>(delta), w, b, eps, rms, H, static_cast<T*>(out));
    return cudaGetLastError();
  }
  static cudaError_t post_norm_add(float* x, const void* y, const float* w, const float* b, float eps, int32_t rms,
                                   int32_t n, int32_t H, void* out, cudaStream_t s) {
    if (n == 0 || (!y && !out)) return cudaSuccess;
    post_norm_add_kernel<T><<<n, 256, 0, s>>>(x, static_cast<const T*>(y), w, b, eps, rms, H, static_cast<T*>(out));
    return cudaGetLastError();
  }
  static cudaError_t qk_norm_rows(void* qkv, int32_t n, int32_t stride, int32_t Q, int32_t KV, const float* qw, const float* kw,
                                  float eps, cudaStream_t s) {
    if (n == 0) return cudaSuccess;
    qk_norm_rows_kernel<T><<<dim3(n, 2), 256, 0, s>>>(static_cast<T*>(qkv), stride, Q, KV, qw, kw, eps);
    return cudaGetLastError();
  }
  // The GEMVs' row buckets: launch(std::integral_constant<int, MAX_M>) for the smallest MAX_M in {1, 2, 4, 8} that
  // holds M rows; larger M is not a GEMV's (the backend sends it to cuBLASLt, 4-bit weights dequantized first).
  template <typename Launch>
  static cudaError_t by_rows(int32_t M, Launch&& launch) {
    if (M == 1) return launch(std::integral_constant<int, 1>{});
    if (M <= 2) return launch(std::integral_constant<int, 2>{});
    if (M <= 4) return launch(std::integral_constant<int, 4>{});
    if (M <= 8) return launch(std::integral_constant<int, 8>{});
    return cudaErrorInvalidValue;
  }
  template <int MAX_M>
  static cudaError_t gemv_m(const void* x, int32_t M, int32_t Kd, const void* W, const float* bias, int32_t N, void* y,
                            int32_t out_f32, cudaStream_t s) {
    const dim3 grid((N + kGemvWarps - 1) / kGemvWarps);
    if (out_f32)
      gemv_kernel<T, MAX_M, float><<<grid, 32 * kGemvWarps, 0, s>>>(static_cast<const T*>(x), M, Kd, static_cast<const T*>(W), bias, N, static_cast<float*>(y));
    else
      gemv_kernel<T, MAX_M, T><<<grid, 32 * kGemvWarps, 0, s>>>(static_cast<const T*>(x), M, Kd, static_cast<const T*>(W), bias, N, static_cast<T*>(y));
    return cudaGetLastError();
  }
  static cudaError_t gemv(const void* x, int32_t M, int32_t Kd, const void* W, const float* bias, int32_t N, void* y,
                          int32_t out_f32, cudaStream_t s) {
    if (M <= 0 || N <= 0) return cudaSuccess;
    if (Kd % 8 != 0) return cudaErrorInvalidValue;
    return by_rows(M, [&](auto max_m) { return gemv_m<decltype(max_m)::value>(x, M, Kd, W, bias, N, y, out_f32, s); });
  }
  static cudaError_t bias_act(void* y, const float* bias, int32_t M, int32_t N, int32_t act, cudaStream_t s) {
    const int64_t n = static_cast<int64_t>(M) * N;
    if (n == 0 || (!bias && act == 0)) return cudaSuccess;
    bias_act_kernel<T><<<static_cast<unsigned>((n + 255) / 256), 256, 0, s>>>(static_cast<T*>(y), bias, M, N, act);
    return cudaGetLastError();
  }
  static cudaError_t silu_mul(const void* gu, const float* bias, int32_t M, int32_t I, void* out, cudaStream_t s) {
    const int64_t n = static_cast<int64_t>(M) * I;
    if (n == 0) return cudaSuccess;
    silu_mul_kernel<T, Config::kActivation == 3><<<static_cast<unsigned>((n + 255) / 256), 256, 0, s>>>(static_cast<const T*>(gu), bias, M, I, static_cast<T*>(out));
    return cudaGetLastError();
  }
  static cudaError_t rope_q(const RopeQArgs& a, cudaStream_t s) {
    if constexpr (!ROPE) return cudaSuccess;
    if (a.T == 0 || !a.inv_freq) return cudaSuccess;
    rope_q_kernel<T, D, RD, IL><<<a.T, 128, 0, s>>>(a);
    return cudaGetLastError();
  }
  static cudaError_t append_kv(const AppendArgs& a, const KvLayerDev& kv, cudaStream_t s) {
    if (a.num_units == 0) return cudaSuccess;
    return launch_pdl(append_kv_kernel<T, D, PS, RD, IL, ROPE, SC>, dim3(a.num_units, a.hkv), dim3(D), 0, s, a, kv);
  }
  // Tensor-core body where the shapes allow (decode_attention.cuh), SIMT otherwise; the dense kernel is the
  // same whatever the page score.
  static constexpr bool TC = decode_uses_tc<D, PS, G>();
  template <bool SELECT>
  static auto decode_kernel() {
    constexpr int SCORE = SELECT ? SC : kPageScoreBound;
    if constexpr (TC) return decode_attention_tc_kernel<T, D, PS, K, G, SELECT, RDQ, IL, SCORE>;
    else return decode_attention_kernel<T, D, PS, K, G, SELECT, RDQ, IL, SCORE>;
  }
  template <bool SELECT>
  static size_t decode_smem_for(int32_t max_pages) {
    if constexpr (TC) return decode_tc_smem_bytes<T, D, PS, SELECT>(max_pages);
    else return decode_smem_bytes_for(max_pages);
  }
  // The larger of the two kernels' needs (KernelTable::decode_smem_bytes).
  static size_t decode_smem(int32_t max_pages) { return std::max(decode_smem_for<false>(max_pages), decode_smem_for<true>(max_pages)); }
  template <bool SELECT>
  static cudaError_t decode_launch(DecodeArgs a, const KvLayerDev& kv, cudaStream_t s) {
    auto kernel = decode_kernel<SELECT>();
    const size_t smem = decode_smem_for<SELECT>(a.max_pages);
    static size_t configured = 0;  // raise the dynamic shared-memory limit (static + dynamic may pass 48 KiB)
    if (smem > configured) {
      cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
      if (e != cudaSuccess) return e;
      configured = smem;
    }
    // The blocks of a pair meet at a barrier after scoring: the whole grid must be resident at once.
    static ResidentBlocks capacity;
    if (cudaError_t e = resident_blocks(kernel, kDecodeThreads, smem, capacity); e != cudaSuccess) return e;
    const int pairs = a.batch * kv.num_kv_heads;
    a.num_splits = std::max(1, std::min(a.num_splits, capacity.blocks / std::max(pairs, 1)));
    return launch_pdl(kernel, dim3(a.num_splits, kv.num_kv_heads, a.batch), dim3(kDecodeThreads), smem, s, a, kv);
  }
  static cudaError_t decode_attention(const DecodeArgs& a, const KvLayerDev& kv, cudaStream_t s) {
    if (a.batch == 0) return cudaSuccess;
    if (a.budget > K || a.budget == 1) return cudaErrorInvalidValue;
    if constexpr (K >= 2) {
      if (a.budget >= 2) return decode_launch<true>(a, kv, s);
    }
    return decode_launch<false>(a, kv, s);
  }
  // Register-resident flash kernel (prefill_flash.cuh) where the head dim allows, WMMA tiles otherwise.
  static constexpr bool FLASH = prefill_uses_flash<D>();
  // One prefill kernel's launch: `rows` queries per block; raises its shared-memory limit on first use.
  template <auto KERNEL>
  static cudaError_t prefill_go(size_t smem, int rows, int threads, const PrefillArgs& a, const KvLayerDev& kv, cudaStream_t s) {
    static bool configured = false;
    if (!configured) {
      cudaError_t e = cudaFuncSetAttribute(KERNEL, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
      if (e != cudaSuccess) return e;
      configured = true;
    }
    KERNEL<<<dim3((a.max_q_len + rows - 1) / rows, a.hq, a.num_seqs), threads, smem, s>>>(a, kv);
    return cudaGetLastError();
  }
  static cudaError_t prefill_attention(const PrefillArgs& a, const KvLayerDev& kv, cudaStream_t s) {
    if (a.num_seqs == 0) return cudaSuccess;
    if constexpr (FLASH) {
      // 32 rows per warp (K/V fragments shared by two m-tiles) where the registers allow (head dim <= 64)
      // and the grid still covers every SM twice. TSC_PREFILL_ROWS=64 or 128 (queries per block) forces one
      // (A/B timing, and checks of both on short inputs).
      static int sms = 0;
      static const std::string force = std::getenv("TSC_PREFILL_ROWS") ? std::getenv("TSC_PREFILL_ROWS") : "";
      if (sms == 0) {
        int dev = 0;
        if (cudaError_t e = cudaGetDevice(&dev); e != cudaSuccess) return e;
        if (cudaError_t e = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev); e != cudaSuccess) return e;
      }
      const int64_t blocks2 = int64_t{(a.max_q_len + flash_rows<2>() - 1) / flash_rows<2>()} * a.hq * a.num_seqs;
      if constexpr (D <= 64) {
        if (force == "128" || (force != "64" && blocks2 >= 2 * sms))
          return prefill_go<prefill_flash_kernel<T, D, PS, G, 2>>(prefill_flash_smem_bytes<D, 2>(), flash_rows<2>(), kFlashThreads, a, kv, s);
      }
      return prefill_go<prefill_flash_kernel<T, D, PS, G, 1>>(prefill_flash_smem_bytes<D, 1>(), flash_rows<1>(), kFlashThreads, a, kv, s);
    } else {
      return prefill_go<prefill_attention_kernel<T, D, PS, G>>(prefill_smem_bytes<D>(), kPrefillTile, kPrefillThreads, a, kv, s);
    }
  }
  static cudaError_t gather_rows(const void* x, const int32_t* rows, int32_t R, int32_t H, void* out, cudaStream_t s) {
    if (R == 0) return cudaSuccess;
    gather_rows_kernel<T><<<R, 256, 0, s>>>(static_cast<const T*>(x), rows, H, static_cast<T*>(out));
    return cudaGetLastError();
  }
  template <int MAX_M, int PRO, int EPI>
  static cudaError_t fused_launch(const GemvArgs& a, cudaStream_t s) {
    const size_t smem = gemv_fused_smem<MAX_M>(a.K);
    static size_t configured = 0;
    if (smem > 48 * 1024 && smem > configured) {
      cudaError_t e = cudaFuncSetAttribute(gemv_fused_kernel<T, MAX_M, PRO, EPI>, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
      if (e != cudaSuccess) return e;
      configured = smem;
    }
    // Persistent grid: as many blocks as are resident at once (each warp then streams several rows), or
    // one row per warp when there are fewer rows than that.
    static ResidentBlocks resident;
    if (cudaError_t e = resident_blocks(gemv_fused_kernel<T, MAX_M, PRO, EPI>, 32 * kFusedWarps, smem, resident); e != cudaSuccess) return e;
    // Launched with PDL: the projection streams its first weights while the kernel before it finishes.
    return launch_pdl(gemv_fused_kernel<T, MAX_M, PRO, EPI>, dim3(std::min((a.N + kFusedWarps - 1) / kFusedWarps, std::max(1, resident.blocks))),
                      dim3(32 * kFusedWarps), smem, s, a);
  }
  template <int PRO, int EPI>
  static cudaError_t fused_m(const GemvArgs& a, cudaStream_t s) {
    if (a.M == 1) return fused_launch<1, PRO, EPI>(a, s);
    if (a.M <= 2) return fused_launch<2, PRO, EPI>(a, s);
    if (a.M <= 4) return fused_launch<4, PRO, EPI>(a, s);
    if (a.M <= 8) return fused_launch<8, PRO, EPI>(a, s);
    return cudaErrorInvalidValue;
  }
  static cudaError_t gemv_fused(int32_t role, const GemvArgs& a, cudaStream_t s) {
    if (a.M <= 0 || a.N <= 0) return cudaSuccess;
    if (a.K % 8 != 0) return cudaErrorInvalidValue;
    switch (role) {
      case kRoleQkv: return fused_m<NORM_PRO, kEpiStore>(a, s);
      case kRoleOut: return fused_m<kProNone, kEpiResidual>(a, s);
      case kRoleUp: return fused_m<NORM_PRO, UP_EPI>(a, s);
      case kRoleDown: return fused_m<DOWN_PRO, kEpiResidual>(a, s);
      case kRoleHead: return fused_m<NORM_PRO, kEpiStoreF32>(a, s);
      default: return cudaErrorInvalidValue;
    }
  }
  static cudaError_t argmax(const float* logits, int32_t R, int32_t V, int32_t* ids, cudaStream_t s) {
    if (R == 0) return cudaSuccess;
    argmax_kernel<<<R, 1024, 0, s>>>(logits, V, ids);
    return cudaGetLastError();
  }

  static constexpr int QB = Config::kQ4Block;
  using QS = typename Config::Q4Scale;
  template <int MAX_M>
  static cudaError_t gemv_q4_m(const void* x, int32_t M, int32_t Kd, const Q4Weight& w, const float* bias, int32_t N, void* y,
                               int32_t out_f32, cudaStream_t s) {
    const dim3 grid((N + kGemvQ4Warps - 1) / kGemvQ4Warps);
    const auto* sc = static_cast<const QS*>(w.scales);
    if (out_f32)
      gemv_q4_kernel<T, MAX_M, QB, QS, float><<<grid, 32 * kGemvQ4Warps, 0, s>>>(static_cast<const T*>(x), M, Kd, w.codes, sc, w.zero_points, bias, N, static_cast<float*>(y));
    else
      gemv_q4_kernel<T, MAX_M, QB, QS, T><<<grid, 32 * kGemvQ4Warps, 0, s>>>(static_cast<const T*>(x), M, Kd, w.codes, sc, w.zero_points, bias, N, static_cast<T*>(y));
    return cudaGetLastError();
  }
  static cudaError_t gemv_q4(const void* x, int32_t M, int32_t Kd, const Q4Weight& w, const float* bias, int32_t N, void* y,
                             int32_t out_f32, cudaStream_t s) {
    if constexpr (QB > 0) {
      if (M <= 0 || N <= 0) return cudaSuccess;
      if (Kd % 8 != 0) return cudaErrorInvalidValue;
      return by_rows(M, [&](auto max_m) { return gemv_q4_m<decltype(max_m)::value>(x, M, Kd, w, bias, N, y, out_f32, s); });
    }
    return cudaErrorInvalidValue;
  }
  static cudaError_t logit_softcap(float* z, int64_t n, float c, cudaStream_t s) {
    if (n == 0) return cudaSuccess;
    logit_softcap_kernel<<<static_cast<unsigned>((n + 255) / 256), 256, 0, s>>>(z, n, c);
    return cudaGetLastError();
  }
  static cudaError_t dequant_q4(const Q4Weight& w, int32_t N, int32_t Kd, void* out, cudaStream_t s) {
    if constexpr (QB > 0) {
      const int64_t threads = static_cast<int64_t>(N) * ((Kd + 7) / 8);
      if (threads == 0) return cudaSuccess;
      dequant_q4_kernel<T, QB, QS><<<static_cast<unsigned>((threads + 255) / 256), 256, 0, s>>>(w.codes, static_cast<const QS*>(w.scales), w.zero_points, N, Kd,
                                                                                            static_cast<T*>(out));
      return cudaGetLastError();
    }
    return cudaErrorInvalidValue;
  }

  // 8 < M <= 64 rows on 4-bit weights: one instantiation (8 x-row tiles, those past M skipped) per output type.
  static constexpr bool Q4_MMA = QB > 0 && std::is_same_v<T, half>;
  static cudaError_t gemm_q4(const void* x, int32_t M, int32_t Kd, const Q4Weight& w, const float* bias, int32_t N, void* y,
                             int32_t out_f32, cudaStream_t s) {
    if constexpr (Q4_MMA) {
      if (M <= 0 || N <= 0) return cudaSuccess;
      if (M > 64 || Kd % 8 != 0) return cudaErrorInvalidValue;
      const dim3 grid((N + 31) / 32);
      const auto* sc = static_cast<const QS*>(w.scales);
      if (out_f32)
        gemm_q4_kernel<8, QB, QS, float><<<grid, 32 * kGemmQ4Warps, 0, s>>>(static_cast<const half*>(x), M, Kd, w.codes, sc, w.zero_points, bias, N,
                                                                          static_cast<float*>(y));
      else
        gemm_q4_kernel<8, QB, QS, half><<<grid, 32 * kGemmQ4Warps, 0, s>>>(static_cast<const half*>(x), M, Kd, w.codes, sc, w.zero_points, bias, N,
                                                                         static_cast<half*>(y));
      return cudaGetLastError();
    }
    return cudaErrorInvalidValue;
  }

  static constexpr bool I8 = Config::kI8 != 0;
  static int sm_count() {
    static int n = 0;
    if (n == 0) {
      int dev = 0;
      if (cudaGetDevice(&dev) != cudaSuccess || cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess) n = 132;
    }
    return n;
  }
  template <int MAX_M>
  static cudaError_t gemv_i8_m(const void* x, int32_t M, int32_t Kd, const I8Weight& w, const float* bias, int32_t N, void* y,
                               int32_t out_f32, cudaStream_t s) {
    const int ks = gemv_i8_k_split(N, Kd, sm_count());
    const int rows = kGemvI8Rows * (kGemvI8Warps / ks);
    const dim3 grid((N + rows - 1) / rows);
    const uint32_t flip = w.is_signed ? 0x80808080u : 0u;
    if (out_f32)
      gemv_i8_kernel<T, MAX_M, float><<<grid, 32 * kGemvI8Warps, 0, s>>>(static_cast<const T*>(x), M, Kd, w.codes, w.scales, w.zero_points, flip, bias, N, ks,
                                                                         static_cast<float*>(y));
    else
      gemv_i8_kernel<T, MAX_M, T><<<grid, 32 * kGemvI8Warps, 0, s>>>(static_cast<const T*>(x), M, Kd, w.codes, w.scales, w.zero_points, flip, bias, N, ks,
                                                                     static_cast<T*>(y));
    return cudaGetLastError();
  }
  static cudaError_t gemv_i8(const void* x, int32_t M, int32_t Kd, const I8Weight& w, const float* bias, int32_t N, void* y,
                             int32_t out_f32, cudaStream_t s) {
    if constexpr (I8) {
      if (M <= 0 || N <= 0) return cudaSuccess;
      if (Kd % 16 != 0) return cudaErrorInvalidValue;
      return by_rows(M, [&](auto max_m) { return gemv_i8_m<decltype(max_m)::value>(x, M, Kd, w, bias, N, y, out_f32, s); });
    }
    return cudaErrorInvalidValue;
  }
  static cudaError_t dequant_i8(const I8Weight& w, int32_t N, int32_t Kd, void* out, cudaStream_t s) {
    if constexpr (I8) {
      const int64_t threads = static_cast<int64_t>(N) * ((Kd + 7) / 8);
      if (threads == 0) return cudaSuccess;
      dequant_i8_kernel<T><<<static_cast<unsigned>((threads + 255) / 256), 256, 0, s>>>(w.codes, w.scales, w.zero_points, w.is_signed ? 0x80808080u : 0u,
                                                                                      N, Kd, static_cast<T*>(out));
      return cudaGetLastError();
    }
    return cudaErrorInvalidValue;
  }

  static const KernelTable* table() {
    static const KernelTable t = {Config::kKey, D, PS, K, G, Config::kRotaryDim, Config::kRopeInterleaved, dtype_code<T>(),
                                  Config::kNorm, Config::kActivation, QB, SC, Score::kSummaryWords, Score::kScratch,
                                  &embed, &add_norm, &gemv, &bias_act, &silu_mul, &rope_q, &append_kv,
                                  &decode_attention, &prefill_attention, &gather_rows, &decode_smem, &gemv_fused, &argmax,
                                  QB > 0 ? &gemv_q4 : nullptr, QB > 0 ? &dequant_q4 : nullptr, &post_norm_add, &qk_norm_rows,
                                  &logit_softcap, I8 ? 1 : 0, I8 ? &gemv_i8 : nullptr, I8 ? &dequant_i8 : nullptr, Q4_MMA ? &gemm_q4 : nullptr};
    return &t;
  }
};

}  // namespace tsc::cuda
