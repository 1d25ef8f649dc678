// The decoder forward pass on the GPU: one step's launches, in the order a reader follows the model.
//   embed -> per layer: [norm] qkv projection, [q/k norm +] rope + KV append, attention (decode: paged, with page
//   selection; prefill: causal over the chunk and its cached prefix), out projection, [norm] MLP
//   -> final norm, LM head rows -> logits (or argmax ids) copied to pinned host memory.
// Decode-sized steps (no prefill, T <= 8) run six fused kernels per layer, the norms and the residual add
// in the GEMVs' prologues and epilogues; larger steps use cuBLASLt and separate norm kernels. Models with 4- or
// 8-bit projections take the unfused path: their decode GEMVs dequantize in registers (gemv_q4, gemv_i8), larger
// steps dequantize each weight into a scratch matrix for cuBLASLt (4-bit steps of 9..64 rows: gemm_q4 on tensor
// cores instead, with TSC_Q4_GEMM=1). So do OLMo 2's post-norm blocks (post_norm_add: the
// branch output normalized, then added) and q/k norms over all heads (qk_norm_rows before the append).
#include <cstdlib>
#include <string>

#include "contract/error.h"
#include "contract/payload_tensors.h"
#include "runtime/engine/cuda/cuda_backend.h"

namespace tsc::cuda {

void CudaBackend::launch(const HostStep& st, const int32_t* meta, bool greedy) {
  cudaStream_t stream = stream_.s;
  const int32_t *d_tok = meta + st.off_tok, *d_pos = meta + st.off_pos, *d_units = meta + st.off_units, *d_rows = meta + st.off_rows,
                *dd_row = meta + st.off_drow, *dd_lens = meta + st.off_dlen, *dd_pt = meta + st.off_dpt, *dp_start = meta + st.off_ps,
                *dp_len = meta + st.off_pl, *dp_kv = meta + st.off_pkv, *dp_pt = meta + st.off_ppt;
  const int64_t T = st.T, R = st.R;
  const int64_t QKV = Q_ + 2 * KV_, U = s_.mlp_gated ? 2 * I_ : I_;
  const void* pos_table = s_.position == PositionKind::kLearned ? w_.get(tensors::embed_positions) : nullptr;
  prof_.begin(stream, graphs_.capturing());
  prof(kt_->embed(d_tok, d_pos, static_cast<int32_t>(T), w_.get(tensors::embed_tokens), pos_table, static_cast<int32_t>(H_), act_.x.as<float>(), stream), "embed");
  const float eps = static_cast<float>(s_.norm_eps);
  const int32_t rms = s_.norm == NormKind::kRMSNorm ? 1 : 0;
  const float* inv_freq = s_.position == PositionKind::kRope ? static_cast<const float*>(w_.get(tensors::rope_inv_freq)) : nullptr;
  const void* delta = nullptr;  // the previous layer's MLP output, added to x by the next norm (unfused path)
  // OLMo 2: post-norm blocks (the previous MLP output is normalized with that layer's weights before it is added),
  // q/k norms over all heads (their own kernel before the append). Both take the unfused path.
  const bool post = s_.post_norm, qk_all = s_.qk_norm == QkNorm::kAllHeads;
  // Gemma 2/3: sandwich norms (post_norm_add on each branch output, then add_norm for the next pre-norm), attention
  // soft-capping in the attention kernels. Sandwich blocks take the unfused path too.
  const bool sandwich = s_.sandwich_norm;
  const float softcap = static_cast<float>(s_.attn_logit_softcapping.value_or(0));
  const float *prev_w = nullptr, *prev_b = nullptr;
  const bool fused = st.np == 0 && T <= 8 && H_ % 8 == 0 && Q_ % 8 == 0 && I_ % 8 == 0 && !w_.any_quantized() && !post && !qk_all && !sandwich;
  decode_step_ = st.np == 0;
  // Paged decode attention, one launch per run of decode sequences sharing a page budget.
  auto decode_runs = [&](int64_t l, const float* rope) {
    for (size_t r = 0; r < st.decode_runs.size(); ++r) {
      const auto [i, j] = st.decode_runs[r];
      const int32_t budget = l < o_.dense_layers ? 0 : st.run_budget[r];
      DecodeArgs da{act_.qkv.p, static_cast<int32_t>(QKV), dd_row + i, act_.attn.p, static_cast<int32_t>(Q_), static_cast<int32_t>(j - i),
                    static_cast<int32_t>(s_.num_attention_heads), dd_pt + i * st.max_pages, st.max_pages, dd_lens + i,
                    static_cast<float>(s_.attention_scale), budget, st.splits, act_.part_o.as<float>(), act_.part_ml.as<float>(),
                    act_.counters.as<int32_t>() + i * s_.num_key_value_heads, stats_dev_ + 3 * l, rope,
                    act_.scores.as<float>() + i * s_.num_key_value_heads * st.max_pages * kt_->score_scratch, act_.arrive.as<int32_t>() + i * s_.num_key_value_heads,
                    st.trace ? act_.trace.as<int32_t>() + trace_row(st, s_, o_, l, i) : nullptr,
                    reuse_kept_.p ? reuse_kept_.as<int32_t>() + l * reuse_layer_ : nullptr, meta + st.off_dslot + i, meta + st.off_dfrom + i, softcap};
      prof(kt_->decode_attention(da, kv_.layer(l), stream), "decode_attention");
    }
  };
  for (int64_t l = 0; l < s_.num_hidden_layers; ++l) {
    const LayerWeights& L = w_.layer(l);
    const KvLayerDev& kv = kv_.layer(l);
    const float* rope = s_.layer_rope(l) ? inv_freq : nullptr;  // null on SmolLM3's layers without rotary
    // The append kernel also normalizes q and k per head (Qwen3) before the rotary, in place for q.
    AppendArgs ap{act_.qkv.p, static_cast<int32_t>(QKV), static_cast<int32_t>(s_.num_attention_heads), static_cast<int32_t>(s_.num_key_value_heads),
                  d_pos, rope, d_units, static_cast<int32_t>(st.num_units), qk_all ? nullptr : L.q_norm_w, qk_all ? nullptr : L.k_norm_w, eps};
    if (fused) {
      const int32_t t = static_cast<int32_t>(T);
      GemvArgs qa{act_.x.p, t, static_cast<int32_t>(H_), L.qkv_w.dense, L.qkv_b, static_cast<int32_t>(QKV), act_.qkv.p, L.attn_norm_w, L.attn_norm_b, nullptr, eps};
      prof(kt_->gemv_fused(kRoleQkv, qa, stream), "qkv projection");
      prof(kt_->append_kv(ap, kv, stream), "append_kv");
      decode_runs(l, rope);  // q is roped inside decode attention
      GemvArgs oa{act_.attn.p, t, static_cast<int32_t>(Q_), L.o_w.dense, L.o_b, static_cast<int32_t>(H_), act_.x.p, nullptr, nullptr, nullptr, eps};
      prof(kt_->gemv_fused(kRoleOut, oa, stream), "out projection");
      GemvArgs ua{act_.x.p, t, static_cast<int32_t>(H_), L.up_w.dense, L.up_b, static_cast<int32_t>(U), act_.up.p, L.mlp_norm_w, L.mlp_norm_b, nullptr, eps};
      prof(kt_->gemv_fused(kRoleUp, ua, stream), "up projection");
      GemvArgs dn{act_.up.p, t, static_cast<int32_t>(I_), L.down_w.dense, L.down_b, static_cast<int32_t>(H_), act_.x.p, nullptr, nullptr, nullptr, eps};
      prof(kt_->gemv_fused(kRoleDown, dn, stream), "down projection");
      continue;
    }
    if (post)
      prof(kt_->post_norm_add(act_.x.as<float>(), delta, prev_w, prev_b, eps, rms, static_cast<int32_t>(T), static_cast<int32_t>(H_), act_.h.p, stream), "post_norm_add");
    else
      prof(kt_->add_norm(act_.x.as<float>(), delta, L.attn_norm_w, L.attn_norm_b, eps, rms, static_cast<int32_t>(T), static_cast<int32_t>(H_), act_.h.p, stream), "add_norm");
    linear(act_.h.p, T, H_, L.qkv_w, L.qkv_b, QKV, act_.qkv.p, 0);
    if (qk_all)
      prof(kt_->qk_norm_rows(act_.qkv.p, static_cast<int32_t>(T), static_cast<int32_t>(QKV), static_cast<int32_t>(Q_), static_cast<int32_t>(KV_),
                             L.q_norm_w, L.k_norm_w, eps, stream), "qk_norm_rows");
    RopeQArgs rq{act_.qkv.p, static_cast<int32_t>(QKV), static_cast<int32_t>(T), static_cast<int32_t>(s_.num_attention_heads), d_pos, rope};
    prof(kt_->append_kv(ap, kv, stream), "append_kv");  // before rope_q: it normalizes q where the model has q/k norms
    prof(kt_->rope_q(rq, stream), "rope_q");
    decode_runs(l, nullptr);
    if (st.np > 0) {
      PrefillArgs pa{act_.qkv.p, static_cast<int32_t>(QKV), act_.attn.p, static_cast<int32_t>(Q_), static_cast<int32_t>(st.np),
                     static_cast<int32_t>(s_.num_attention_heads), dp_start, dp_len, dp_kv, dp_pt, st.max_pages, st.max_q,
                     static_cast<float>(s_.attention_scale), softcap};
      prof(kt_->prefill_attention(pa, kv, stream), "prefill_attention");
    }
    linear(act_.attn.p, T, Q_, L.o_w, L.o_b, H_, act_.o.p, 0);
    if (sandwich)  // x += post_attn_norm(o); h = mlp_norm(x)
      prof(kt_->post_norm_add(act_.x.as<float>(), act_.o.p, L.post_attn_norm_w, nullptr, eps, rms, static_cast<int32_t>(T), static_cast<int32_t>(H_), nullptr, stream), "post_norm_add");
    if (post)
      prof(kt_->post_norm_add(act_.x.as<float>(), act_.o.p, L.attn_norm_w, L.attn_norm_b, eps, rms, static_cast<int32_t>(T), static_cast<int32_t>(H_), act_.h.p, stream), "post_norm_add");
    else
      prof(kt_->add_norm(act_.x.as<float>(), sandwich ? nullptr : act_.o.p, L.mlp_norm_w, L.mlp_norm_b, eps, rms, static_cast<int32_t>(T), static_cast<int32_t>(H_), act_.h.p, stream), "add_norm");
    if (s_.mlp_gated) {
      linear(act_.h.p, T, H_, L.up_w, nullptr, U, act_.up.p, 0);
      prof(kt_->silu_mul(act_.up.p, L.up_b, static_cast<int32_t>(T), static_cast<int32_t>(I_), act_.act.p, stream), "silu_mul");
    } else {
      linear(act_.h.p, T, H_, L.up_w, nullptr, U, act_.act.p, 0);
      prof(kt_->bias_act(act_.act.p, L.up_b, static_cast<int32_t>(T), static_cast<int32_t>(I_), s_.activation == Activation::kGeluTanh ? 1 : 2, stream), "bias_act");
    }
    linear(act_.act.p, T, I_, L.down_w, L.down_b, H_, act_.mlp.p, 0);
    delta = act_.mlp.p;
    if (sandwich) {  // x += post_mlp_norm(mlp) now; the next pre-norm adds nothing
      prof(kt_->post_norm_add(act_.x.as<float>(), delta, L.post_mlp_norm_w, nullptr, eps, rms, static_cast<int32_t>(T), static_cast<int32_t>(H_), nullptr, stream), "post_norm_add");
      delta = nullptr;
    }
    prev_w = L.mlp_norm_w;
    prev_b = L.mlp_norm_b;
  }
  const float* fw = w_.f32_or_null(tensors::final_norm_w);
  const float* fb = w_.f32_or_null(tensors::final_norm_b);
  const float* head_b = w_.f32_or_null(tensors::lm_head_b);
  if (fused) {
    // Every row of a pure decode step needs logits: the head reads the residual stream directly.
    GemvArgs ha{act_.x.p, static_cast<int32_t>(T), static_cast<int32_t>(H_), w_.lm_head().dense, head_b, static_cast<int32_t>(V_), act_.logits.p, fw, fb, nullptr, eps};
    prof(kt_->gemv_fused(kRoleHead, ha, stream), "lm head");
  } else {
    if (post) {  // the last MLP output, normalized, joins x before the final norm
      prof(kt_->post_norm_add(act_.x.as<float>(), delta, prev_w, prev_b, eps, rms, static_cast<int32_t>(T), static_cast<int32_t>(H_), nullptr, stream), "post_norm_add");
      delta = nullptr;
    }
    prof(kt_->add_norm(act_.x.as<float>(), delta, fw, fb, eps, rms, static_cast<int32_t>(T), static_cast<int32_t>(H_), act_.h.p, stream), "final norm");
    prof(kt_->gather_rows(act_.h.p, d_rows, static_cast<int32_t>(R), static_cast<int32_t>(H_), act_.sel.p, stream), "gather_rows");
    linear(act_.sel.p, R, H_, w_.lm_head(), head_b, V_, act_.logits.p, 1);
  }
  if (s_.final_logit_softcapping)  // before the argmax too: fp32 tanh may tie two logits, as it does on the CPU
    prof(kt_->logit_softcap(act_.logits.as<float>(), R * V_, static_cast<float>(*s_.final_logit_softcapping), stream), "logit_softcap");
  if (greedy) {
    prof(kt_->argmax(act_.logits.as<float>(), static_cast<int32_t>(R), static_cast<int32_t>(V_), act_.ids.as<int32_t>(), stream), "argmax");
    check(cudaMemcpyAsync(host_out_.p, act_.ids.p, static_cast<size_t>(R) * 4, cudaMemcpyDeviceToHost, stream), "downloading token ids");
  } else {
    check(cudaMemcpyAsync(host_out_.p, act_.logits.p, static_cast<size_t>(R * V_) * 4, cudaMemcpyDeviceToHost, stream), "downloading logits");
  }
}

void CudaBackend::linear(const void* x, int64_t M, int64_t K, const ProjWeight& W, const float* bias, int64_t N, void* y, int32_t out_f32) {
  if (M == 0) return;
  const bool q4 = W.q4.codes != nullptr, i8 = W.i8.codes != nullptr;
  if (i8 && M <= 8 && K % 16 == 0) {  // 16-byte aligned rows of codes; other K take the dequantizing path below
    prof(kt_->gemv_i8(x, static_cast<int32_t>(M), static_cast<int32_t>(K), W.i8, bias, static_cast<int32_t>(N), y, out_f32, stream_.s), "gemv_i8");
    return;
  }
  if (!i8 && M <= 8 && K % 8 == 0) {
    if (q4)
      prof(kt_->gemv_q4(x, static_cast<int32_t>(M), static_cast<int32_t>(K), W.q4, bias, static_cast<int32_t>(N), y, out_f32, stream_.s), "gemv_q4");
    else
      prof(kt_->gemv(x, static_cast<int32_t>(M), static_cast<int32_t>(K), W.dense, bias, static_cast<int32_t>(N), y, out_f32, stream_.s), "gemv");
    return;
  }
  const void* dense = W.dense;
  // 9..64 rows on 4-bit weights: the tensor-core kernel that dequantizes in registers, where the build has it (fp16)
  // and TSC_Q4_GEMM=1 asks for it (off by default until tools/gpu/check.py's q4 and forms stages have passed it).
  static const bool q4_gemm = std::getenv("TSC_Q4_GEMM") && std::string(std::getenv("TSC_Q4_GEMM")) == "1";
  if (q4 && q4_gemm && kt_->gemm_q4 && M <= 64 && K % 8 == 0) {
    prof(kt_->gemm_q4(x, static_cast<int32_t>(M), static_cast<int32_t>(K), W.q4, bias, static_cast<int32_t>(N), y, out_f32, stream_.s), "gemm_q4");
    return;
  }
  // [N, K] in the weight type, for cuBLASLt; the scratch (reserved at start) holds the largest projection.
  if (q4) {
    prof(kt_->dequant_q4(W.q4, static_cast<int32_t>(N), static_cast<int32_t>(K), dequant_scratch_.p, stream_.s), "dequant_q4");
    dense = dequant_scratch_.p;
  } else if (i8) {
    prof(kt_->dequant_i8(W.i8, static_cast<int32_t>(N), static_cast<int32_t>(K), dequant_scratch_.p, stream_.s), "dequant_i8");
    dense = dequant_scratch_.p;
  }
  blas_.matmul(x, M, K, dense, N, y, out_f32, decode_step_, graphs_.capturing());
  prof(cudaSuccess, "cublas gemm");
  if (bias) {
    if (out_f32) throw Error("LM head bias with cuBLAS output is not supported", "this is a bug in tsc's CUDA backend");
    prof(kt_->bias_act(y, bias, static_cast<int32_t>(M), static_cast<int32_t>(N), 0, stream_.s), "bias");
  }
}

}  // namespace tsc::cuda
