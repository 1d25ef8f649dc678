// Standalone check and timing of the 4-bit projections against a float64 reference of the dequantized weights: the
// GEMV (templates/cuda/gemv_q4.cuh, M <= 8) beside the fp16 GEMV (gemv.cuh), and for larger M the tensor-core kernel
// (templates/cuda/gemm_q4.cuh) beside fp16 cuBLAS and the backend's present path (dequant_q4 + fp16 cuBLAS), with the
// copy roofline measured in the same run: one JSON line per shape and batch.
// Build: nvcc -std=c++17 -O3 -arch=sm_90 -I. tools/gpu/q4_gemv_bench.cu -lcublas -o q4_gemv_bench   (tools/gpu/check.py q4)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "templates/cuda/gemv.cuh"
#include "templates/cuda/gemm_q4.cuh"
#include "templates/cuda/gemv_q4.cuh"
#include "tools/gpu/bench_common.cuh"

using namespace tsc::cuda;

template <int B>
int run(cublasHandle_t blas, double roof, int N, int K, int M, bool zp) {
  const int nb = (K + B - 1) / B;
  std::mt19937 r(N * 31 + K + M);
  std::vector<uint8_t> codes(static_cast<size_t>(N) * nb * B / 2), zps(static_cast<size_t>(N) * ((nb + 1) / 2));
  std::vector<float> sc(static_cast<size_t>(N) * nb);
  std::vector<half> x(static_cast<size_t>(M) * K), w16(static_cast<size_t>(N) * K);
  for (auto& c : codes) c = r() & 255;
  for (auto& c : zps) c = r() & 255;
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (auto& s : sc) s = 0.01f + 0.02f * std::fabs(u(r));
  for (auto& v : x) v = __float2half(u(r));
  for (auto& v : w16) v = __float2half(0.05f * u(r));
  uint8_t *dc, *dz;
  float *ds, *dy, *dy16;
  half *dx, *dw16, *dscratch;
  CK(cudaMalloc(&dc, codes.size())); CK(cudaMalloc(&dz, zps.size())); CK(cudaMalloc(&ds, sc.size() * 4));
  CK(cudaMalloc(&dx, x.size() * 2)); CK(cudaMalloc(&dw16, w16.size() * 2)); CK(cudaMalloc(&dscratch, w16.size() * 2));
  CK(cudaMalloc(&dy, static_cast<size_t>(M) * N * 4)); CK(cudaMalloc(&dy16, static_cast<size_t>(M) * N * 4));
  CK(cudaMemcpy(dc, codes.data(), codes.size(), cudaMemcpyHostToDevice));
  CK(cudaMemcpy(dz, zps.data(), zps.size(), cudaMemcpyHostToDevice));
  CK(cudaMemcpy(ds, sc.data(), sc.size() * 4, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(dx, x.data(), x.size() * 2, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(dw16, w16.data(), w16.size() * 2, cudaMemcpyHostToDevice));
  const bool gemv = M <= 8;
  auto q4 = [&] {
    if (gemv)
      gemv_q4_kernel<half, 8, B, float, float><<<dim3((N + kGemvQ4Warps - 1) / kGemvQ4Warps), dim3(32 * kGemvQ4Warps)>>>(dx, M, K, dc, ds, zp ? dz : nullptr,
                                                                                                                      nullptr, N, dy);
    else
      gemm_q4_kernel<8, B, float, float><<<dim3((N + 31) / 32), dim3(32 * kGemmQ4Warps)>>>(dx, M, K, dc, ds, zp ? dz : nullptr, nullptr, N, dy);
  };
  auto f16 = [&] {
    if (gemv) gemv_kernel<half, 8, float><<<dim3((N + kGemvWarps - 1) / kGemvWarps), dim3(32 * kGemvWarps)>>>(dx, M, K, dw16, nullptr, N, dy16);
    else gemm_f16(blas, dx, M, K, dw16, N, dy16);
  };
  auto dequant_blas = [&] {  // the backend's path for M > 8 until gemm_q4 is wired
    const int64_t threads = static_cast<int64_t>(N) * ((K + 7) / 8);
    dequant_q4_kernel<half, B, float><<<static_cast<unsigned>((threads + 255) / 256), 256>>>(dc, ds, zp ? dz : nullptr, N, K, dscratch);
    gemm_f16(blas, dx, M, K, dscratch, N, dy16);
  };
  q4();
  CK(cudaDeviceSynchronize());
  CK(cudaGetLastError());
  std::vector<float> y(static_cast<size_t>(M) * N);
  CK(cudaMemcpy(y.data(), dy, y.size() * 4, cudaMemcpyDeviceToHost));
  // Every output row for the GEMV; a spread of 257 weight rows (and all their x rows) for larger M.
  const int stride = gemv ? 1 : std::max(1, N / 257);
  double err = 0, mag = 0;
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; n += stride) {
      double ref = 0;
      for (int k = 0; k < K; ++k) {
        const int b = k / B, j = k % B;
        const int q = (codes[(static_cast<size_t>(n) * nb + b) * (B / 2) + j / 2] >> (4 * (j & 1))) & 15;
        const int z = zp ? (zps[static_cast<size_t>(n) * ((nb + 1) / 2) + b / 2] >> (4 * (b & 1))) & 15 : 8;
        ref += static_cast<double>(__half2float(x[static_cast<size_t>(m) * K + k])) * ((q - z) * static_cast<double>(sc[static_cast<size_t>(n) * nb + b]));
      }
      err = std::fmax(err, std::fabs(ref - y[static_cast<size_t>(m) * N + n]));
      mag = std::fmax(mag, std::fabs(ref));
    }
  const double us = time_us(q4), us16 = time_us(f16), usdq = gemv ? 0 : time_us(dequant_blas);
  CK(cudaGetLastError());
  const double ybytes = static_cast<double>(M) * N * 4, bytes = codes.size() + sc.size() * 4.0 + (zp ? zps.size() : 0) + x.size() * 2.0 + ybytes,
               bytes16 = w16.size() * 2.0 + x.size() * 2.0 + ybytes;
  printf("{\"N\": %d, \"K\": %d, \"M\": %d, \"block\": %d, \"zero_points\": %s, \"path\": \"%s\", \"q4_us\": %.2f, \"q4_tbps\": %.3f, "
         "\"roofline_pct\": %.1f, \"f16_us\": %.2f, \"f16_tbps\": %.3f, \"speedup\": %.2f, \"dequant_cublas_us\": %.2f, \"copy_tbps\": %.3f, "
         "\"rel_err\": %.2e}\n",
         N, K, M, B, zp ? "true" : "false", gemv ? "gemv_q4" : "gemm_q4", us, bytes / us / 1e6, 100.0 * bytes / us / 1e6 / roof, us16, bytes16 / us16 / 1e6,
         us16 / us, usdq, roof, err / (mag > 0 ? mag : 1));
  fflush(stdout);
  cudaFree(dc); cudaFree(dz); cudaFree(ds); cudaFree(dx); cudaFree(dw16); cudaFree(dscratch); cudaFree(dy); cudaFree(dy16);
  return err / (mag > 0 ? mag : 1) < 1e-3 ? 0 : 2;
}

int main() {
  cublasHandle_t blas;
  if (cublasCreate(&blas) != CUBLAS_STATUS_SUCCESS) return 1;
  const double roof = copy_tbps();
  int rc = 0;
  // TinyLlama-1.1B's projections (qkv 2560x2048, o 2048x2048, gate|up 11264x2048, down 2048x5632, lm_head
  // 32000x2048), SmolLM2-135M's down (576x1536, K not a multiple of 256), a K that is not a multiple of 32.
  const int shapes[][2] = {{2560, 2048}, {2048, 2048}, {11264, 2048}, {2048, 5632}, {32000, 2048}, {576, 1536}, {96, 200}};
  for (auto& s : shapes)
    for (int M : {1, 8, 64}) rc |= run<32>(blas, roof, s[0], s[1], M, false);
  rc |= run<128>(blas, roof, 2048, 5632, 1, true);
  rc |= run<128>(blas, roof, 2048, 5632, 64, true);
  rc |= run<32>(blas, roof, 11264, 2048, 16, true);
  rc |= run<64>(blas, roof, 96, 200, 3, true);
  rc |= run<64>(blas, roof, 96, 200, 37, true);
  cublasDestroy(blas);
  return rc;
}
