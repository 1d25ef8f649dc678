// CUDA greedy sampling: argmax of each logits row on the device, so that only token ids come back.
#pragma once
#include "templates/cuda/common.cuh"

namespace tsc::cuda {

// grid: R blocks of 1024 threads; ids[r] = argmax_j logits[r, j], ties to the lowest id (the CPU rule).
// Each thread scans a strided quarter-unrolled slice so that many loads are in flight.
__global__ void argmax_kernel(const float* logits, int32_t V, int32_t* ids) {
  __shared__ float best_v[32];
  __shared__ int32_t best_i[32];
  const float* row = logits + static_cast<int64_t>(blockIdx.x) * V;
  float bv = -INFINITY;
  int32_t bi = 0x7fffffff;
  const int32_t step = blockDim.x;
  int32_t j = threadIdx.x;
  for (; j + 3 * step < V; j += 4 * step) {
    const float v0 = row[j], v1 = row[j + step], v2 = row[j + 2 * step], v3 = row[j + 3 * step];
    if (v0 > bv) { bv = v0; bi = j; }
    if (v1 > bv) { bv = v1; bi = j + step; }
    if (v2 > bv) { bv = v2; bi = j + 2 * step; }
    if (v3 > bv) { bv = v3; bi = j + 3 * step; }
  }
  for (; j < V; j += step) {
    const float v = row[j];
    if (v > bv) { bv = v; bi = j; }
  }
  for (int o = 16; o > 0; o >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, bv, o);
    const int32_t oi = __shfl_xor_sync(0xffffffffu, bi, o);
    if (ov > bv || (ov == bv && oi < bi)) { bv = ov; bi = oi; }
  }
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) { best_v[warp] = bv; best_i[warp] = bi; }
  __syncthreads();
  if (warp == 0) {
    const int nw = blockDim.x >> 5;
    bv = lane < nw ? best_v[lane] : -INFINITY;
    bi = lane < nw ? best_i[lane] : 0x7fffffff;
    for (int o = 16; o > 0; o >>= 1) {
      const float ov = __shfl_xor_sync(0xffffffffu, bv, o);
      const int32_t oi = __shfl_xor_sync(0xffffffffu, bi, o);
      if (ov > bv || (ov == bv && oi < bi)) { bv = ov; bi = oi; }
    }
    if (lane == 0) ids[blockIdx.x] = bi == 0x7fffffff ? 0 : bi;
  }
}

}  // namespace tsc::cuda
