// CPU backend: the decoder forward pass over the generated CPU kernel table, KV cache in host memory.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "contract/error.h"
#include "contract/layer_tensors.h"
#include "contract/linear_weight.h"
#include "contract/payload_tensors.h"
#include "runtime/engine/backend.h"
#include "runtime/engine/cpu_select_diag.h"
#include "templates/cpu/kernel_table.h"

// Defined by the generated kernels file linked into a CPU-target executable.
extern "C" __attribute__((weak)) const tsc::cpu::KernelTable* tsc_cpu_kernels();

namespace tsc {
namespace {

using LayerPtrs = LayerTensors<const float*, LinearWeight>;

class CpuBackend : public Backend {
 public:
  CpuBackend(const Payload& p, int64_t num_pages) : p_(p), s_(p.spec()), o_(p.options()) {
    if (!tsc_cpu_kernels) throw Error("this executable has no CPU kernels linked in", "rebuild it with `tsc --target cpu`");
    kt_ = tsc_cpu_kernels();
    check(kt_->head_dim == s_.head_dim, "head_dim", s_.head_dim, kt_->head_dim);
    check(kt_->page_size == o_.page_size, "page_size", o_.page_size, kt_->page_size);
    check(kt_->group == s_.num_attention_heads / s_.num_key_value_heads, "GQA group", s_.num_attention_heads / s_.num_key_value_heads, kt_->group);
    check(kt_->weight_dtype == static_cast<int32_t>(o_.weight_dtype), "weight dtype", static_cast<int64_t>(o_.weight_dtype), kt_->weight_dtype);
    const int32_t page_score = static_cast<int32_t>(o_.page_score);  // cpu::PageScore's values are the contract's
    check(kt_->page_score == page_score, "page score (0 bound, 1 sketch)", page_score, kt_->page_score);
    check_payload_tensors(p_);
    H_ = s_.hidden_size;
    Q_ = s_.num_attention_heads * s_.head_dim;
    KV_ = s_.num_key_value_heads * s_.head_dim;
    I_ = s_.intermediate_size;
    V_ = s_.vocab_size;
    auto f = [&](const std::string& n) -> const float* { return p_.has(n) ? static_cast<const float*>(p_.data(n)) : nullptr; };
    for (int64_t l = 0; l < s_.num_hidden_layers; ++l)
      layers_.push_back(read_layer_tensors<const float*, LinearWeight>(
          s_, l, f, [&](const std::string& n, int64_t out, int64_t in) { return weight(n, out, in); }));
    lm_head_ = weight(tensors::lm_head, V_, H_);
    // KV storage: per layer K, V [num_pages, hkv, page_size, head_dim] and bounds [num_pages, hkv, 2, head_dim].
    const int64_t page_elems = s_.num_key_value_heads * o_.page_size * s_.head_dim;
    const int64_t bound_elems = s_.num_key_value_heads * 2 * s_.head_dim;
    kv_.resize(static_cast<size_t>(s_.num_hidden_layers));
    // Uninitialized on purpose: memory is committed when pages are first written (bounds are
    // initialized by the first key of a page, a sketch when its page fills), so a large pool costs nothing
    // until used. Sketches: [num_pages, hkv, sketch_words] with the sketch score.
    sketch_elems_ = s_.num_key_value_heads * kt_->sketch_words;
    for (auto& layer : kv_) {
      layer.k.reset(new float[static_cast<size_t>(num_pages * page_elems)]);
      layer.v.reset(new float[static_cast<size_t>(num_pages * page_elems)]);
      layer.b.reset(new float[static_cast<size_t>(num_pages * bound_elems)]);
      if (sketch_elems_ > 0) layer.s.reset(new uint32_t[static_cast<size_t>(num_pages * sketch_elems_)]);
    }
    counters_.kept_per_layer.assign(static_cast<size_t>(s_.num_hidden_layers), 0);
    counters_.total_per_layer.assign(static_cast<size_t>(s_.num_hidden_layers), 0);
  }

  const char* name() const override { return "cpu"; }
  const SelectionCounters& counters() const override { return counters_; }

