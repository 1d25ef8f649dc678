// Standalone check and timing of the 8-bit weight-only projections (templates/cuda/gemv_i8.cuh): the GEMV (M <= 8)
// and, for larger M, dequantization to fp16 then cuBLAS (the backend's prefill path), against a float64 reference of
// the dequantized weights, beside the fp16 GEMV / fp16 cuBLAS on the same shape, with the copy roofline measured in
// the same run. One JSON line per shape, batch and code type.
// Build: nvcc -std=c++17 -O3 -arch=sm_90 -I. tools/gpu/i8_gemv_bench.cu -lcublas -o i8_gemv_bench   (tools/gpu/check.py quant)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "templates/cuda/gemv.cuh"
#include "templates/cuda/gemv_i8.cuh"
#include "tools/gpu/bench_common.cuh"

using namespace tsc::cuda;

int run(cublasHandle_t blas, double roof, int N, int K, int M, bool is_signed) {
  std::mt19937 r(N * 31 + K + M + is_signed);
  const uint32_t flip = is_signed ? 0x80808080u : 0u;
  std::vector<uint8_t> codes(static_cast<size_t>(N) * K), zps(N);
  std::vector<float> sc(N);
  std::vector<half> x(static_cast<size_t>(M) * K), w16(static_cast<size_t>(N) * K);
  for (auto& c : codes) c = r() & 255;
  for (auto& z : zps) z = is_signed ? 0 : r() & 255;  // quantize_dynamic: int8 symmetric, uint8 with a zero point
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (auto& s : sc) s = 1e-4f + 4e-4f * std::fabs(u(r));
  for (auto& v : x) v = __float2half(u(r));
  for (auto& v : w16) v = __float2half(0.05f * u(r));
  uint8_t *dc, *dz;
  float *ds, *dy, *dy16;
  half *dx, *dw16, *dscratch;
  const size_t ybytes = static_cast<size_t>(M) * N * 4;
  CK(cudaMalloc(&dc, codes.size())); CK(cudaMalloc(&dz, zps.size())); CK(cudaMalloc(&ds, sc.size() * 4));
  CK(cudaMalloc(&dx, x.size() * 2)); CK(cudaMalloc(&dw16, w16.size() * 2)); CK(cudaMalloc(&dscratch, w16.size() * 2));
  CK(cudaMalloc(&dy, ybytes)); CK(cudaMalloc(&dy16, ybytes));
  CK(cudaMemcpy(dc, codes.data(), codes.size(), cudaMemcpyHostToDevice));
  CK(cudaMemcpy(dz, zps.data(), zps.size(), cudaMemcpyHostToDevice));
  CK(cudaMemcpy(ds, sc.data(), sc.size() * 4, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(dx, x.data(), x.size() * 2, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(dw16, w16.data(), w16.size() * 2, cudaMemcpyHostToDevice));
  const int ks = gemv_i8_k_split(N, K, sm_count());
  const dim3 grid((N + kGemvI8Rows * (kGemvI8Warps / ks) - 1) / (kGemvI8Rows * (kGemvI8Warps / ks))), block(32 * kGemvI8Warps);
  auto gemm = [&](const half* W, float* y) { gemm_f16(blas, dx, M, K, W, N, y); };
  const bool gemv = M <= 8;
  auto i8 = [&] {
    if (gemv) {
      gemv_i8_kernel<half, 8, float><<<grid, block>>>(dx, M, K, dc, ds, dz, flip, nullptr, N, ks, dy);
    } else {
      const int64_t threads = static_cast<int64_t>(N) * (K / 8);
      dequant_i8_kernel<half><<<static_cast<unsigned>((threads + 255) / 256), 256>>>(dc, ds, dz, flip, N, K, dscratch);
      gemm(dscratch, dy);
    }
  };
  auto f16 = [&] {
    if (gemv) gemv_kernel<half, 8, float><<<dim3((N + kGemvWarps - 1) / kGemvWarps), dim3(32 * kGemvWarps)>>>(dx, M, K, dw16, nullptr, N, dy16);
    else gemm(dw16, dy16);
  };
  i8();
  CK(cudaDeviceSynchronize());
  CK(cudaGetLastError());
  std::vector<float> y(static_cast<size_t>(M) * N);
  CK(cudaMemcpy(y.data(), dy, y.size() * 4, cudaMemcpyDeviceToHost));
  // Every output row for the GEMV; for the GEMM path a spread of 257 output columns (the float64 reference of
  // all 64 x 32000 x 2048 would take minutes on the host).
  const int stride = gemv ? 1 : std::max(1, N / 257);
  double err = 0, mag = 0;
  for (int n = 0; n < N; n += stride) {
    const int z = is_signed ? static_cast<int8_t>(zps[n]) : zps[n];
    for (int m = 0; m < M; ++m) {
      double ref = 0;
      for (int k = 0; k < K; ++k) {
        const uint8_t c = codes[static_cast<size_t>(n) * K + k];
        const int q = is_signed ? static_cast<int8_t>(c) : c;
        ref += static_cast<double>(__half2float(x[static_cast<size_t>(m) * K + k])) * ((q - z) * static_cast<double>(sc[n]));
      }
      err = std::fmax(err, std::fabs(ref - y[static_cast<size_t>(m) * N + n]));
      mag = std::fmax(mag, std::fabs(ref));
    }
  }
  const double us = time_us(i8), us16 = time_us(f16);
  CK(cudaGetLastError());
  const double bytes = codes.size() + sc.size() * 4.0 + zps.size() + x.size() * 2.0 + ybytes, bytes16 = w16.size() * 2.0 + x.size() * 2.0 + ybytes;
  const double rel = err / (mag > 0 ? mag : 1), tbps = bytes / us / 1e6;
  printf("{\"N\": %d, \"K\": %d, \"M\": %d, \"codes\": \"%s\", \"path\": \"%s\", \"k_split\": %d, \"i8_us\": %.2f, \"i8_tbps\": %.3f, "
         "\"roofline_pct\": %.1f, \"f16_us\": %.2f, \"f16_tbps\": %.3f, \"speedup\": %.2f, \"copy_tbps\": %.3f, \"rel_err\": %.2e}\n",
         N, K, M, is_signed ? "int8" : "uint8", gemv ? "gemv_i8" : "dequant_i8+cublas", gemv ? ks : 0, us, tbps, 100.0 * tbps / roof, us16,
         bytes16 / us16 / 1e6, us16 / us, roof, rel);
  fflush(stdout);
  cudaFree(dc); cudaFree(dz); cudaFree(ds); cudaFree(dx); cudaFree(dw16); cudaFree(dscratch); cudaFree(dy); cudaFree(dy16);
  return rel < 1e-3 ? 0 : 2;
}

int main() {
  cublasHandle_t blas;
  if (cublasCreate(&blas) != CUBLAS_STATUS_SUCCESS) return 1;
  const double roof = copy_tbps();
  int rc = 0;
  // TinyLlama-1.1B's projections (qkv 2560x2048, k or v alone 256x2048, o 2048x2048, gate|up 11264x2048, down
  // 2048x5632, lm_head 32000x2048), SmolLM2-135M's down (576x1536) and a small odd shape (N not a multiple of 4).
  const int shapes[][2] = {{2560, 2048}, {256, 2048}, {2048, 2048}, {11264, 2048}, {2048, 5632}, {32000, 2048}, {576, 1536}, {99, 208}};
  for (auto& s : shapes)
    for (int M : {1, 8, 64}) rc |= run(blas, roof, s[0], s[1], M, true);
  for (int M : {1, 3, 64}) rc |= run(blas, roof, 2048, 5632, M, false);
  rc |= run(blas, roof, 99, 208, 5, false);
  cublasDestroy(blas);
  return rc;
}
