// CUDA prefill attention on tensor cores: causal attention of a chunk of new tokens over the sequence's
// paged cache (the chunk's own keys included, appended beforehand), flash-style with an online softmax.
// Tiles of 64 queries x 64 keys; WMMA 16x16x16 products (fp16/bf16 in, fp32 accumulate).
#pragma once
#include <mma.h>

#include "templates/cuda/common.cuh"
#include "templates/cuda/kernel_table.h"

namespace tsc::cuda {

constexpr int kPrefillTile = 64;     // queries per block and keys per step
constexpr int kPrefillThreads = 128;  // 4 warps x 16 query rows

// Head dims pad to the tensor-core tile (16); padded channels are zero in Q and K and ignored in O.
template <int D>
__host__ __device__ constexpr int padded_head_dim() { return (D + 15) / 16 * 16; }

template <int D>
constexpr size_t prefill_smem_bytes() {
  // Q, K, V tiles (16-bit), per-warp scores (float, 16 x max(64, DP)), probabilities (16-bit), O (float),
  // row max / sum.
  constexpr int DP = padded_head_dim<D>();
  return 3 * kPrefillTile * DP * 2 + 4 * 16 * (DP > 64 ? DP : 64) * 4 + 4 * 16 * kPrefillTile * 2 + kPrefillTile * DP * 4 +
         2 * kPrefillTile * 4;
}

// One prefill block's share: 64 queries (tile qt) of sequence sq and the keys they may see.
struct PrefillTile {
  int q0, q_rows, kv_start, row0, kmax;  // first query (chunk row), queries, cached tokens before the chunk, its row, last key
  const int32_t* pt;                     // the sequence's page table
  // False when the tile lies past the sequence's chunk (the block has nothing to do).
  __device__ bool init(const PrefillArgs& a, int qt, int sq, int tile) {
    const int q_len = a.q_len[sq];
    q0 = qt * tile;
    if (q0 >= q_len) return false;
    kv_start = a.kv_start[sq];
    row0 = a.q_start[sq];
    pt = a.page_table + static_cast<int64_t>(sq) * a.max_pages;
    q_rows = min(tile, q_len - q0);
    kmax = kv_start + q0 + q_rows - 1;
    return true;
  }
};

// grid: (ceil(max_q_len / 64), hq, num_seqs).
template <typename T, int D, int PS, int GROUP>
__global__ void __launch_bounds__(kPrefillThreads) prefill_attention_kernel(PrefillArgs a, KvLayerDev kv) {
  using namespace nvcuda;
  static_assert(D % 8 == 0, "head_dim must be a multiple of 8 (16-byte rows)");
  constexpr int DP = padded_head_dim<D>();
  constexpr int SW = DP > 64 ? DP : 64;  // per-warp scratch row width
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* Qs = reinterpret_cast<T*>(smem_raw);
  T* Ks = Qs + kPrefillTile * DP;
  T* Vs = Ks + kPrefillTile * DP;
  float* Sw_all = reinterpret_cast<float*>(Vs + kPrefillTile * DP);
  T* Pw_all = reinterpret_cast<T*>(Sw_all + 4 * 16 * SW);
  float* Os = reinterpret_cast<float*>(Pw_all + 4 * 16 * kPrefillTile);
  float* row_m = Os + kPrefillTile * DP;
  float* row_l = row_m + kPrefillTile;

  const int qt = blockIdx.x, qh = blockIdx.y, sq = blockIdx.z;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  PrefillTile tile;
  if (!tile.init(a, qt, sq, kPrefillTile)) return;
  const auto [q0, q_rows, kv_start, row0, kmax, pt] = tile;
  const int kvh = qh / GROUP, hkv = kv.num_kv_heads;

  // Q tile, zero-padded.
  for (int i = tid; i < kPrefillTile * DP / 8; i += kPrefillThreads) {
    const int r = i / (DP / 8), c = (i % (DP / 8)) * 8;
    uint4 v = make_uint4(0, 0, 0, 0);
    if (r < q_rows && c < D)
      v = *reinterpret_cast<const uint4*>(static_cast<const T*>(a.q) + static_cast<int64_t>(row0 + q0 + r) * a.q_stride + qh * D + c);
    *reinterpret_cast<uint4*>(Qs + r * DP + c) = v;
  }
  for (int i = tid; i < kPrefillTile * DP; i += kPrefillThreads) Os[i] = 0.f;
  for (int i = tid; i < kPrefillTile; i += kPrefillThreads) {
    row_m[i] = -INFINITY;
    row_l[i] = 0.f;
  }
  float* Sw = Sw_all + warp * 16 * SW;
  T* Pw = Pw_all + warp * 16 * kPrefillTile;
  const T* kbase = static_cast<const T*>(kv.k);
  const T* vbase = static_cast<const T*>(kv.v);

  for (int j0 = 0; j0 <= kmax; j0 += kPrefillTile) {
    __syncthreads();
    // K and V tiles gathered through the page table, zero past kmax.
    for (int i = tid; i < kPrefillTile * DP / 8; i += kPrefillThreads) {
      const int r = i / (DP / 8), c = (i % (DP / 8)) * 8, j = j0 + r;
      uint4 kvv = make_uint4(0, 0, 0, 0), vvv = make_uint4(0, 0, 0, 0);
      if (j <= kmax && c < D) {
        const int64_t off = ((static_cast<int64_t>(pt[j / PS]) * hkv + kvh) * PS + j % PS) * D + c;
        kvv = *reinterpret_cast<const uint4*>(kbase + off);
        vvv = *reinterpret_cast<const uint4*>(vbase + off);
      }
      *reinterpret_cast<uint4*>(Ks + r * DP + c) = kvv;
      *reinterpret_cast<uint4*>(Vs + r * DP + c) = vvv;
    }
    __syncthreads();
    // S = Q_w K^T: 16 x 64 per warp.
    {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> c[4];
#pragma unroll
      for (int n = 0; n < 4; ++n) wmma::fill_fragment(c[n], 0.f);
#pragma unroll
      for (int k = 0; k < DP / 16; ++k) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> fa;
        wmma::load_matrix_sync(fa, Qs + warp * 16 * DP + k * 16, DP);
#pragma unroll
        for (int n = 0; n < 4; ++n) {
          wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> fb;
          wmma::load_matrix_sync(fb, Ks + n * 16 * DP + k * 16, DP);
          wmma::mma_sync(c[n], fa, fb, c[n]);
        }
      }
#pragma unroll
      for (int n = 0; n < 4; ++n) wmma::store_matrix_sync(Sw + n * 16, c[n], SW, wmma::mem_row_major);
    }
    __syncwarp();
    // Online softmax: two lanes per row, 32 columns each.
    {
      const int r = lane >> 1, half = lane & 1, qrow = warp * 16 + r;
      const int qpos = kv_start + q0 + qrow;
      const bool valid_row = qrow < q_rows;
      float sv[32], mx = -INFINITY;
#pragma unroll
      for (int i = 0; i < 32; ++i) {
        const int col = half * 32 + i, j = j0 + col;
        const float s = (valid_row && j <= qpos) ? softcap_score(Sw[r * SW + col] * a.scale, a.softcap) : -INFINITY;
        sv[i] = s;
        mx = fmaxf(mx, s);
      }
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
      const float m_old = row_m[qrow];
      const float m_new = fmaxf(m_old, mx);
      const float corr = (m_old == -INFINITY) ? 0.f : __expf(m_old - m_new);
      float sum = 0.f;
#pragma unroll
      for (int i = 0; i < 32; ++i) {
        const float p = sv[i] == -INFINITY ? 0.f : __expf(sv[i] - m_new);
        sum += p;
        Pw[r * kPrefillTile + half * 32 + i] = Elem<T>::from_float(p);
      }
      sum += __shfl_xor_sync(0xffffffffu, sum, 1);
      for (int c = half; c < DP; c += 2) Os[qrow * DP + c] *= corr;
      __syncwarp();
      if (half == 0) {
        row_m[qrow] = m_new;
        row_l[qrow] = row_l[qrow] * corr + sum;
      }
    }
    __syncwarp();
    // O_w += P_w V: 16 x D per warp, staged through Sw.
    {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> o[DP / 16];
#pragma unroll
      for (int n = 0; n < DP / 16; ++n) wmma::fill_fragment(o[n], 0.f);
#pragma unroll
      for (int k = 0; k < kPrefillTile / 16; ++k) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> fa;
        wmma::load_matrix_sync(fa, Pw + k * 16, kPrefillTile);
#pragma unroll
        for (int n = 0; n < DP / 16; ++n) {
          wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> fb;
          wmma::load_matrix_sync(fb, Vs + k * 16 * DP + n * 16, DP);
          wmma::mma_sync(o[n], fa, fb, o[n]);
        }
      }
#pragma unroll
      for (int n = 0; n < DP / 16; ++n) wmma::store_matrix_sync(Sw + n * 16, o[n], SW, wmma::mem_row_major);
      __syncwarp();
      for (int i = lane; i < 16 * DP; i += 32) {
        const int r = i / DP, c = i % DP;
        Os[(warp * 16 + r) * DP + c] += Sw[r * SW + c];
      }
    }
  }
  __syncthreads();
  for (int i = tid; i < q_rows * D; i += kPrefillThreads) {
    const int r = i / D, c = i % D;
    T* out = static_cast<T*>(a.out) + static_cast<int64_t>(row0 + q0 + r) * a.out_stride + qh * D;
    out[c] = Elem<T>::from_float(Os[r * DP + c] / row_l[r]);
  }
}

}  // namespace tsc::cuda