  void copy_page(int32_t src, int32_t dst) override {
    const int64_t pe = s_.num_key_value_heads * o_.page_size * s_.head_dim, be = s_.num_key_value_heads * 2 * s_.head_dim;
    for (auto& L : kv_) {
      std::memcpy(L.k.get() + dst * pe, L.k.get() + src * pe, pe * 4);
      std::memcpy(L.v.get() + dst * pe, L.v.get() + src * pe, pe * 4);
      std::memcpy(L.b.get() + dst * be, L.b.get() + src * be, be * 4);
      if (L.s) std::memcpy(L.s.get() + dst * sketch_elems_, L.s.get() + src * sketch_elems_, sketch_elems_ * 4);
    }
  }

  void forward(std::span<const StepSeq> seqs, std::vector<float>& logits) override {
    int64_t T = 0, rows = 0;
    for (auto& q : seqs) {
      T += q.n;
      rows += q.all_logits ? q.n : 1;
      if (q.decode && q.n != 1) throw Error("decode step with " + std::to_string(q.n) + " tokens", "this is a bug in the runtime");
      if (q.budget > 0 && q.budget > o_.top_k_pages)
        throw Error("page budget " + std::to_string(q.budget) + " exceeds the compiled top-k capacity " + std::to_string(o_.top_k_pages),
                    "ask for at most " + std::to_string(o_.top_k_pages) + " pages, or rebuild with a larger --top-k-pages");
      if (q.budget == 1) throw Error("page budget 1 cannot keep both the first and the last page", "use a budget of at least 2, or 0 for dense attention");
      check_select_every(q.select_every, "select_every");
      if (q.diag) check_select_diag(q, *kt_);
    }
    // Selection reuse: each decode sequence scores this step (0) or reuses its scoring of reuse[i] pages.
    std::vector<int64_t> reuse(seqs.size(), 0);
    const int64_t keep_row = s_.num_key_value_heads * kt_->top_k;
    for (size_t i = 0; i < seqs.size(); ++i) {
      const StepSeq& q = seqs[i];
      if (!q.decode) {
        q.kv->select.clear();  // prompt tokens: the next decode step scores
        continue;
      }
      reuse[i] = select_reuse_step(q.kv->select, q.select_every, q.budget, (q.kv->num_tokens + 1 + o_.page_size - 1) / o_.page_size);
      if (q.select_every > 1) q.kv->select.kept.resize(static_cast<size_t>(s_.num_hidden_layers * keep_row), -1);
    }
    std::vector<int32_t> tok(static_cast<size_t>(T)), pos(static_cast<size_t>(T));
    {
      int64_t t = 0;
      for (auto& q : seqs)
        for (int64_t i = 0; i < q.n; ++i, ++t) {
          tok[t] = q.tokens[i];
          pos[t] = static_cast<int32_t>(q.kv->num_tokens + i);
          if (tok[t] < 0 || tok[t] >= V_) throw Error("token id " + std::to_string(tok[t]) + " is outside the vocabulary [0, " + std::to_string(V_) + ")", "pass ids produced by this model's tokenizer");
        }
    }
    // Rows [bounds_[i], bounds_[i+1]) are sequence i's tokens of this step: the rows an 8-bit projection's
    // DynamicQuantizeLinear quantizes together, as onnxruntime does running that sequence alone.
    bounds_.assign(1, 0);
    for (auto& q : seqs) bounds_.push_back(bounds_.back() + q.n);
    x_.resize(static_cast<size_t>(T * H_));
    h_.resize(x_.size());
    if (p_.has(tensors::embed_tokens)) {
      kt_->embed(tok.data(), T, p_.data(tensors::embed_tokens), H_, x_.data());
    } else {  // tsc --head-dtype int4: the tied table is the LM head's 4-bit blocks, one row dequantized per token
      for (int64_t t = 0; t < T; ++t) dequantize_q4_row(lm_head_, tok[static_cast<size_t>(t)], x_.data() + t * H_);
    }
    if (s_.position == PositionKind::kLearned) {
      const int64_t maxp = p_.entry(tensors::embed_positions).shape[0];
      for (int32_t v : pos)
        if (v >= maxp) throw Error("position " + std::to_string(v) + " exceeds the model's " + std::to_string(maxp) + " learned positions", "use shorter sequences");
      kt_->add_rows(pos.data(), T, p_.data(tensors::embed_positions), H_, x_.data());
    }
    const float* inv_freq = p_.has(tensors::rope_inv_freq) ? static_cast<const float*>(p_.data(tensors::rope_inv_freq)) : nullptr;
    const int64_t hq = s_.num_attention_heads, hkv = s_.num_key_value_heads;
    qkv_.resize(static_cast<size_t>(T * (Q_ + 2 * KV_)));
    q_.resize(static_cast<size_t>(T * Q_));
    k_.resize(static_cast<size_t>(T * KV_));
    v_.resize(static_cast<size_t>(T * KV_));
    attn_.resize(static_cast<size_t>(T * Q_));
    act_.resize(static_cast<size_t>(T * (s_.mlp_gated ? 2 * I_ : I_)));
    mlp_.resize(static_cast<size_t>(T * I_));
    for (int64_t l = 0; l < s_.num_hidden_layers; ++l) {
      const LayerPtrs& L = layers_[l];
      // Pre-norm blocks project norm(x); OLMo 2's post-norm blocks project x and normalize the branch outputs.
      if (!s_.post_norm) norm(x_.data(), T, L.attn_norm_w, L.attn_norm_b, h_.data());
      linear(L.qkv_w, s_.post_norm ? x_.data() : h_.data(), T, L.qkv_b, qkv_.data());
      for (int64_t t = 0; t < T; ++t) {
        const float* r = qkv_.data() + t * (Q_ + 2 * KV_);
        std::memcpy(q_.data() + t * Q_, r, Q_ * 4);
        std::memcpy(k_.data() + t * KV_, r + Q_, KV_ * 4);
        std::memcpy(v_.data() + t * KV_, r + Q_ + KV_, KV_ * 4);
      }
      if (L.q_norm_w) {  // in place: Qwen3's RMSNorm of each head ([T * heads] rows of head_dim), OLMo 2's of all heads
        const bool per_head = s_.qk_norm == QkNorm::kPerHead;
        const float eps = static_cast<float>(s_.norm_eps);
        kt_->rmsnorm(q_.data(), per_head ? T * hq : T, per_head ? s_.head_dim : Q_, L.q_norm_w, eps, q_.data());
        kt_->rmsnorm(k_.data(), per_head ? T * hkv : T, per_head ? s_.head_dim : KV_, L.k_norm_w, eps, k_.data());
      }
      if (s_.layer_rope(l)) {  // not on SmolLM3's NoPE layers
        kt_->rope(q_.data(), T, hq, pos.data(), inv_freq);
        kt_->rope(k_.data(), T, hkv, pos.data(), inv_freq);
      }
      cpu::KvLayer kv{kv_[l].k.get(), kv_[l].v.get(), kv_[l].b.get(), hkv, kv_[l].s.get(), static_cast<float>(s_.attn_logit_softcapping.value_or(0))};
      int64_t t0 = 0;
      for (size_t i = 0; i < seqs.size(); ++i) {
        const StepSeq& q = seqs[i];
        cpu::SeqPages sp{q.kv->pages.data(), q.kv->num_tokens + q.n};
        kt_->kv_append(kv, sp, q.kv->num_tokens, q.n, k_.data() + t0 * KV_, v_.data() + t0 * KV_);
        if (q.decode) {
          const int64_t budget = l < o_.dense_layers ? 0 : q.budget;
          cpu::SelectStats st;
          const int64_t keep_at = l * hkv * kt_->top_k;
          const bool keeps = q.select_every > 1 && budget > 0;
          const cpu::SelectReuse ru{keeps ? q.kv->select.kept.data() + keep_at : nullptr, keeps ? reuse[i] : 0};
          const float scale = static_cast<float>(s_.attention_scale);
          // Diagnostics go through the selection extension; production runs the KernelTable's kernel.
          if (q.diag) attend_decode_diag(q, l, *kt_, kv, sp, hq, scale, budget, ru, q_.data() + t0 * Q_, attn_.data() + t0 * Q_, &st);
          else kt_->attend_decode(kv, sp, hq, scale, budget, ru, q_.data() + t0 * Q_, attn_.data() + t0 * Q_, &st);
          ++counters_.decode_calls;
          counters_.pages_total += st.pages_total;
          counters_.pages_scored += st.pages_scored;
          counters_.pages_kept += st.pages_kept;
          counters_.kept_per_layer[l] += st.pages_kept;
          counters_.total_per_layer[l] += st.pages_total;
        } else {
          kt_->attend_prefill(kv, sp, q.kv->num_tokens, q.n, hq, static_cast<float>(s_.attention_scale), q_.data() + t0 * Q_, attn_.data() + t0 * Q_);
        }
        t0 += q.n;
      }
      linear(L.o_w, attn_.data(), T, L.o_b, h_.data());
      if (s_.post_norm) norm(h_.data(), T, L.attn_norm_w, L.attn_norm_b, h_.data());  // in place (row statistics first)
      if (L.post_attn_norm_w) norm(h_.data(), T, L.post_attn_norm_w, nullptr, h_.data());  // Gemma 2/3's sandwich
      kt_->add(x_.data(), h_.data(), T * H_);
      if (!s_.post_norm) norm(x_.data(), T, L.mlp_norm_w, L.mlp_norm_b, h_.data());
      const float* mlp_in = s_.post_norm ? x_.data() : h_.data();
      if (s_.mlp_gated) {
        linear(L.up_w, mlp_in, T, L.up_b, act_.data());
        (s_.activation == Activation::kSilu ? kt_->silu_mul : kt_->gelu_tanh_mul)(act_.data(), T, I_, mlp_.data());
      } else {
        linear(L.up_w, mlp_in, T, L.up_b, mlp_.data());
        kt_->gelu(mlp_.data(), T * I_, s_.activation == Activation::kGeluTanh ? 1 : 0);
      }
      linear(L.down_w, mlp_.data(), T, L.down_b, h_.data());
      if (s_.post_norm) norm(h_.data(), T, L.mlp_norm_w, L.mlp_norm_b, h_.data());
      if (L.post_mlp_norm_w) norm(h_.data(), T, L.post_mlp_norm_w, nullptr, h_.data());
      kt_->add(x_.data(), h_.data(), T * H_);
    }
    // Rows that need logits: every token or the last of each sequence.
    std::vector<float> sel(static_cast<size_t>(rows * H_));
    {
      int64_t t0 = 0, r = 0;
      for (auto& q : seqs) {
        for (int64_t i = q.all_logits ? 0 : q.n - 1; i < q.n; ++i, ++r)
          std::memcpy(sel.data() + r * H_, x_.data() + (t0 + i) * H_, H_ * 4);
        t0 += q.n;
      }
    }
    const float* final_w = p_.has(tensors::final_norm_w) ? static_cast<const float*>(p_.data(tensors::final_norm_w)) : nullptr;
    const float* final_b = p_.has(tensors::final_norm_b) ? static_cast<const float*>(p_.data(tensors::final_norm_b)) : nullptr;
    const float* head_b = p_.has(tensors::lm_head_b) ? static_cast<const float*>(p_.data(tensors::lm_head_b)) : nullptr;
    std::vector<float> normed(sel.size());
    norm(sel.data(), rows, final_w, final_b, normed.data());
    logits.resize(static_cast<size_t>(rows * V_));
    if (lm_head_.format != WeightFormat::kI8) {
      linear(lm_head_, normed.data(), rows, head_b, logits.data());
      final_softcap(logits);
      return;
    }
    // The graph computes the head on every position, so its DynamicQuantizeLinear ranges over all of a sequence's
    // normed rows of the step, also where only the last row's logits are wanted.
    h_.resize(static_cast<size_t>(T * H_));
    norm(x_.data(), T, final_w, final_b, h_.data());
    row_quant_params(h_.data(), H_);
    std::vector<float> xs;
    std::vector<uint8_t> xz;
    for (size_t i = 0; i < seqs.size(); ++i)
      for (int64_t t = seqs[i].all_logits ? bounds_[i] : bounds_[i + 1] - 1; t < bounds_[i + 1]; ++t) xs.push_back(xs_[t]), xz.push_back(xz_[t]);
    linear_int8(lm_head_, normed.data(), rows, xs.data(), xz.data(), head_b, logits.data());
    final_softcap(logits);
  }

