// CUDA prefill attention, FlashAttention-2 style: causal attention of a chunk of new tokens over the
// sequence's paged cache (the chunk's own keys appended beforehand) on mma.sync tensor cores. Each warp owns
// MT m-tiles of 16 query rows; its scores, probabilities and output stay in registers (the score accumulators
// become the P·V operand without leaving them); 64-key K/V tiles are gathered through the page table with
// cp.async, double-buffered, and read by ldmatrix from padded rows. Head dims: multiples of 16 up to 128.
#pragma once
#include "templates/cuda/common.cuh"
#include "templates/cuda/kernel_table.h"
#include "templates/cuda/mma.cuh"
#include "templates/cuda/prefill_attention.cuh"  // PrefillTile

namespace tsc::cuda {

constexpr int kFlashKeys = 64;      // keys per tile
constexpr int kFlashThreads = 128;  // 4 warps

template <int D>
__host__ __device__ constexpr bool prefill_uses_flash() { return D % 16 == 0 && D <= 128; }

// Queries per block: each of the 4 warps owns MT m-tiles of 16 rows (MT = 2 halves the shared-memory reads
// per tensor-core product: one K or V fragment feeds both m-tiles).
template <int MT>
__host__ __device__ constexpr int flash_rows() { return 4 * 16 * MT; }

// Shared memory: the Q tile and two K and two V tiles, each row padded by 16 bytes so that the 8 rows an
// ldmatrix reads fall in different banks.
template <int D, int MT>
constexpr size_t prefill_flash_smem_bytes() { return static_cast<size_t>(flash_rows<MT>() + 4 * kFlashKeys) * (D + 8) * 2; }

// grid: (ceil(max_q_len / flash_rows<MT>()), hq, num_seqs); the last query tiles (the most keys) start first.
template <typename T, int D, int PS, int GROUP, int MT>
__global__ void __launch_bounds__(kFlashThreads) prefill_flash_kernel(PrefillArgs a, KvLayerDev kv) {
  static_assert(prefill_uses_flash<D>(), "head_dim must be a multiple of 16, at most 128");
  constexpr int ROWS = flash_rows<MT>();
  constexpr int S = D + 8;            // padded row, elements
  constexpr int CPR = D / 8;          // 16-byte chunks per row
  constexpr int NT = kFlashKeys / 8;  // score n-tiles (8 keys each) per m-tile
  constexpr int ND = D / 8;           // output n-tiles (8 channels each) per m-tile
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* Qs = reinterpret_cast<T*>(smem_raw);  // [ROWS][S]
  T* Ks = Qs + ROWS * S;                   // [2][64][S]
  T* Vs = Ks + 2 * kFlashKeys * S;         // [2][64][S]

  const int qt = gridDim.x - 1 - blockIdx.x, qh = blockIdx.y, sq = blockIdx.z;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  PrefillTile tile;
  if (!tile.init(a, qt, sq, ROWS)) return;
  const auto [q0, q_rows, kv_start, row0, kmax, pt] = tile;
  const int kvh = qh / GROUP, hkv = kv.num_kv_heads;
  const int ntiles = kmax / kFlashKeys + 1;
  const T* kbase = static_cast<const T*>(kv.k);
  const T* vbase = static_cast<const T*>(kv.v);

  // Q tile: rows past the chunk are zero (their results are never stored).
  for (int i = tid; i < ROWS * CPR; i += kFlashThreads) {
    const int r = i / CPR, c = (i % CPR) * 8;
    const bool ok = r < q_rows;
    cp_async16_zfill(Qs + r * S + c, static_cast<const T*>(a.q) + static_cast<int64_t>(row0 + q0 + (ok ? r : 0)) * a.q_stride + qh * D + c, ok);
  }
  // K and V tile t into buffer b, gathered through the page table; keys past kmax are zero.
  auto load_tile = [&](int t, int b) {
    T* kd = Ks + b * kFlashKeys * S;
    T* vd = Vs + b * kFlashKeys * S;
    for (int i = tid; i < kFlashKeys * CPR; i += kFlashThreads) {
      const int r = i / CPR, c = (i % CPR) * 8, j = t * kFlashKeys + r;
      const bool ok = j <= tile.kmax;  // (tile, not the bindings: C++17 lambdas cannot capture those)
      const int jj = ok ? j : 0;
      const int64_t off = ((static_cast<int64_t>(tile.pt[jj / PS]) * hkv + kvh) * PS + jj % PS) * D + c;
      cp_async16_zfill(kd + r * S + c, kbase + off, ok);
      cp_async16_zfill(vd + r * S + c, vbase + off, ok);
    }
  };
  load_tile(0, 0);
  cp_async_commit();  // group: Q and tile 0

  const int mi = lane >> 3, r8 = lane & 7;       // ldmatrix: which 8x8 matrix this lane addresses, and its row
  const int rlo = lane >> 2, cq = (lane & 3) * 2;  // accumulator rows rlo and rlo + 8, columns cq and cq + 1
  const int wrow = q0 + warp * 16 * MT;            // this warp's first query row in the chunk
  const float sl2 = a.scale * 1.4426950408889634f;  // scores in log2 units: exp2 instead of exp
  // Scaled (and soft-capped, Gemma 2) score in log2 units; without a cap the one multiply it always was.
  auto score2 = [&](float x) { return a.softcap > 0.f ? softcap_score(x * a.scale, a.softcap) * 1.4426950408889634f : x * sl2; };
  uint32_t qf[MT][D / 16][4];
  float o[MT][ND][4];
  // Running max (log2 units) and per-lane partial sums of rows rlo (index 0) and rlo + 8 (index 1) of each m-tile.
  float m[MT][2], l[MT][2];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt) {
    m[mt][0] = m[mt][1] = -INFINITY;
    l[mt][0] = l[mt][1] = 0.f;
#pragma unroll
    for (int n = 0; n < ND; ++n) o[mt][n][0] = o[mt][n][1] = o[mt][n][2] = o[mt][n][3] = 0.f;
  }

