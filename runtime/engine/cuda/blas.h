// cuBLAS(Lt) for the projections of prefill-sized steps: one plan per GEMM shape, the algorithm of
// decode-step shapes chosen by timing the library's candidates once.
#pragma once
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <map>
#include <tuple>

#include "contract/dtype.h"

namespace tsc::cuda {

class Blas {
 public:
  // Handles bound to `stream`, with a fixed workspace: cuBLAS must not allocate while a CUDA graph is captured.
  Blas(cudaStream_t stream, DType weight_dtype);
  ~Blas();
  Blas(const Blas&) = delete;
  Blas& operator=(const Blas&) = delete;

  // Row-major y[M, N] = x[M, K] W[N, K]^T in the weight dtype, y in float32 when out_f32. decode_step:
  // the step has no prefill rows (its shapes repeat every step, so they are tuned unless capturing).
  void matmul(const void* x, int64_t M, int64_t K, const void* W, int64_t N, void* y, int32_t out_f32, bool decode_step, bool capturing);

 private:
  struct Plan {
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
    cublasLtMatmulAlgo_t algo{};
    bool has_algo = false;
  };
  // A new plan with the heuristic's candidates; decode shapes time each candidate on (x, W, y).
  Plan make_plan(const void* x, int64_t M, int64_t K, const void* W, int64_t N, void* y, int32_t out_f32, bool tune);

  static constexpr size_t kWorkspace = size_t{32} << 20;
  cudaStream_t stream_;
  DType weight_dtype_;
  cublasHandle_t blas_ = nullptr;
  cublasLtHandle_t lt_ = nullptr;
  void* ws_ = nullptr;
  // Keyed by (M, N, K, f32 output, decode step): a decode batch of M rows gets its own timed plan even after a
  // prefill of M tokens made an untimed one.
  std::map<std::tuple<int64_t, int64_t, int64_t, int32_t, bool>, Plan> plans_;
};

}  // namespace tsc::cuda