 private:
  const Payload& p_;
  const DecoderSpec& s_;
  const BuildOptions& o_;
  const cpu::KernelTable* kt_ = nullptr;
  int64_t H_ = 0, Q_ = 0, KV_ = 0, I_ = 0, V_ = 0;
  std::vector<LayerPtrs> layers_;
  LinearWeight lm_head_;
  struct LayerKv {
    std::unique_ptr<float[]> k, v, b;
    std::unique_ptr<uint32_t[]> s;  // page sketches (null with the bound)
  };
  std::vector<LayerKv> kv_;
  int64_t sketch_elems_ = 0;  // sketch words per page (all KV heads)
  std::vector<float> x_, h_, qkv_, q_, k_, v_, attn_, act_, mlp_;
  std::vector<int64_t> bounds_;  // the step's rows per sequence (forward)
  std::vector<float> xs_;        // 8-bit projections: each row's DynamicQuantizeLinear scale and zero point
  std::vector<uint8_t> xz_;
  SelectionCounters counters_;

  static void check(bool ok, const char* what, int64_t want, int64_t have) {
    if (!ok)
      throw Error(std::string("the linked kernels are specialized for ") + what + " " + std::to_string(have) + " but the model needs " + std::to_string(want),
                  "rebuild the executable with tsc; kernels and payload come from different builds");
  }

