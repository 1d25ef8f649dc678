// ABI between the CUDA runtime backend and the generated kernels: argument structs (passed by value to
// kernels) and one table of host launchers, filled by the generated file's instantiation of
// tsc::cuda::Kernels<Config>. Plain C++: the runtime includes it without nvcc.
#pragma once
#include <cuda_runtime_api.h>
#include <stdint.h>

namespace tsc::cuda {

// The page scores (contract PageScore, DESIGN.md "Page scores"): each is one header templates/cuda/page_score_*.cuh.
enum PageScore : int32_t { kPageScoreBound = 0, kPageScoreSketch = 1 };

// One layer's KV cache in device memory (layout shared by every kernel):
//   k, v:    [num_pages, num_kv_heads, PAGE_SIZE, HEAD_DIM]  (weight element type)
//   bounds:  [num_pages, num_kv_heads, 2, HEAD_DIM]          (channel min then max of the stored keys,
//            rounded outward so that they stay bounds after rounding to the element type)
//   summary: [num_pages, num_kv_heads, summary_words] uint32, the page score's own summary (KernelTable::summary_words;
//            null when the score keeps none, as the bound)
struct KvLayerDev {
  void* k;
  void* v;
  void* bounds;
  int32_t num_kv_heads;
  uint32_t* summary = nullptr;
};

// Appending this step's keys/values: one unit per (sequence, page) that receives new tokens.
//   units: [num_units, 4] int32 = {first token row, token count, page id, slot of the first token}
// Keys are read from qkv rows (after the q part), normalized per head where the model says so, roped at
// positions pos[row], written to their slots; the page's bounds are then recomputed over all its filled slots
// (slot 0 .. first slot + count - 1). With q/k norms the unit's rows of q (the KV head's group) are normalized
// in place, for the rotary and attention that follow this kernel.
struct AppendArgs {
  void* qkv;              // [T, (hq + 2 hkv) * HEAD_DIM]
  int32_t row_stride;     // elements per qkv row
  int32_t hq, hkv;
  const int32_t* pos;     // [T]
  const float* inv_freq;  // [ROTARY_DIM / 2] or null (learned positions; SmolLM3's layers without rotary)
  const int32_t* units;   // [num_units, 4]
  int32_t num_units;
  const float* q_norm_w;  // [HEAD_DIM] each, or null: Qwen3's RMSNorm of every q and k head before the rotary
  const float* k_norm_w;
  float norm_eps;
};

struct RopeQArgs {
  void* qkv;
  int32_t row_stride;
  int32_t T, hq;
  const int32_t* pos;
  const float* inv_freq;
};

// Decode: one query token per sequence, attending over the sequence's whole cache through its pages,
// with query-aware page selection when 2 <= budget < pages (budget 0 = dense).
struct DecodeArgs {
  const void* q;            // rows of qkv: q of sequence b is at q + q_row[b] * q_stride, [hq, HEAD_DIM]
  int32_t q_stride;
  const int32_t* q_row;     // [batch]
  void* out;                // out + q_row[b] * out_stride: [hq, HEAD_DIM]
  int32_t out_stride;
  int32_t batch, hq;
  const int32_t* page_table;  // [batch, max_pages]
  int32_t max_pages;
  const int32_t* seq_lens;  // [batch] tokens in the cache, the query's own included
  float scale;
  int32_t budget;           // pages kept per KV head (0 = dense); <= TOP_K
  int32_t num_splits;       // blocks per (sequence, KV head) sharing the kept pages
  float* part_o;            // scratch [batch, hq, num_splits, HEAD_DIM]
  float* part_ml;           // scratch [batch, hq, num_splits, 2]
  int32_t* counters;        // scratch [batch, hkv], zero; the last split block of each resets it
  unsigned long long* stats;  // [3] pages total, scored, kept (accumulated), or null
  const float* inv_freq;    // non-null: rotate q here (pure decode steps skip the rope_q kernel)
  float* scores;            // scratch [batch, hkv, max_pages, score_scratch]: page scores shared by a pair's blocks
  int32_t* arrive;          // scratch [batch, hkv], zero: the pair's scoring barrier (reset by its last block)
  int32_t* kept_out;        // null, or [batch, hkv, TOP_K]: a selecting pair's kept page indices (ascending),
                            // for score --select-trace; rows of dense pairs are left as they are
  // Selection reuse (--select-every; runtime/kv/select_reuse.h decides per sequence and step on the host):
  int32_t* reuse_kept;        // null, or this layer's stored kept sets [slots, hkv, TOP_K] (budget entries a row)
  const int32_t* reuse_slot;  // [batch] each sequence's row of reuse_kept, -1: none (score, store nothing)
  const int32_t* reuse_from;  // [batch] > 0: attend to the stored set plus pages reuse_from .. the last, unscored;
                              // 0: score, and store the kept set in the slot
  float softcap;              // attention logit soft-cap (Gemma 2), 0: none; page scores see uncapped scores
};

// Most pages a reused selection adds to the budget (runtime/kv/select_reuse.h, kSelectReuseExtra).
constexpr int32_t kSelectReuseExtraPages = 4;

// Prefill: causal attention of each sequence's new tokens over its cache (new tokens included).
struct PrefillArgs {
  const void* q;
  int32_t q_stride;
  void* out;
  int32_t out_stride;
  int32_t num_seqs, hq;
  const int32_t* q_start;   // [num_seqs] row of the first new token
  const int32_t* q_len;     // [num_seqs] new tokens
  const int32_t* kv_start;  // [num_seqs] tokens cached before this step (position of the first new token)
  const int32_t* page_table;  // [num_seqs, max_pages]
  int32_t max_pages, max_q_len;
  float scale;
  float softcap;  // attention logit soft-cap (Gemma 2), 0: none
};

// A decode-sized projection with its neighbours fused in (templates/cuda/gemv_fused.cuh).
struct GemvArgs {
  const void* in;        // kProNone: T [M, K]; norms: float x [M, K]; kProSiluMul: T [M, 2K] = [gate | up]
  int32_t M, K;
  const void* W;         // [N, K]
  const float* bias;     // [N] or null
  int32_t N;
  void* out;             // T or float [M, N]; kEpiResidual: float x [M, N] (+=)
  const float* norm_w;   // [K]
  const float* norm_b;   // [K] or null
  const float* in_bias;  // kProSiluMul: bias of [gate | up] [2K] or null
  float eps;
};


// Roles of the fused decode projections (templates/cuda/gemv_fused.cuh); the prologue and epilogue of
// each follow from the model's norm and activation, which are compile-time constants.
enum GemvRole : int32_t { kRoleQkv = 0, kRoleOut = 1, kRoleUp = 2, kRoleDown = 3, kRoleHead = 4 };

// A projection's weight in MatMulNBits 4-bit blocks (contract/linear_weight.h): codes [N, n_blocks, q4_block / 2],
// scales [N, n_blocks] (float, or half in q4f16 builds), zero points [N, ceil(n_blocks / 2)] or null (8).
struct Q4Weight {
  const uint8_t* codes = nullptr;
  const void* scales = nullptr;
  const uint8_t* zero_points = nullptr;
};

// A projection's weight in 8-bit codes (MatMulInteger's, contract/linear_weight.h), served weight-only: codes [N, K]
// (int8 or uint8), scales [N] f32, zero points [N] in the codes' type; is_signed: int8 codes.
struct I8Weight {
  const uint8_t* codes = nullptr;
  const float* scales = nullptr;
  const uint8_t* zero_points = nullptr;
  int32_t is_signed = 0;
};

struct KernelTable {
  const char* key;  // "hd64_ps16_k64_g8_rd64_f16"
  int32_t head_dim, page_size, top_k, group, rotary_dim, rope_interleaved, weight_dtype, norm, activation;
  int32_t q4_block;  // MatMulNBits block size of gemv_q4 / dequant_q4 (0: the model has no 4-bit projections)
  int32_t page_score;     // PageScore
  int32_t summary_words;  // uint32 words of the page score's summary per page and KV head (KvLayerDev::summary)
  int32_t score_scratch;  // floats of the scoring scratch per candidate page (DecodeArgs::scores holds max_pages each)

