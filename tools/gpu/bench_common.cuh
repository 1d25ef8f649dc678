// Shared by the standalone kernel benchmarks (q4_gemv_bench.cu, i8_gemv_bench.cu): error checks, event timing, the
// device's copy rate, and the fp16 cuBLAS GEMM that larger batches run.
#pragma once
#include <cublas_v2.h>
#include <cuda_fp16.h>

#include <cstdio>

#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { fprintf(stderr, "%s: %s\n", #x, cudaGetErrorString(e)); return 1; } } while (0)

// Mean microseconds per call of f over `reps` calls, after 10 warm-up calls.
template <typename F>
static double time_us(F&& f, int reps = 200) {
  cudaEvent_t a, b;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  for (int i = 0; i < 10; ++i) f();
  cudaEventRecord(a);
  for (int i = 0; i < reps; ++i) f();
  cudaEventRecord(b);
  cudaEventSynchronize(b);
  float ms = 0;
  cudaEventElapsedTime(&ms, a, b);
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return ms * 1e3 / reps;
}

// The device's copy rate (bytes read + written per second, TB/s) on 1 GiB: the bytes roofline of this run.
static double copy_tbps() {
  const size_t n = size_t{1} << 30;
  void *a = nullptr, *b = nullptr;
  if (cudaMalloc(&a, n) != cudaSuccess || cudaMalloc(&b, n) != cudaSuccess) return 0;
  const double us = time_us([&] { cudaMemcpyAsync(b, a, n, cudaMemcpyDeviceToDevice); }, 20);
  cudaFree(a);
  cudaFree(b);
  return 2.0 * n / us / 1e6;
}

static int sm_count() {
  int dev = 0, n = 0;
  cudaGetDevice(&dev);
  cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev);
  return n;
}

// y[M, N] (f32, row-major) = x[M, K] W[N, K]^T in fp16 on cuBLAS: column-major C[N, M] = W^T(op) x.
static void gemm_f16(cublasHandle_t blas, const half* x, int M, int K, const half* W, int N, float* y) {
  const float one = 1.f, zero = 0.f;
  cublasGemmEx(blas, CUBLAS_OP_T, CUBLAS_OP_N, N, M, K, &one, W, CUDA_R_16F, K, x, CUDA_R_16F, K, &zero, y, CUDA_R_32F, N, CUBLAS_COMPUTE_32F,
               CUBLAS_GEMM_DEFAULT);
}