  // A projection's weight in its stored format; a 4-bit one needs kernels specialized for its block size.
  LinearWeight weight(const std::string& name, int64_t out, int64_t in) const {
    LinearWeight w = read_linear_weight(p_, name, out, in);
    if (w.format == WeightFormat::kQ4) {
      check(kt_->linear_q4 != nullptr && kt_->q4_block == w.block_size, "4-bit block size", w.block_size, kt_->q4_block);
    } else if (w.format == WeightFormat::kDense) {
      check(static_cast<int32_t>(w.dtype) == kt_->weight_dtype, "weight dtype", static_cast<int64_t>(w.dtype), kt_->weight_dtype);
    }
    return w;
  }

  // y[M, out] = x[M, in] W^T (+ bias) in the weight's format; x's rows are the step's (bounds_).
  void linear(const LinearWeight& w, const float* x, int64_t M, const float* bias, float* y) {
    if (w.format == WeightFormat::kQ4) {
      kt_->linear_q4(x, M, w.in, static_cast<const uint8_t*>(w.data), w.scales, w.zero_points, bias, w.out, y);
    } else if (w.format == WeightFormat::kI8) {
      row_quant_params(x, w.in);
      linear_int8(w, x, M, xs_.data(), xz_.data(), bias, y);
    } else {
      kt_->linear(x, M, w.in, w.data, bias, w.out, y);
    }
  }