  for (int t = 0; t < ntiles; ++t) {
    const int b = t & 1;
    if (t + 1 < ntiles) load_tile(t + 1, b ^ 1);
    cp_async_commit();
    cp_async_wait<1>();  // tile t (and Q) landed; tile t + 1 may still be in flight
    __syncthreads();
    if (t == 0) {
#pragma unroll
      for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int kk = 0; kk < D / 16; ++kk)
          ldmatrix_x4(qf[mt][kk], Qs + (warp * 16 * MT + mt * 16 + (mi & 1) * 8 + r8) * S + kk * 16 + (mi >> 1) * 8);
    }
    const int j0 = t * kFlashKeys;
    if (j0 <= kv_start + wrow + 16 * MT - 1) {  // warp-uniform: some key of the tile is visible to some row of the warp
      // S = Q K^T: 16 x 64 per m-tile; one K fragment feeds every m-tile.
      float s[MT][NT][4];
#pragma unroll
      for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int n = 0; n < NT; ++n) s[mt][n][0] = s[mt][n][1] = s[mt][n][2] = s[mt][n][3] = 0.f;
      const T* kt = Ks + b * kFlashKeys * S;
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
#pragma unroll
        for (int np = 0; np < NT / 2; ++np) {
          uint32_t f[4];
          ldmatrix_x4(f, kt + (np * 16 + (mi >> 1) * 8 + r8) * S + kk * 16 + (mi & 1) * 8);
#pragma unroll
          for (int mt = 0; mt < MT; ++mt) {
            mma_16816<T>(s[mt][2 * np], qf[mt][kk], f[0], f[1]);
            mma_16816<T>(s[mt][2 * np + 1], qf[mt][kk], f[2], f[3]);
          }
        }
      }
      // Causal mask (only tiles that reach past an m-tile's first row need it), online softmax in log2 units.
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
        const int first = kv_start + wrow + mt * 16;  // position of the m-tile's first row
        const bool diag = j0 + kFlashKeys - 1 > first;
        const int qpos0 = first + rlo, qpos1 = qpos0 + 8;
        float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
        for (int n = 0; n < NT; ++n) {
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            const int j = j0 + n * 8 + cq + e;
            s[mt][n][e] = (diag && j > qpos0) ? -INFINITY : score2(s[mt][n][e]);
            s[mt][n][2 + e] = (diag && j > qpos1) ? -INFINITY : score2(s[mt][n][2 + e]);
            mx0 = fmaxf(mx0, s[mt][n][e]);
            mx1 = fmaxf(mx1, s[mt][n][2 + e]);
          }
        }
        mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 1));
        mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 2));
        mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 1));
        mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 2));
        // Key 0 is visible to every row, so after tile 0 each row's max is finite; an m-tile whose rows see
        // none of this tile's keys keeps its max (exp2(-inf) = 0 adds nothing).
        const float n0 = fmaxf(m[mt][0], mx0), n1 = fmaxf(m[mt][1], mx1);
        const float c0 = exp2f(m[mt][0] - n0), c1 = exp2f(m[mt][1] - n1);
        m[mt][0] = n0;
        m[mt][1] = n1;
        float sum0 = 0.f, sum1 = 0.f;
