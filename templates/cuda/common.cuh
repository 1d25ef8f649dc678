// Shared device helpers of the CUDA kernel templates: element types, 16-byte vector access, reductions.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>

namespace tsc::cuda {

// GELU with the tanh approximation (GPT-2's MLP, Gemma's GeGLU gate).
// Gemma 2's attention logit soft-cap of a scaled score s: c tanh(s / c); c = 0: none (s itself, bit for bit).
__device__ __forceinline__ float softcap_score(float s, float c) { return c > 0.f ? c * tanhf(s / c) : s; }
__device__ __forceinline__ float gelu_tanh(float v) { return 0.5f * v * (1.f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v))); }

// Element type traits: storage type T (half or __nv_bfloat16) <-> float.
template <typename T> struct Elem;
template <> struct Elem<half> {
  static constexpr bool kIsHalf = true;
  static __device__ __forceinline__ float to_float(half x) { return __half2float(x); }
  static __device__ __forceinline__ half from_float(float x) { return __float2half_rn(x); }
  static __device__ __forceinline__ half round_down(float x) { return __float2half_rd(x); }
  static __device__ __forceinline__ half round_up(float x) { return __float2half_ru(x); }
};
template <> struct Elem<__nv_bfloat16> {
  static constexpr bool kIsHalf = false;
  static __device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
  static __device__ __forceinline__ __nv_bfloat16 from_float(float x) { return __float2bfloat16_rn(x); }
  static __device__ __forceinline__ __nv_bfloat16 round_down(float x) { return __float2bfloat16_rd(x); }
  static __device__ __forceinline__ __nv_bfloat16 round_up(float x) { return __float2bfloat16_ru(x); }
};
// float rows read by the same templates (the f32 residual stream).
template <> struct Elem<float> {
  static constexpr bool kIsHalf = false;
  static __device__ __forceinline__ float to_float(float x) { return x; }
  static __device__ __forceinline__ float from_float(float x) { return x; }
};

// Cache-hinted global loads, written as the PTX that CUDA's sm_32_intrinsics.hpp emits for __ldcg(float*) and
// __ldcs(uint4*): clang's CUDA headers leave sm_32_intrinsics out, so the templates spell them for both compilers.
// ld.global.cg: cache in L2 only (values another block of this grid wrote); ld.global.cs: streaming, evict first.
__device__ __forceinline__ float load_cg(const float* p) {
  float r;
  asm volatile("ld.global.cg.f32 %0, [%1];" : "=f"(r) : "l"(p));
  return r;
}
__device__ __forceinline__ uint4 load_cs(const uint4* p) {
  uint4 r;
  asm volatile("ld.global.cs.v4.u32 {%0,%1,%2,%3}, [%4];" : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w) : "l"(p));
  return r;
}

// Bitwise AND / OR of v over the full warp (redux.sync, sm_80+). Spelled in PTX for both compilers: clang-19's
// __reduce_and_sync / __reduce_or_sync hand their operands to the builtin in the wrong order, so the value became
// the member mask, an illegal instruction on the GPU whenever it was not all ones.
__device__ __forceinline__ unsigned warp_and(unsigned v) {
  unsigned r;
  asm volatile("redux.sync.and.b32 %0, %1, 0xffffffff;" : "=r"(r) : "r"(v));
  return r;
}
__device__ __forceinline__ unsigned warp_or(unsigned v) {
  unsigned r;
  asm volatile("redux.sync.or.b32 %0, %1, 0xffffffff;" : "=r"(r) : "r"(v));
  return r;
}

// 8 elements of a 16-bit type in one 16-byte access.
template <typename T>
struct alignas(16) Vec8 {
  T v[8];
};

template <typename T>
__device__ __forceinline__ void load8(const T* p, float out[8]) {
  const uint4 raw = *reinterpret_cast<const uint4*>(p);  // one 16-byte load
  const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
  for (int i = 0; i < 8; ++i) out[i] = Elem<T>::to_float(e[i]);
}

template <typename T>
__device__ __forceinline__ void store8(T* p, const float in[8]) {
  uint4 raw;
  T* e = reinterpret_cast<T*>(&raw);
#pragma unroll
  for (int i = 0; i < 8; ++i) e[i] = Elem<T>::from_float(in[i]);
  *reinterpret_cast<uint4*>(p) = raw;
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
// A GEMV warp's epilogue: each row's partial sums across the warp, plus the bias, stored by lane 0 as float
// (LM head logits) or in the weight type. acc[MAX_M] per lane; y[M, N] row-major; n the warp's output column.
template <typename T, int MAX_M, typename OutT>
__device__ __forceinline__ void store_gemv_rows(const float (&acc)[MAX_M], int32_t M, int lane, const float* bias, int64_t n,
                                                int32_t N, OutT* y) {
#pragma unroll
  for (int m = 0; m < MAX_M; ++m) {
    if (m >= M) break;
    const float v = warp_sum(acc[m]);
    if (lane == 0) {
      const float o = v + (bias ? bias[n] : 0.f);
      if constexpr (sizeof(OutT) == 4) y[static_cast<int64_t>(m) * N + n] = o;
      else y[static_cast<int64_t>(m) * N + n] = Elem<T>::from_float(o);
    }
  }
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Block-wide sum over up to 32 warps; every thread gets the result. `red` holds 32 floats.
__device__ __forceinline__ float block_sum(float v, float* red) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
  v = warp_sum(v);
  __syncthreads();
  if (lane == 0) red[warp] = v;
  __syncthreads();
  v = lane < nw ? red[lane] : 0.f;
  return warp_sum(v);
}

// Programmatic dependent launch (Hopper): a kernel launched with the PDL attribute may start while the one
// before it finishes; it must wait before reading that kernel's outputs. Kernels that precede such a
// kernel let it launch early. No-ops before sm_90.
__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}
__device__ __forceinline__ void pdl_launch_dependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;");
#endif
}

// Asynchronous 16-byte global -> shared copies (sm_80+): many in flight per thread, completed by group.
__device__ __forceinline__ void cp_async16(void* smem, const void* gmem) {
  const uint32_t s = static_cast<uint32_t>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(s), "l"(gmem) : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }
// Waits until at most N of this thread's committed groups are still in flight.
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;" ::"n"(N) : "memory"); }

// Float -> uint32 preserving order (for radix selection of scores).
__device__ __forceinline__ uint32_t ordered_bits(float f) {
  const uint32_t u = __float_as_uint(f);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

}  // namespace tsc::cuda
