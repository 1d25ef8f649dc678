// ABI between the CPU runtime and the generated kernels: one table of the entry points production runs, filled
// by the generated file's instantiation of tsc::cpu::Kernels<Config>. Activations are float32 throughout.
// Selection ablations, traces and replays are not here: they are the selection extension (select_ext.h).
#pragma once
#include <cstdint>

namespace tsc::cpu {

// The design's page score, chosen at build time (tsc --page-score): the box bound of q·k from the page's
// channel min/max (kv_pages.h), or the key sketch's estimate of the page's attention mass (page_sketch.h).
enum PageScore : int32_t { kPageScoreBound = 0, kPageScoreSketch = 1 };

// One KV-cache layer's storage (document of the layout, shared by all CPU kernels):
//   k, v:    [num_pages, num_kv_heads, page_size, head_dim] float32
//   bounds:  [num_pages, num_kv_heads, 2, head_dim] float32 (channel min, then max, of the stored keys)
//   sketch:  [num_pages, num_kv_heads, SketchLayout::kWords] uint32 (page_sketch.h), written when a page fills;
//            null unless the build scores pages with the sketch
struct KvLayer {
  float* k;
  float* v;
  float* bounds;
  int64_t num_kv_heads;
  uint32_t* sketch = nullptr;
  float softcap = 0;  // the layer's attention logit soft-cap c (Gemma 2: scaled scores s -> c tanh(s / c)), 0: none
};

// One sequence's view of the cache: its pages in order and how many tokens they hold.
struct SeqPages {
  const int32_t* pages;  // page ids, token t lives in pages[t / page_size] at slot t % page_size
  int64_t num_tokens;
};

// Selection statistics accumulated by decode attention (for /metrics and tests).
struct SelectStats {
  int64_t pages_total = 0;   // pages the sequence had (per KV head)
  int64_t pages_scored = 0;  // candidate pages scored
  int64_t pages_kept = 0;    // pages attended
};

// Selection reuse (--select-every, runtime/kv/select_reuse.h): `keep` is the sequence's last scored selection
// in this layer ([num_kv_heads, top_k], budget entries a row), written by a scoring step; a step with
// reuse_from > 0 (the sequence's page count at that scoring) attends to its pages plus pages reuse_from .. the
// last (those begun since), unscored. keep == null: every step scores.
struct SelectReuse {
  int32_t* keep = nullptr;
  int64_t reuse_from = 0;  // > 0: reuse `keep`; 0: score
};

struct KernelTable {
  const char* key;  // specialization key, e.g. "hd64_ps16_k64_g3_rd64_f32"
  int32_t head_dim, page_size, top_k, group, rotary_dim, rope_interleaved, weight_dtype;
  int32_t page_score;    // PageScore the decode kernel ranks pages by
  int32_t sketch_words;  // uint32 words of KvLayer::sketch per page and KV head (0 with the bound)
  int32_t q4_block;      // MatMulNBits block size linear_q4 is specialized for (0: none)

  // y[M,N] = x[M,K] * w[N,K]^T (+ bias[N]); w in the build's weight type.
  void (*linear)(const float* x, int64_t M, int64_t K, const void* w, const float* bias, int64_t N, float* y);
  // The same with w in MatMulNBits 4-bit blocks (contract/linear_weight.h): codes [N, n_blocks, kQ4Block/2],
  // scales [N, n_blocks] in the build's scale type, zero points [N, ceil(n_blocks/2)] or null (symmetric).
  // Null unless the model keeps 4-bit projections.
  void (*linear_q4)(const float* x, int64_t M, int64_t K, const uint8_t* codes, const void* scales, const uint8_t* zero_points,
                    const float* bias, int64_t N, float* y);
  // out[n,H] = table[tokens[n], :] (weight type -> f32)
  void (*embed)(const int32_t* tokens, int64_t n, const void* table, int64_t H, float* out);
  // x[n,H] += table[positions[n], :]
  void (*add_rows)(const int32_t* rows, int64_t n, const void* table, int64_t H, float* x);
  void (*layernorm)(const float* x, int64_t n, int64_t H, const float* w, const float* b, float eps, float* out);
  void (*rmsnorm)(const float* x, int64_t n, int64_t H, const float* w, float eps, float* out);
  // x[n, heads*D]: rotate the first rotary_dim channels of each head by positions[n] * inv_freq.
  void (*rope)(float* x, int64_t n, int64_t heads, const int32_t* positions, const float* inv_freq);
  // Appends k/v [n, hkv*D] at token positions [start, start+n) of a sequence; updates page bounds (and codes
  // each page that fills into its sketch, with the sketch score).
  void (*kv_append)(const KvLayer& kv, const SeqPages& seq, int64_t start, int64_t n, const float* k, const float* v);
  // Causal attention of n queries q[n, hq*D] at positions [start, start+n) over the sequence's cache
  // (which already holds them); out[n, hq*D].
  void (*attend_prefill)(const KvLayer& kv, const SeqPages& seq, int64_t start, int64_t n, int64_t hq, float scale,
                         const float* q, float* out);
  // One decode query q[hq*D] over the whole cache with the design's page selection. budget = pages kept per
  // KV head (0 = dense). Ablations, traces and replays go through the selection extension (select_ext.h).
  void (*attend_decode)(const KvLayer& kv, const SeqPages& seq, int64_t hq, float scale, int64_t budget, const SelectReuse& reuse,
                        const float* q, float* out, SelectStats* stats);
  // act[n, I] = gelu(x) in place (approximate: 1 = tanh)
  void (*gelu)(float* x, int64_t count, int32_t approximate);
  // gu[n, 2I] = [gate | up] -> out[n, I] = silu(gate) * up
  void (*silu_mul)(const float* gu, int64_t n, int64_t I, float* out);
  // x += y
  void (*add)(float* x, const float* y, int64_t count);
  // gu[n, 2I] = [gate | up] -> out[n, I] = gelu_tanh(gate) * up (Gemma's GeGLU)
  void (*gelu_tanh_mul)(const float* gu, int64_t n, int64_t I, float* out);
  // DynamicQuantizeLinear's scale and zero point for the n values of x (templates/cpu/linear_int8.h).
  void (*dynamic_quant_params)(const float* x, int64_t n, float* scale, uint8_t* zp);
  // y[M,N] with w in 8 bits (contract/linear_weight.h): codes [N, K] int8 (linear_i8) or uint8 (linear_u8) with
  // a scale and zero point per row; x row m quantized with x_scale[m], x_zp[m] (its sequence's parameters).
  void (*linear_i8)(const float* x, int64_t M, int64_t K, const float* x_scale, const uint8_t* x_zp, const int8_t* codes,
                    const int8_t* w_zp, const float* w_scale, const float* bias, int64_t N, float* y);
  void (*linear_u8)(const float* x, int64_t M, int64_t K, const float* x_scale, const uint8_t* x_zp, const uint8_t* codes,
                    const uint8_t* w_zp, const float* w_scale, const float* bias, int64_t N, float* y);
};

}  // namespace tsc::cpu