  // xs_, xz_ [rows]: DynamicQuantizeLinear's parameters over each sequence's rows of x [rows, K] (bounds_).
  void row_quant_params(const float* x, int64_t K) {
    xs_.resize(static_cast<size_t>(bounds_.back()));
    xz_.resize(xs_.size());
    for (size_t i = 0; i + 1 < bounds_.size(); ++i) {
      float s = 1.f;
      uint8_t z = 0;
      kt_->dynamic_quant_params(x + bounds_[i] * K, (bounds_[i + 1] - bounds_[i]) * K, &s, &z);
      std::fill(xs_.begin() + bounds_[i], xs_.begin() + bounds_[i + 1], s);
      std::fill(xz_.begin() + bounds_[i], xz_.begin() + bounds_[i + 1], z);
    }
  }

  void linear_int8(const LinearWeight& w, const float* x, int64_t M, const float* xs, const uint8_t* xz, const float* bias, float* y) const {
    const auto* s = static_cast<const float*>(w.scales);
    if (w.dtype == DType::kI8)
      kt_->linear_i8(x, M, w.in, xs, xz, static_cast<const int8_t*>(w.data), reinterpret_cast<const int8_t*>(w.zero_points), s, bias, w.out, y);
    else
      kt_->linear_u8(x, M, w.in, xs, xz, static_cast<const uint8_t*>(w.data), w.zero_points, s, bias, w.out, y);
  }

  // Gemma 2/3's final_logit_softcapping: z -> c tanh(z / c) (monotonic: greedy ids are unchanged, sampling is not).
  void final_softcap(std::vector<float>& z) const {
    if (!s_.final_logit_softcapping) return;
    const float c = static_cast<float>(*s_.final_logit_softcapping);
    for (float& v : z) v = c * std::tanh(v / c);
  }

  void norm(const float* x, int64_t n, const float* w, const float* b, float* out) {
    if (s_.norm == NormKind::kLayerNorm) kt_->layernorm(x, n, H_, w, b, static_cast<float>(s_.norm_eps), out);
    else kt_->rmsnorm(x, n, H_, w, static_cast<float>(s_.norm_eps), out);
  }
};

}  // namespace

bool cpu_kernels_linked() { return tsc_cpu_kernels != nullptr; }

std::unique_ptr<Backend> make_cpu_backend(const Payload& payload, int64_t num_pages) {
  return std::make_unique<CpuBackend>(payload, num_pages);
}

}  // namespace tsc
