// CUDA greedy sampling: argmax of each logits row on the device, so that only token ids come back.
#pragma once
#include "templates/cuda/common.cuh"

namespace tsc::cuda {

// grid: R blocks of 256 threads; ids[r] = argmax_j logits[r, j], ties to the lowest id (the CPU rule).
__global__ void argmax_kernel(const float* logits, int32_t V, int32_t* ids) {
  __shared__ float best_v[32];
  __shared__ int32_t best_i[32];
  const float* row = logits + static_cast<int64_t>(blockIdx.x) * V;
  float bv = -INFINITY;
  int32_t bi = 0x7fffffff;
  for (int32_t j = threadIdx.x; j < V; j += blockDim.x) {
    const float v = row[j];
    if (v > bv || (v == bv && j < bi)) { bv = v; bi = j; }
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