#pragma unroll
        for (int n = 0; n < NT; ++n) {
          s[mt][n][0] = exp2f(s[mt][n][0] - n0);
          s[mt][n][1] = exp2f(s[mt][n][1] - n0);
          s[mt][n][2] = exp2f(s[mt][n][2] - n1);
          s[mt][n][3] = exp2f(s[mt][n][3] - n1);
          sum0 += s[mt][n][0] + s[mt][n][1];
          sum1 += s[mt][n][2] + s[mt][n][3];
        }
        l[mt][0] = l[mt][0] * c0 + sum0;
        l[mt][1] = l[mt][1] * c1 + sum1;
#pragma unroll
        for (int n = 0; n < ND; ++n) {
          o[mt][n][0] *= c0;
          o[mt][n][1] *= c0;
          o[mt][n][2] *= c1;
          o[mt][n][3] *= c1;
        }
      }
      // O += P V: the score accumulators of keys 16kk..16kk+15 are the A fragment of step kk; one V
      // fragment feeds every m-tile.
      const T* vt = Vs + b * kFlashKeys * S;
#pragma unroll
      for (int kk = 0; kk < kFlashKeys / 16; ++kk) {
        uint32_t pa[MT][4];
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
          pa[mt][0] = pack2<T>(s[mt][2 * kk][0], s[mt][2 * kk][1]);
          pa[mt][1] = pack2<T>(s[mt][2 * kk][2], s[mt][2 * kk][3]);
          pa[mt][2] = pack2<T>(s[mt][2 * kk + 1][0], s[mt][2 * kk + 1][1]);
          pa[mt][3] = pack2<T>(s[mt][2 * kk + 1][2], s[mt][2 * kk + 1][3]);
        }
#pragma unroll
        for (int dp = 0; dp < ND / 2; ++dp) {
          uint32_t f[4];
          ldmatrix_x4_trans(f, vt + (kk * 16 + (mi & 1) * 8 + r8) * S + dp * 16 + (mi >> 1) * 8);
#pragma unroll
          for (int mt = 0; mt < MT; ++mt) {
            mma_16816<T>(o[mt][2 * dp], pa[mt], f[0], f[1]);
            mma_16816<T>(o[mt][2 * dp + 1], pa[mt], f[2], f[3]);
          }
        }
      }
    }
    __syncthreads();  // every warp is done with buffer b before tile t + 2 is copied into it
  }
  // The row sums were kept per lane; the 4 lanes of a row hold its parts.
  T* out = static_cast<T*>(a.out) + static_cast<int64_t>(row0) * a.out_stride + qh * D + cq;
#pragma unroll
  for (int mt = 0; mt < MT; ++mt) {
    float l0 = l[mt][0], l1 = l[mt][1];
    l0 += __shfl_xor_sync(0xffffffffu, l0, 1);
    l0 += __shfl_xor_sync(0xffffffffu, l0, 2);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 1);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 2);
    const float inv0 = 1.f / l0, inv1 = 1.f / l1;
    const int r_a = wrow + mt * 16 + rlo, r_b = r_a + 8;
#pragma unroll
    for (int n = 0; n < ND; ++n) {
      if (r_a < q0 + q_rows) *reinterpret_cast<uint32_t*>(out + static_cast<int64_t>(r_a) * a.out_stride + n * 8) = pack2<T>(o[mt][n][0] * inv0, o[mt][n][1] * inv0);
      if (r_b < q0 + q_rows) *reinterpret_cast<uint32_t*>(out + static_cast<int64_t>(r_b) * a.out_stride + n * 8) = pack2<T>(o[mt][n][2] * inv1, o[mt][n][3] * inv1);
    }
  }
}

}  // namespace tsc::cuda
