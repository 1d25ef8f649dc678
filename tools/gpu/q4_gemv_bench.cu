// Standalone check and timing of the 4-bit GEMV (templates/cuda/gemv_q4.cuh) against a float64 reference of the
// dequantized weights, beside the fp16 GEMV (gemv.cuh) on the same shape: one JSON line per shape and batch.
// Build: nvcc -std=c++17 -O3 -arch=sm_90 -I. tools/gpu/q4_gemv_bench.cu -o q4_gemv_bench   (tools/gpu/check.py q4)
#include <cuda_fp16.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "templates/cuda/gemv.cuh"
#include "templates/cuda/gemv_q4.cuh"

using namespace tsc::cuda;

#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { fprintf(stderr, "%s: %s\n", #x, cudaGetErrorString(e)); return 1; } } while (0)

template <int B>
int run(int N, int K, int M, bool zp) {
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
  half *dx, *dw16;
  CK(cudaMalloc(&dc, codes.size())); CK(cudaMalloc(&dz, zps.size())); CK(cudaMalloc(&ds, sc.size() * 4));
  CK(cudaMalloc(&dx, x.size() * 2)); CK(cudaMalloc(&dw16, w16.size() * 2));
  CK(cudaMalloc(&dy, static_cast<size_t>(M) * N * 4)); CK(cudaMalloc(&dy16, static_cast<size_t>(M) * N * 4));
  CK(cudaMemcpy(dc, codes.data(), codes.size(), cudaMemcpyHostToDevice));
  CK(cudaMemcpy(dz, zps.data(), zps.size(), cudaMemcpyHostToDevice));
  CK(cudaMemcpy(ds, sc.data(), sc.size() * 4, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(dx, x.data(), x.size() * 2, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(dw16, w16.data(), w16.size() * 2, cudaMemcpyHostToDevice));
  const dim3 grid((N + kGemvQ4Warps - 1) / kGemvQ4Warps), block(32 * kGemvQ4Warps);
  auto q4 = [&] { gemv_q4_kernel<half, 8, B, float, float><<<grid, block>>>(dx, M, K, dc, ds, zp ? dz : nullptr, nullptr, N, dy); };
  auto f16 = [&] { gemv_kernel<half, 8, float><<<dim3((N + kGemvWarps - 1) / kGemvWarps), dim3(32 * kGemvWarps)>>>(dx, M, K, dw16, nullptr, N, dy16); };
  q4();
  CK(cudaDeviceSynchronize());
  std::vector<float> y(static_cast<size_t>(M) * N);
  CK(cudaMemcpy(y.data(), dy, y.size() * 4, cudaMemcpyDeviceToHost));
  double err = 0, mag = 0;
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) {
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
  auto time = [&](auto&& f) {
    cudaEvent_t a, b;
    cudaEventCreate(&a);
    cudaEventCreate(&b);
    for (int i = 0; i < 10; ++i) f();
    cudaEventRecord(a);
    for (int i = 0; i < 200; ++i) f();
    cudaEventRecord(b);
    cudaEventSynchronize(b);
    float ms = 0;
    cudaEventElapsedTime(&ms, a, b);
    return ms * 1e3 / 200;
  };
  const double us = time(q4), us16 = time(f16);
  const double bytes = codes.size() + sc.size() * 4.0 + (zp ? zps.size() : 0) + x.size() * 2.0, bytes16 = w16.size() * 2.0 + x.size() * 2.0;
  printf("{\"N\": %d, \"K\": %d, \"M\": %d, \"block\": %d, \"zero_points\": %s, \"q4_us\": %.2f, \"q4_tbps\": %.3f, \"f16_us\": %.2f, "
         "\"f16_tbps\": %.3f, \"speedup\": %.2f, \"rel_err\": %.2e}\n",
         N, K, M, B, zp ? "true" : "false", us, bytes / us / 1e6, us16, bytes16 / us16 / 1e6, us16 / us, err / (mag > 0 ? mag : 1));
  cudaFree(dc); cudaFree(dz); cudaFree(ds); cudaFree(dx); cudaFree(dw16); cudaFree(dy); cudaFree(dy16);
  return err / (mag > 0 ? mag : 1) < 1e-3 ? 0 : 2;
}

int main() {
  int rc = 0;
  // TinyLlama-1.1B's projections (qkv 2560x2048, o 2048x2048, gate|up 11264x2048, down 2048x5632, lm_head
  // 32000x2048), SmolLM2-135M's down (576x1536, K not a multiple of 256), a K that is not a multiple of 32.
  const int shapes[][2] = {{2560, 2048}, {2048, 2048}, {11264, 2048}, {2048, 5632}, {32000, 2048}, {576, 1536}, {96, 200}};
  for (auto& s : shapes)
    for (int M : {1, 8}) rc |= run<32>(s[0], s[1], M, false);
  rc |= run<128>(2048, 5632, 1, true);
  rc |= run<64>(96, 200, 3, true);
  return rc;
}
