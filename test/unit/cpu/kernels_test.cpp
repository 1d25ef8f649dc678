// CPU kernel templates (gemm.h, attend_tile.h via attention.h) against naive double-precision references, and the
// selection extension (select_ext.h) against the production decode kernel it extends.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "templates/cpu/attention.h"
#include "templates/cpu/elementwise.h"
#include "templates/cpu/gemm.h"
#include "templates/cpu/select_ext.h"

namespace tsc::cpu {
namespace {

template <typename W> W from_f32(float v);
template <> float from_f32<float>(float v) { return v; }
template <> bf16_t from_f32<bf16_t>(float v) {
  uint32_t u;
  std::memcpy(&u, &v, 4);
  return bf16_t{static_cast<uint16_t>(u >> 16)};
}
template <> f16_t from_f32<f16_t>(float v) {  // exact for the values used: multiples of 1/64 in [-2, 2]
  const int s = v < 0, q = static_cast<int>(std::lround(std::abs(v) * 64));
  if (q == 0) return f16_t{static_cast<uint16_t>(s << 15)};
  int e = 0;
  while ((q >> e) > 1) ++e;  // q = 2^e * (1 + f)
  const uint16_t mant = static_cast<uint16_t>(((q << 10) >> e) & 0x3ff);
  return f16_t{static_cast<uint16_t>(s << 15 | (e - 6 + 15) << 10 | mant)};
}

template <typename W>
void check_linear(int64_t M, int64_t K, int64_t N, bool bias) {
  std::mt19937 g(static_cast<uint32_t>(M * 131 + K * 7 + N));
  std::uniform_int_distribution<int> d(-128, 128);
  std::vector<float> x(static_cast<size_t>(M * K)), b(static_cast<size_t>(N)), y(static_cast<size_t>(M * N), -1.f);
  std::vector<W> w(static_cast<size_t>(N * K));
  for (auto& v : x) v = d(g) / 64.f;
  for (auto& v : w) v = from_f32<W>(d(g) / 64.f);
  for (auto& v : b) v = d(g) / 64.f;
  linear<W>(x.data(), M, K, w.data(), bias ? b.data() : nullptr, N, y.data());
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double s = bias ? b[n] : 0.0, mag = 0.0;
      for (int64_t k = 0; k < K; ++k) {
        s += static_cast<double>(x[m * K + k]) * to_f32(w[n * K + k]);
        mag += std::abs(static_cast<double>(x[m * K + k]) * to_f32(w[n * K + k]));
      }
      ASSERT_NEAR(y[m * N + n], s, 1e-6 * (mag + 1)) << "M " << M << " K " << K << " N " << N << " at " << m << "," << n;
    }
}

TEST(Gemm, F32EveryTilePathAndTail) {
  for (int64_t M : {1, 2, 3, 4, 5, 8, 9, 15, 16, 31, 33, 64, 70, 200})
    for (int64_t K : {1, 7, 16, 37, 64})
      for (int64_t N : {1, 5, 13, 40}) check_linear<float>(M, K, N, (M + N) % 2 == 0);
}

TEST(Gemm, HalfWeights) {
  for (int64_t M : {1, 3, 8, 40})
    for (int64_t K : {9, 48}) {
      check_linear<bf16_t>(M, K, 29, true);
      check_linear<f16_t>(M, K, 29, false);
    }
}

TEST(Gemm, Threaded) { check_linear<float>(130, 576, 300, true); check_linear<float>(1, 576, 700, false); }

// Paged KV of one sequence with pages in shuffled order; keys/values random.
template <int D, int PS>
struct Cache {
  int64_t hkv, tokens;
  std::vector<float> k, v, b;
  std::vector<int32_t> pages;
  KvLayer kv;
  Cache(int64_t hkv_, int64_t tokens_, uint32_t seed) : hkv(hkv_), tokens(tokens_) {
    const int64_t np = (tokens + PS - 1) / PS + 2;
    k.assign(static_cast<size_t>(np * hkv * PS * D), std::nanf(""));  // unwritten slots hold NaN
    v = k;
    b.assign(static_cast<size_t>(np * hkv * 2 * D), 0.f);
    for (int64_t p = 0; p < (tokens + PS - 1) / PS; ++p) pages.push_back(static_cast<int32_t>((p * 7 + 1) % np));
    kv = KvLayer{k.data(), v.data(), b.data(), hkv};
    std::mt19937 g(seed);
    std::normal_distribution<float> n;
    std::vector<float> kk(static_cast<size_t>(tokens * hkv * D)), vv(kk.size());
    for (auto& x : kk) x = n(g);
    for (auto& x : vv) x = n(g);
    kv_append<D, PS, kPageScoreBound>(kv, SeqPages{pages.data(), tokens}, 0, tokens, kk.data(), vv.data());
  }
  // Naive softmax attention of one query over positions 0..last of KV head h.
  void reference(const float* q, int64_t h, int64_t last, float scale, double* out) const {
    std::vector<double> s(static_cast<size_t>(last + 1));
    double m = -1e300, sum = 0;
    for (int64_t t = 0; t <= last; ++t) {
      const float* kt = key_at<D, PS>(kv, pages[t / PS], h, t % PS);
      double x = 0;
      for (int c = 0; c < D; ++c) x += static_cast<double>(q[c]) * kt[c];
      s[t] = x * scale;
      m = std::max(m, s[t]);
    }
    for (int c = 0; c < D; ++c) out[c] = 0;
    for (int64_t t = 0; t <= last; ++t) {
      const double w = std::exp(s[t] - m);
      sum += w;
      const float* vt = value_at<D, PS>(kv, pages[t / PS], h, t % PS);
      for (int c = 0; c < D; ++c) out[c] += w * vt[c];
    }
    for (int c = 0; c < D; ++c) out[c] /= sum;
  }
};

template <int D, int PS, int G>
void check_attention(int64_t hkv, int64_t start, int64_t n) {
  Cache<D, PS> c(hkv, start + n, static_cast<uint32_t>(start * 3 + n));
  const int64_t hq = hkv * G;
  std::mt19937 g(7);
  std::normal_distribution<float> nd;
  std::vector<float> q(static_cast<size_t>(n * hq * D)), out(q.size(), -1.f);
  for (auto& x : q) x = nd(g);
  const float scale = 1.f / std::sqrt(static_cast<float>(D));
  attend_prefill<D, PS, G>(c.kv, SeqPages{c.pages.data(), start + n}, start, n, hq, scale, q.data(), out.data());
  double ref[D];
  for (int64_t t = 0; t < n; ++t)
    for (int64_t qh = 0; qh < hq; ++qh) {
      c.reference(q.data() + (t * hq + qh) * D, qh / G, start + t, scale, ref);
      for (int d = 0; d < D; ++d) ASSERT_NEAR(out[(t * hq + qh) * D + d], ref[d], 2e-5) << "prefill t " << t << " head " << qh << " d " << d;
    }
  // Dense decode of the last token's query.
  std::vector<float> dout(static_cast<size_t>(hq * D), -1.f);
  const float* ql = q.data() + (n - 1) * hq * D;
  attend_decode<D, PS, 4, G, kPageScoreBound>(c.kv, SeqPages{c.pages.data(), start + n}, hq, scale, 0, SelectReuse{}, ql, dout.data(), nullptr);
  for (int64_t qh = 0; qh < hq; ++qh) {
    c.reference(ql + qh * D, qh / G, start + n - 1, scale, ref);
    for (int d = 0; d < D; ++d) ASSERT_NEAR(dout[qh * D + d], ref[d], 2e-5) << "decode head " << qh << " d " << d;
  }
}

TEST(Attention, PrefillAndDecodeMatchNaive) {
  check_attention<64, 16, 3>(3, 0, 37);    // SmolLM2's shape, a partial last page
  check_attention<64, 16, 3>(3, 21, 50);   // a chunk after earlier tokens
  check_attention<16, 4, 1>(2, 0, 9);      // GPT-2-like, page 4
  check_attention<8, 4, 4>(1, 5, 17);      // group 4, head dim 8
  check_attention<32, 8, 20>(1, 0, 40);    // a group wider than one SIMD vector
}

// The selection extension with no ablation attends exactly as the production kernel (same pages, same
// output bits); its trace holds the design's selection, and replaying that trace changes nothing.
TEST(SelectExtension, NeutralTraceAndReplayMatchProduction) {
  constexpr int D = 16, PS = 4, TOP_K = 8, G = 3;
  const int64_t hkv = 2, hq = hkv * G, tokens = 41, budget = 5, pages = (tokens + PS - 1) / PS;
  Cache<D, PS> c(hkv, tokens, 5);
  const SeqPages sp{c.pages.data(), tokens};
  std::mt19937 g(3);
  std::normal_distribution<float> nd;
  std::vector<float> q(static_cast<size_t>(hq * D));
  for (auto& x : q) x = nd(g);
  std::vector<float> prod(q.size()), ext(q.size()), rep(q.size());
  SelectStats sp_st, ext_st;
  attend_decode<D, PS, TOP_K, G, kPageScoreBound>(c.kv, sp, hq, 0.25f, budget, SelectReuse{}, q.data(), prod.data(), &sp_st);
  std::vector<int32_t> trace(static_cast<size_t>(hkv * TOP_K), 7);
  ReplayStats rs;
  attend_decode_ablated<D, PS, TOP_K, G, kPageScoreBound>(c.kv, sp, hq, 0.25f, budget, 0, SelectIo{nullptr, trace.data()}, SelectReuse{}, q.data(),
                                                          ext.data(), &ext_st, &rs);
  EXPECT_EQ(0, std::memcmp(prod.data(), ext.data(), prod.size() * 4));
  EXPECT_EQ(sp_st.pages_kept, ext_st.pages_kept);
  EXPECT_EQ(sp_st.pages_kept, hkv * budget);
  for (int64_t h = 0; h < hkv; ++h) {
    const int32_t* row = trace.data() + h * TOP_K;
    EXPECT_EQ(row[0], 0);
    EXPECT_EQ(row[budget - 1], pages - 1);
    for (int64_t i = 1; i < budget; ++i) EXPECT_LT(row[i - 1], row[i]);
    for (int64_t i = budget; i < TOP_K; ++i) EXPECT_EQ(row[i], -1);
  }
  attend_decode_ablated<D, PS, TOP_K, G, kPageScoreBound>(c.kv, sp, hq, 0.25f, budget, 0, SelectIo{trace.data(), nullptr}, SelectReuse{}, q.data(),
                                                          rep.data(), nullptr, &rs);
  EXPECT_EQ(0, std::memcmp(prod.data(), rep.data(), prod.size() * 4));
  EXPECT_EQ(rs.replayed, hkv);
  EXPECT_EQ(rs.differs, 0);
  EXPECT_EQ(rs.invalid, 0);
}

TEST(SimdExp, MatchesStdExp) {
  for (float x = -90.f; x < 88.f; x += 0.173f) {
    const float e = simd::exp(simd::splat(x))[0];
    ASSERT_NEAR(e, std::exp(x), 3e-7f * std::exp(x) + (x < -87.3f ? 1e-37f : 0.f)) << x;
  }
  EXPECT_EQ(simd::exp(simd::splat(-std::numeric_limits<float>::infinity()))[0], 0.f);
}

// gated(gu, n, I, out) against want(gate, up) on [gate | up] rows with a vector tail.
template <typename F, typename Want>
void check_gated(F gated, Want want_of, double rel, double abs_tol) {
  const int64_t n = 3, I = 45;
  std::vector<float> gu(static_cast<size_t>(n * 2 * I)), out(static_cast<size_t>(n * I));
  for (size_t i = 0; i < gu.size(); ++i) gu[i] = static_cast<float>(static_cast<int64_t>(i * 37 % 201) - 100) / 8.f;
  gated(gu.data(), n, I, out.data());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < I; ++j) {
      const double want = want_of(gu[i * 2 * I + j], gu[i * 2 * I + I + j]);
      ASSERT_NEAR(out[i * I + j], want, rel * std::abs(want) + abs_tol) << i << "," << j;
    }
}

TEST(Elementwise, SiluMulMatchesFormula) {
  check_gated(silu_mul, [](double g, double u) { return g / (1 + std::exp(-g)) * u; }, 1e-6, 1e-30);
}

// Gemma's GeGLU: the logistic form of 0.5 (1 + tanh(u)) against the tanh formula (torch's gelu(approximate='tanh')).
TEST(Elementwise, GeluTanhMulMatchesFormula) {
  check_gated(gelu_tanh_mul, [](double g, double u) {
    return 0.5 * g * (1 + std::tanh(0.7978845608028654 * (g + 0.044715 * g * g * g))) * u;
  }, 1e-6, 1e-6);
}

}  // namespace
}  // namespace tsc::cpu
