// CPU attention over tiles: a panel of query rows (SIMD lanes) against one KV head's pages, page by page with
// an online softmax in fp32; Q.K^T and P.V are register tiles (gemm::panel_tile), so no horizontal sums.
#pragma once
#include <algorithm>
#include <limits>

#include "templates/cpu/gemm.h"
#include "templates/cpu/kv_pages.h"

namespace tsc::cpu {

// c tanh(s / c) per lane, with tanh(x) = 1 - 2 / (e^2x + 1): exp saturates (simd::exp), so |x| large gives +-1.
inline simd::vf softcap(simd::vf s, float c) {
  using namespace simd;
  return splat(c) - splat(2.f * c) / (simd::exp(s * (2.f / c)) + 1.f);
}

// Rows r < nrows (nrows <= A * kLanes): query q[r] [HEAD_DIM], which sees key positions <= pos[r]; all rows
// attend to KV head h through the pages page_list[0..num_pages) of the sequence (positions < seq.num_tokens).
// out[r] [HEAD_DIM] = softmax(cap(scale q[r].K^T)) V, cap the layer's soft-cap (kv.softcap, Gemma 2) or none. Every
// row must see position 0 (true of causal attention).
template <int HEAD_DIM, int PAGE_SIZE, int A>
void attend_panel(const KvLayer& kv, const SeqPages& seq, int64_t h, int nrows, const float* const* q, const int64_t* pos,
                  float scale, const int32_t* page_list, int64_t num_pages, float* const* out) {
  using namespace simd;
  constexpr int P = A * kLanes, NS = PAGE_SIZE < 8 ? PAGE_SIZE : 8, ND = HEAD_DIM % 8 == 0 ? 8 : 1;
  static_assert(PAGE_SIZE % NS == 0, "page size is a power of two");
  alignas(64) float qt[HEAD_DIM * P];   // Q^T * scale, [HEAD_DIM][P]
  alignas(64) float ot[HEAD_DIM * P];   // O^T (unnormalized), [HEAD_DIM][P]
  alignas(64) float st[PAGE_SIZE * P];  // S^T, then P^T, of one page, [PAGE_SIZE][P]
  alignas(64) float rowpos[P];
  for (int r = 0; r < P; ++r) {
    const int rr = std::min(r, nrows - 1);  // padding rows repeat the last row (discarded)
    rowpos[r] = static_cast<float>(pos[rr]);
    for (int d = 0; d < HEAD_DIM; ++d) qt[d * P + r] = q[rr][d] * scale;
  }
  std::fill(ot, ot + HEAD_DIM * P, 0.f);
  vf m[A], l[A];
  for (int a = 0; a < A; ++a) m[a] = splat(-std::numeric_limits<float>::infinity()), l[a] = splat(0.f);
  for (int64_t i = 0; i < num_pages; ++i) {
    const int64_t p = page_list[i], first = p * PAGE_SIZE;
    const int valid = static_cast<int>(std::min<int64_t>(PAGE_SIZE, seq.num_tokens - first));
    const float* k0 = key_at<HEAD_DIM, PAGE_SIZE>(kv, seq.pages[p], h, 0);
    const float* v0 = value_at<HEAD_DIM, PAGE_SIZE>(kv, seq.pages[p], h, 0);
    // S^T: slots past the sequence's end repeat its last key and are masked below.
    for (int j0 = 0; j0 < PAGE_SIZE; j0 += NS) {
      const float* kr[NS];
      for (int j = 0; j < NS; ++j) kr[j] = k0 + std::min(j0 + j, valid - 1) * HEAD_DIM;
      gemm::panel_tile<A, NS>(qt, kr, HEAD_DIM, st + j0 * P);
    }
    if (kv.softcap > 0)  // before the mask: masked slots stay -inf
      for (int e = 0; e < PAGE_SIZE * P; e += kLanes) storeu(st + e, softcap(loadu(st + e), kv.softcap));
    // Causal mask, running max, probabilities.
    vf mnew[A], rp[A];
    for (int a = 0; a < A; ++a) mnew[a] = m[a], rp[a] = loadu(rowpos + a * kLanes);
    const vf ninf = splat(-std::numeric_limits<float>::infinity());
    for (int j = 0; j < PAGE_SIZE; ++j) {
      const vf kpos = splat(j < valid ? static_cast<float>(first + j) : std::numeric_limits<float>::infinity());
      for (int a = 0; a < A; ++a) {
        vf s = loadu(st + j * P + a * kLanes);
        s = kpos > rp[a] ? ninf : s;
        storeu(st + j * P + a * kLanes, s);
        mnew[a] = vmax(mnew[a], s);
      }
    }
    vf corr[A];
    for (int a = 0; a < A; ++a) {
      corr[a] = simd::exp(m[a] - mnew[a]);  // exp(-inf) = 0 on the first page
      vf sum = splat(0.f);
      for (int j = 0; j < PAGE_SIZE; ++j) {
        const vf e = simd::exp(loadu(st + j * P + a * kLanes) - mnew[a]);
        storeu(st + j * P + a * kLanes, e);
        sum += e;
      }
      l[a] = l[a] * corr[a] + sum;
      m[a] = mnew[a];
    }
    // O^T = O^T * corr + P^T-weighted values, ND channels per register tile (valid slots only: the others
    // may hold anything, and 0 * NaN is NaN).
    for (int d0 = 0; d0 < HEAD_DIM; d0 += ND) {
      vf acc[A][ND];
      for (int dd = 0; dd < ND; ++dd)
        for (int a = 0; a < A; ++a) acc[a][dd] = loadu(ot + (d0 + dd) * P + a * kLanes) * corr[a];
      for (int j = 0; j < valid; ++j) {
        vf pj[A];
        for (int a = 0; a < A; ++a) pj[a] = loadu(st + j * P + a * kLanes);
#pragma GCC unroll 8
        for (int dd = 0; dd < ND; ++dd) {
          const vf v = splat(v0[j * HEAD_DIM + d0 + dd]);
          for (int a = 0; a < A; ++a) acc[a][dd] = fma(pj[a], v, acc[a][dd]);
        }
      }
      for (int dd = 0; dd < ND; ++dd)
        for (int a = 0; a < A; ++a) storeu(ot + (d0 + dd) * P + a * kLanes, acc[a][dd]);
    }
  }
  alignas(64) float inv[P];
  for (int a = 0; a < A; ++a) storeu(inv + a * kLanes, splat(1.f) / l[a]);
  for (int r = 0; r < nrows; ++r)
    for (int d = 0; d < HEAD_DIM; ++d) out[r][d] = ot[d * P + r] * inv[r];
}

}  // namespace tsc::cpu