  // x[T, H] (f32) = E[tok] (+ P[pos]) ; E, P in the weight type.
  cudaError_t (*embed)(const int32_t* tok, const int32_t* pos, int32_t T, const void* E, const void* P, int32_t H,
                       float* x, cudaStream_t s);
  // x += delta (if non-null, weight type [T, H]); out = norm(x) in the weight type. rms: 1 RMSNorm, 0 LayerNorm.
  cudaError_t (*add_norm)(float* x, const void* delta, const float* w, const float* b, float eps, int32_t rms,
                          int32_t T, int32_t H, void* out, cudaStream_t s);
  // y[M, N] = x[M, K] W[N, K]^T (+ bias) for small M; out_f32 selects float output (LM head logits).
  cudaError_t (*gemv)(const void* x, int32_t M, int32_t K, const void* W, const float* bias, int32_t N, void* y,
                      int32_t out_f32, cudaStream_t s);
  // In place on y[M, N]: + bias (may be null) then act: 0 none, 1 gelu_tanh, 2 gelu (erf).
  cudaError_t (*bias_act)(void* y, const float* bias, int32_t M, int32_t N, int32_t act, cudaStream_t s);
  // gu[M, 2I] = [gate | up] (+ bias[2I]) -> out[M, I] = silu(gate) * up.
  cudaError_t (*silu_mul)(const void* gu, const float* bias, int32_t M, int32_t I, void* out, cudaStream_t s);
  cudaError_t (*rope_q)(const RopeQArgs& a, cudaStream_t s);  // nothing when a.inv_freq is null
  cudaError_t (*append_kv)(const AppendArgs& a, const KvLayerDev& kv, cudaStream_t s);
  cudaError_t (*decode_attention)(const DecodeArgs& a, const KvLayerDev& kv, cudaStream_t s);
  cudaError_t (*prefill_attention)(const PrefillArgs& a, const KvLayerDev& kv, cudaStream_t s);
  // out[R, H] = x[rows[r], :] (weight type), for the rows that need logits.
  cudaError_t (*gather_rows)(const void* x, const int32_t* rows, int32_t R, int32_t H, void* out, cudaStream_t s);
  // Dynamic shared memory the decode kernel needs for max_pages pages (checked against the device).
  size_t (*decode_smem_bytes)(int32_t max_pages);
  // Decode-sized projections (M <= 8) with norm / gating prologues and residual epilogues fused.
  cudaError_t (*gemv_fused)(int32_t role, const GemvArgs& a, cudaStream_t s);
  // ids[r] = argmax logits[r, :] (float32 [R, V]), ties to the lowest id.
  cudaError_t (*argmax)(const float* logits, int32_t R, int32_t V, int32_t* ids, cudaStream_t s);
  // y[M, N] = x[M, K] W^T (+ bias) with W in 4-bit blocks, M <= 8 (templates/cuda/gemv_q4.cuh); null without them.
  cudaError_t (*gemv_q4)(const void* x, int32_t M, int32_t K, const Q4Weight& w, const float* bias, int32_t N, void* y,
                         int32_t out_f32, cudaStream_t s);
  // out[N, K] (weight type) = W dequantized, for cuBLASLt on larger M; null without 4-bit projections.
  cudaError_t (*dequant_q4)(const Q4Weight& w, int32_t N, int32_t K, void* out, cudaStream_t s);
  // OLMo 2's post-norm blocks: x += norm(y) * w (+ b) if y (weight type [T, H]) is set, then out = x in the weight
  // type if out is set. rms: 1 RMSNorm, 0 LayerNorm.
  cudaError_t (*post_norm_add)(float* x, const void* y, const float* w, const float* b, float eps, int32_t rms, int32_t T,
                               int32_t H, void* out, cudaStream_t s);
  // OLMo 2's q/k norms: RMSNorm over all heads of q (qkv row columns [0, Q), weights qw) and of k ([Q, Q + KV), kw),
  // in place on qkv [T, stride].
  cudaError_t (*qk_norm_rows)(void* qkv, int32_t T, int32_t stride, int32_t Q, int32_t KV, const float* qw, const float* kw,
                              float eps, cudaStream_t s);
  // Gemma 2/3's final logit soft-cap, in place on float32 logits [n]: z -> c tanh(z / c).
  cudaError_t (*logit_softcap)(float* z, int64_t n, float c, cudaStream_t s);
  // 8-bit weights (templates/cuda/gemv_i8.cuh; null and i8 0 without them): y[M, N] = x[M, K] W^T (+ bias) for M <= 8
  // and K % 16 == 0, and out[N, K] (weight type) = W dequantized, for cuBLASLt on larger M.
  int32_t i8;
  cudaError_t (*gemv_i8)(const void* x, int32_t M, int32_t K, const I8Weight& w, const float* bias, int32_t N, void* y,
                         int32_t out_f32, cudaStream_t s);
  cudaError_t (*dequant_i8)(const I8Weight& w, int32_t N, int32_t K, void* out, cudaStream_t s);
  // y[M, N] = x[M, K] W^T (+ bias) with W in 4-bit blocks for 8 < M <= 64 on tensor cores (templates/cuda/gemm_q4.cuh;
  // fp16 weight type only, K % 8 == 0); null without 4-bit projections or in bf16 builds.
  cudaError_t (*gemm_q4)(const void* x, int32_t M, int32_t K, const Q4Weight& w, const float* bias, int32_t N, void* y,
                         int32_t out_f32, cudaStream_t s);
};

}  // namespace tsc::cuda
