// Lifting the canonical graph to a DecoderSpec: embedding -> N x (norm, attention, residual, norm, MLP,
// residual) -> final norm -> LM head, recognized from structure; names are used only to look weights up.
#include "compiler/lift/lift.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <ostream>
#include <set>

#include "compiler/ir/passes/model_inputs.h"
#include "compiler/ir/probe.h"
#include "contract/error.h"

namespace tsc {
namespace {

const char* kHint = "run tsc with -v to see which canonicalization did not match; tsc supports GPT-2 and Llama-family decoders";

class Lifter {
 public:
  Lifter(const Graph& g, const LiftOptions& o) : g_(g), ud_(g), opt_(o) {}

  LiftResult run() {
    refuse_quantized();
    mi_ = classify_inputs(g_);
    if (mi_.input_ids.empty())
      throw Error("the graph has no token embedding: no integer input is used as indices of a Gather into a [vocab, hidden] table",
                  "tsc compiles decoder-only language models (GPT-2, Llama families); is this one?");
    if (g_.outputs.empty()) throw Error("the graph has no outputs", "re-export the model");
    io_.input_ids = mi_.input_ids;
    io_.attention_mask = mi_.attention_mask;
    io_.position_ids = mi_.position_ids;
    std::string r = embedding();
    layers(r);
    rotary_layers();
    gemma_query_scalar();
    fold_family_scales();
    check_all_used();
    w_.layers = layers_;
    s_.num_hidden_layers = static_cast<int64_t>(layers_.size());
    LiftResult out{s_, w_, io_};
    out.validate();
    summarize_quantization(out);
    return out;
  }

 private:
  const Graph& g_;
  UseDef ud_;
  LiftOptions opt_;
  ModelInputs mi_;
  DecoderSpec s_;
  ModelBindings w_;  // what the spec's weights are bound to
  ModelIO io_;
  std::vector<LayerWeights> layers_;
  std::set<const Node*> used_;
  std::optional<double> eps_;

  [[noreturn]] void fail(const std::string& where, const std::string& what, const Node* at = nullptr) const {
    throw Error(where + ": " + what + (at ? " (at " + at->describe() + ")" : ""), kHint);
  }
  // A recognized family feature tsc does not implement (compiler/lift/family_refusals.cpp refuses those config.json names).
  [[noreturn]] void refuse(const std::string& where, const std::string& what, const Node* at) const {
    throw Error(where + ": " + what + " is not implemented (at " + at->describe() + ")",
                "tsc does not implement this feature yet (issue 20); compile a model of the same family without it");
  }

  // Quantized forms other than MatMulNBits with constant codes (which fuse-quantized-linear turned into tsc.Linear)
  // are not compiled yet: say so, naming the node, instead of failing later where it breaks a pattern.
  void refuse_quantized() const {
    static const std::set<std::string> kQuantized = {"MatMulNBits", "MatMulBnb4", "MatMulInteger", "DynamicQuantizeLinear",
                                                     "DequantizeLinear", "QuantizeLinear", "QLinearMatMul", "GatherBlockQuantized"};
    for (const auto& n : g_.nodes)
      if (kQuantized.count(n->op))
        throw Error(n->describe() + ": quantized weights in this form (" + n->op + ") are not compiled yet",
                    "compile the 4-bit (MatMulNBits) or the float model of the same download (onnx/model_q4.onnx, onnx/model.onnx)");
  }

  Node* producer(const std::string& v) const { return ud_.producer(v); }
  const std::vector<Node*>& consumers(const std::string& v) const { return ud_.consumers(v); }
  void use(const Node* n) { used_.insert(n); }

  // Follows Cast/Identity/Reshape producers whose output keeps the element count (index reshapes).
  std::string through_casts(std::string v) const {
    for (int i = 0; i < 8; ++i) {
      Node* n = producer(v);
      if (!n || !(n->is("Cast") || n->is("Identity"))) return v;
      v = n->inputs[0];
    }
    return v;
  }

  WeightBinding bind(const std::string& init, std::vector<WeightOp> ops, const std::string& what) const {
    const Tensor* t = g_.constant(init);
    if (!t) throw Error(what + ": '" + init + "' is not a constant", kHint);
    WeightBinding w;
    w.initializer = init;
    w.source_dtype = t->dtype;
    w.source_shape = t->shape;
    w.shape = t->shape;
    for (auto& op : ops) {
      if (op.kind == WeightOp::Kind::kTranspose) std::swap(w.shape[0], w.shape[1]);
      else w.shape[op.axis] = op.length;
    }
    w.ops = std::move(ops);
    return w;
  }

  // MatMulNBits codes (fuse-quantized-linear): the logical weight is [N, K]; scales and zero points ride along.
  WeightBinding bind_q4(const Node* lin, std::vector<WeightOp> ops, const std::string& what) const {
    WeightBinding w = bind(lin->inputs[1], {}, what);
    const Tensor* scales = g_.constant(lin->input(3));
    const int64_t bs = lin->attr_i("block_size", 0), K = lin->attr_i("K", 0);
    // fuse-quantized-linear writes these from a MatMulNBits the op registry checked; anything else is refused.
    if (!scales || w.source_shape.size() != 3 || bs < 16 || K <= 0 || w.source_shape[1] != (K + bs - 1) / bs || w.source_shape[2] != bs / 2 ||
        scales->numel() != w.source_shape[0] * w.source_shape[1] || !(scales->dtype == DType::kF32 || scales->dtype == DType::kF16) ||
        w.source_dtype != DType::kU8 ||
        (!lin->input(4).empty() && (!g_.constant(lin->input(4)) || g_.constant(lin->input(4))->dtype != DType::kU8 ||
                                    g_.constant(lin->input(4))->numel() != w.source_shape[0] * ((w.source_shape[1] + 1) / 2))))
      fail(what, "4-bit projection with malformed codes, scales or zero points", lin);
    w.shape = {w.source_shape[0], K};
    for (auto& op : ops) w.shape[op.axis] = op.length;
    w.ops = std::move(ops);
    w.q4 = QuantizedWeight{lin->attr_i("block_size", 0), lin->input(3), lin->input(4), scales->dtype};
    return w;
  }

  // MatMulInteger codes [in, out] (fuse-quantized-linear): viewed as [out, in] like a float weight; the scale and
  // zero point (1 or out values each) ride along.
  WeightBinding bind_i8(const Node* lin, std::vector<WeightOp> ops, const std::string& what) const {
    WeightBinding w = bind(lin->inputs[1], std::move(ops), what);
    const Tensor* scales = g_.constant(lin->input(3));
    const Tensor* zp = lin->input(4).empty() ? nullptr : g_.constant(lin->input(4));
    const int64_t out = w.source_shape.size() == 2 ? w.source_shape[1] : -1;
    // fuse-quantized-linear checked these; a malformed file that slipped through is refused, never read past its end.
    if (out < 0 || !(w.source_dtype == DType::kI8 || w.source_dtype == DType::kU8) || !scales || scales->dtype != DType::kF32 ||
        (scales->numel() != 1 && scales->numel() != out) || (!lin->input(4).empty() && (!zp || zp->numel() != scales->numel() || zp->dtype != w.source_dtype)))
      fail(what, "8-bit projection with malformed codes, scales or zero points", lin);
    w.i8 = Int8Weight{lin->input(3), lin->input(4)};
    return w;
  }

  // Linear weight as [out, in], optionally only output rows [start, start+len).
  std::pair<WeightBinding, std::optional<WeightBinding>> linear(const Node* lin, const std::string& what, int64_t start = 0, int64_t len = -1) {
    use(lin);
    std::vector<WeightOp> ops;
    if (lin->attr_i("w_in_out", 1)) ops.push_back({WeightOp::Kind::kTranspose, 0, 0, 0});
    const Tensor* w = g_.constant(lin->inputs[1]);
    const int64_t out = lin->attr_i("w_in_out", 1) ? w->shape[1] : w->shape[0];
    if (len >= 0 && !(start == 0 && len == out)) ops.push_back({WeightOp::Kind::kSlice, 0, start, len});
    const std::string format = lin->attr_s("format", "");
    WeightBinding wb = format == "q4" ? bind_q4(lin, ops, what) : format == "i8" ? bind_i8(lin, ops, what) : bind(lin->inputs[1], ops, what);
    std::optional<WeightBinding> bb;
    if (lin->inputs.size() > 2 && !lin->inputs[2].empty()) {
      const Tensor* b = g_.constant(lin->inputs[2]);
      std::vector<WeightOp> bops;
      if (len >= 0 && !(start == 0 && len == out)) bops.push_back({WeightOp::Kind::kSlice, 0, start, len});
      WeightBinding x = bind(lin->inputs[2], {}, what + " bias");
      x.shape = {b->numel()};  // [1, out] biases are vectors
      x.source_shape = b->shape;
      for (auto& op : bops) x.shape[0] = op.length;
      x.ops = bops;
      bb = x;
    }
    return {wb, bb};
  }

  // One projection input of an attention: Linear directly, or output k of a Split / a Slice of a fused Linear.
  struct Proj { const Node* lin; int64_t start, len; };
  Proj projection(const std::string& v0, const std::string& norm_out, const std::string& where) {
    std::string v = v0;
    Node* n = producer(v);
    if (n && n->is_tsc("Linear")) {
      if (n->inputs[0] != norm_out) fail(where, "projection does not read the attention norm's output", n);
      return {n, 0, -1};
    }
    if (n && n->is("Split")) {
      use(n);
      Node* lin = producer(n->inputs[0]);
      if (!lin || !lin->is_tsc("Linear") || lin->inputs[0] != norm_out) fail(where, "split QKV does not come from a projection of the norm output", n);
      auto rank = g_.rank(n->inputs[0]);
      int64_t ax = n->attr_i("axis", 0);
      if (!rank || (ax != -1 && ax != static_cast<int64_t>(*rank) - 1)) fail(where, "QKV split is not along features", n);
      auto sh = g_.shape(n->inputs[0]);
      const int64_t total = *sh->back().as_const();
      std::vector<int64_t> sizes;
      if (n->inputs.size() > 1 && !n->inputs[1].empty()) sizes = g_.constant(n->inputs[1])->to_i64();
      else sizes = n->attr_ints("split");
      if (sizes.empty()) sizes.assign(n->outputs.size(), total / static_cast<int64_t>(n->outputs.size()));
      int64_t off = 0;
      for (size_t k = 0; k < n->outputs.size(); ++k) {
        if (n->outputs[k] == v) return {lin, off, sizes[k]};
        off += sizes[k];
      }
    }
    if (n && n->is("Slice")) {
      Node* lin = producer(n->inputs[0]);
      const Tensor *st = g_.constant(n->input(1)), *en = g_.constant(n->input(2));
      const Tensor *ax = n->input(3).empty() ? nullptr : g_.constant(n->input(3)), *step = n->input(4).empty() ? nullptr : g_.constant(n->input(4));
      auto sh = g_.shape(n->inputs[0]);
      const bool features = ax && ax->numel() == 1 && sh && (ax->i64(0) == -1 || ax->i64(0) == static_cast<int64_t>(sh->size()) - 1) &&
                            (!step || (step->numel() == 1 && step->i64(0) == 1));
      if (lin && lin->is_tsc("Linear") && lin->inputs[0] == norm_out && st && en && st->numel() == 1 && features && sh->back().as_const()) {
        use(n);
        int64_t total = *sh->back().as_const(), a = st->i64(0), b = std::min(en->i64(0), total);
        return {lin, a, b - a};
      }
    }
    fail(where, "expected a Linear projection (or a split of a fused QKV / gate_up projection) of the norm output, found " +
                    (n ? n->describe() : "'" + v + "'"));
  }

  // A branch scaled by a constant: v's only consumer is Mul(v, c) (or Div(v, c)) with c one element. Returns the
  // Mul/Div and the factor it applies (1/c for Div); nullptr when v is not so scaled.
  const Node* scaled_by(const std::string& v, double* factor) const {
    auto& cs = consumers(v);
    if (cs.size() != 1 || ud_.is_graph_output(v) || cs[0]->inputs.size() != 2) return nullptr;
    const Node* m = cs[0];
    const bool div = m->is("Div");
    if (!(m->is("Mul") || (div && m->inputs[0] == v))) return nullptr;
    const Tensor* c = g_.constant(m->inputs[0] == v ? m->inputs[1] : m->inputs[0]);
    if (!c || c->numel() != 1 || !dtype_is_float(c->dtype)) return nullptr;
    const double x = c->f64(0);
    if (div && x == 0) return nullptr;
    *factor = div ? 1.0 / x : x;
    return m;
  }

  // Gemma 2/3 (sandwich-normed) name the attention scale by query_pre_attn_scalar = scale^-2 (an integer in their
  // configs: 256, 144; the float32 scale rounds it by ~1e-7).
  void gemma_query_scalar() {
    if (!s_.sandwich_norm || s_.attention_scale <= 0) return;
    const double q = 1.0 / (s_.attention_scale * s_.attention_scale), r = std::round(q);
    s_.query_pre_attn_scalar = std::fabs(q - r) <= 1e-5 * q ? r : round_to_float32_repr(q);
  }

  static void scale_binding(std::optional<WeightBinding>& b, double f) {
    if (b) b->ops.push_back({WeightOp::Kind::kScale, 0, 0, 0, f});
  }

  // Granite's residual_multiplier: x += m * branch, m equal for every branch of every layer; returns the value
  // added to the residual stream (the Mul's output, or v itself).
  std::string residual_branch(const std::string& v, const std::string& where) {
    double f = 0;
    const Node* m = scaled_by(v, &f);
    const bool first = !branch_seen_;
    branch_seen_ = true;
    if (!m) {
      if (s_.residual_multiplier) fail(where, "a residual branch is not scaled by residual_multiplier as the others are");
      return v;
    }
    if (!first && !s_.residual_multiplier) fail(where, "a residual branch is scaled by a constant the others are not", m);
    if (s_.residual_multiplier && *s_.residual_multiplier != round_to_float32_repr(f))
      fail(where, "residual branches are scaled by different constants", m);
    s_.residual_multiplier = round_to_float32_repr(f);
    use(m);
    return m->outputs[0];
  }
  bool branch_seen_ = false;

  // Folds the family's constant factors into the bindings (exact up to one float rounding per weight):
  //   embedding_multiplier m: embed_tokens x m; when the LM head reads the same table, the final norm x 1/m
  //     (logits = (w/m * n(x)) . (m E)^T), so the payload keeps one table;
  //   residual_multiplier r: o_proj and down_proj (weights and biases) x r;
  //   logits_scaling s: the final norm (weight and bias) and the LM head's bias x 1/s.
  void fold_family_scales() {
    double head = 1;
    if (s_.embedding_multiplier) {
      w_.embed_tokens.ops.push_back({WeightOp::Kind::kScale, 0, 0, 0, *s_.embedding_multiplier});
      if (s_.tie_word_embeddings) {
        w_.lm_head.ops.push_back({WeightOp::Kind::kScale, 0, 0, 0, *s_.embedding_multiplier});
        head /= *s_.embedding_multiplier;
      }
    }
    if (s_.logits_scaling) {
      head /= *s_.logits_scaling;
      scale_binding(w_.lm_head_b, 1.0 / *s_.logits_scaling);
    }
    if (head != 1) {
      if (!w_.final_norm_w) fail("lm_head", "the logits are scaled but there is no final norm to fold the scale into");
      scale_binding(w_.final_norm_w, head);
      scale_binding(w_.final_norm_b, head);
    }
    if (s_.residual_multiplier)
      for (auto& L : layers_) {
        for (auto* b : {&L.o_w, &L.o_b, &L.down_w, &L.down_b}) scale_binding(*b, *s_.residual_multiplier);
      }
  }

  void record_norm(const Node* n, std::optional<WeightBinding>& w, std::optional<WeightBinding>& b, const std::string& what) {
    use(n);
    NormKind k = n->is_tsc("LayerNorm") ? NormKind::kLayerNorm : NormKind::kRMSNorm;
    if (!eps_) { s_.norm = k; eps_ = n->attr_f("epsilon", 1e-5f); s_.norm_eps = round_to_float32_repr(*eps_); }
    else if (s_.norm != k) fail(what, "mixes LayerNorm and RMSNorm", n);
    else if (std::fabs(*eps_ - n->attr_f("epsilon", 1e-5f)) > 1e-12) fail(what, "norms use different epsilons", n);
    auto vec = [&](const std::string& init, const std::string& nm) {
      WeightBinding x = bind(init, {}, nm);
      x.shape = {g_.constant(init)->numel()};
      return x;
    };
    w = vec(n->inputs[1], what + " weight");
    if (n->inputs.size() > 2 && !n->inputs[2].empty()) b = vec(n->inputs[2], what + " bias");
  }

  Node* norm_consumer(const std::string& r) {
    for (Node* c : consumers(r))
      if (c->is_tsc("LayerNorm") || c->is_tsc("RMSNorm")) return c;
    return nullptr;
  }

  // Add(r, x) or Add(x, r) among r's consumers; returns it and sets *other.
  Node* residual_add(const std::string& r, const std::string& x) {
    for (Node* c : consumers(r))
      if (c->is("Add") && c->inputs.size() == 2 && ((c->inputs[0] == r && c->inputs[1] == x) || (c->inputs[1] == r && c->inputs[0] == x)))
        return c;
    return nullptr;
  }

  std::string embedding() {
    // Gather(table, ids) with ids = input_ids through index reshapes/casts.
    Node* gather = nullptr;
    for (auto& np : g_.nodes) {
      const Node* n = np.get();
      if (n->is("Gather") && n->inputs.size() == 2 && through_casts(n->inputs[1]) == mi_.input_ids && g_.constant(n->inputs[0])) {
        gather = const_cast<Node*>(n);
        break;
      }
    }
    if (!gather) fail("embedding", "input '" + mi_.input_ids + "' does not index a constant [vocab, hidden] table");
    use(gather);
    for (Node* p = producer(gather->inputs[1]); p && (p->is("Cast") || p->is("Identity")); p = producer(p->inputs[0])) use(p);
    const Tensor* E = g_.constant(gather->inputs[0]);
    if (E->shape.size() != 2 || gather->attr_i("axis", 0) != 0) fail("embedding", "table is not [vocab, hidden]", gather);
    s_.vocab_size = E->shape[0];
    s_.hidden_size = E->shape[1];
    s_.weight_dtype = E->dtype;
    w_.embed_tokens = bind(gather->inputs[0], {}, "embed_tokens");
    std::string x = gather->outputs[0];
    // Learned positions: Add(x, Gather(P, positions)).
    for (Node* c : consumers(x)) {
      if (!c->is("Add")) continue;
      std::string other = c->inputs[0] == x ? c->inputs[1] : c->inputs[0];
      Node* pg = producer(other);
      if (!pg || !pg->is("Gather") || !g_.constant(pg->inputs[0])) continue;
      const Tensor* P = g_.constant(pg->inputs[0]);
      if (P->shape.size() != 2 || P->shape[1] != s_.hidden_size) continue;
      check_positions(pg->inputs[1], pg);
      use(c);
      use(pg);
      s_.position = PositionKind::kLearned;
      w_.embed_positions = bind(pg->inputs[0], {}, "embed_positions");
      s_.max_position_embeddings = P->shape[0];
      mark_cone(pg->inputs[1]);
      return c->outputs[0];
    }
    s_.position = PositionKind::kRope;
    // Granite's embedding_multiplier, Gemma's sqrt(hidden_size): Mul(Gather(E, ids), c).
    double m = 0;
    if (const Node* mul = scaled_by(x, &m)) {
      use(mul);
      s_.embedding_multiplier = round_to_float32_repr(m);
      return mul->outputs[0];
    }
    return x;
  }

  // Positions feeding a learned table must be 0..n-1 after the cached tokens.
  void check_positions(const std::string& pos, const Node* at) {
    for (int64_t past : mi_.past.empty() ? std::vector<int64_t>{0} : std::vector<int64_t>{0, 3}) {
      auto in = probe_inputs(g_, mi_, 5, past);
      auto t = probe_value(g_, pos, in);
      if (!t || t->numel() % 5 != 0) fail("positions", "cannot evaluate the position ids for concrete inputs", at);
      for (int64_t k = 0; k < t->numel(); ++k)
        if (t->i64(k) != past + k % 5) fail("positions", "position ids are not 0, 1, 2, ... after the cached tokens", at);
    }
  }

  // Marks the producer cone of v (index arithmetic for positions) as used.
  void mark_cone(const std::string& v) {
    std::vector<std::string> st = {v};
    std::set<std::string> seen;
    while (!st.empty()) {
      std::string x = st.back();
      st.pop_back();
      if (!seen.insert(x).second) continue;
      Node* n = producer(x);
      if (!n) continue;
      use(n);
      for (auto& i : n->inputs) if (!i.empty()) st.push_back(i);
    }
  }

  void layers(std::string r) {
    for (int li = 0;; ++li) {
      const std::string where = "layer " + std::to_string(li);
      Node* n1 = norm_consumer(r);
      // Is this the final norm? Its output feeds the LM head.
      if (Node* head = n1 ? lm_head_after(n1) : nullptr) {
        if (li == 0) fail("model", "no transformer block between the embedding and the LM head");
        record_norm(n1, w_.final_norm_w, w_.final_norm_b, "final norm");
        finish_head(head);
        return;
      }
      // OLMo 2's post-norm blocks: the projections read the residual stream; norms follow the attention and the MLP.
      bool post = false;
      for (Node* c : consumers(r)) post |= !n1 && c->is_tsc("Linear");
      if (!n1 && !post) fail(where, "the residual stream '" + r + "' feeds no LayerNorm/RMSNorm");
      if (li == 0) s_.post_norm = post;
      else if (post != s_.post_norm) fail(where, "mixes blocks with norms before the projections and blocks with norms after them", n1);
      LayerWeights L;
      if (!post) record_norm(n1, L.attn_norm_w, L.attn_norm_b, where + " attention norm");
      const std::string h = post ? r : n1->outputs[0];
      Node* attn = nullptr;
      // Find the attention reading projections of h.
      for (auto& np : g_.nodes) {
        const Node* n = np.get();
        if (!n->is_tsc("Attention") || used_.count(n)) continue;
        std::string q = n->inputs[0];
        Node* pq = producer(q);
        if (pq && pq->is_tsc("Rope")) q = pq->inputs[0];
        Node* src = producer(q);
        if (src && (src->is_tsc("Linear") ? src->inputs[0] == h : (producer(src->inputs[0]) && producer(src->inputs[0])->is_tsc("Linear") && producer(src->inputs[0])->inputs[0] == h))) {
          attn = const_cast<Node*>(n);
          break;
        }
      }
      if (!attn) {
        refuse_qk_norm(h, where);
        fail(where, std::string(post ? "the residual stream" : "the attention norm's output") + " feeds no recognized attention (softmax(QK^T)V)", n1);
      }
      use(attn);
      attention(attn, h, L, where, li);
      // Output projection and residual add.
      auto& oc = consumers(attn->outputs[0]);
      if (oc.size() != 1 || !oc[0]->is_tsc("Linear")) fail(where, "attention output does not feed one output projection", attn);
      Node* o = oc[0];
      auto [ow, ob] = linear(o, where + " o_proj");
      L.o_w = ow;
      L.o_b = ob;
      std::string attn_out = o->outputs[0];
      if (post) attn_out = post_norm(attn_out, L.attn_norm_w, L.attn_norm_b, where + " post-attention norm");
      // Gemma 2/3's sandwich: a norm before the projections and one on each branch output (4 per layer).
      const bool sandwich = !post && normed_branch(attn_out);
      if (li == 0) s_.sandwich_norm = sandwich;
      else if (sandwich != s_.sandwich_norm) fail(where, "mixes blocks with and without norms on their branch outputs", o);
      if (sandwich) attn_out = post_norm(attn_out, L.post_attn_norm_w, no_bias_, where + " post-attention norm");
      Node* add1 = residual_add(r, residual_branch(attn_out, where));
      if (!add1) fail(where, "attention output is not added to the residual stream (parallel attention/MLP blocks are not supported)", o);
      use(add1);
      std::string r2 = add1->outputs[0];
      std::string m;
      if (post) {
        m = post_norm(mlp(r2, L, where), L.mlp_norm_w, L.mlp_norm_b, where + " post-feedforward norm");
      } else {
        Node* n2 = norm_consumer(r2);
        if (!n2) fail(where, "no MLP norm after the attention residual", add1);
        record_norm(n2, L.mlp_norm_w, L.mlp_norm_b, where + " MLP norm");
        m = mlp(n2->outputs[0], L, where);
        if (sandwich) m = post_norm(m, L.post_mlp_norm_w, no_bias_, where + " post-feedforward norm");
      }
      m = residual_branch(m, where);
      Node* add2 = residual_add(r2, m);
      if (!add2) fail(where, "MLP output is not added to the residual stream", producer(m));
      use(add2);
      s_.attention_bias = L.q_b.has_value() || L.o_b.has_value();
      layers_.push_back(L);
      r = add2->outputs[0];
    }
  }

  // v (a branch output) is read only by an RMSNorm (Gemma 2/3's post-attention / post-feedforward norm).
  bool normed_branch(const std::string& v) const {
    auto& cs = consumers(v);
    return cs.size() == 1 && cs[0]->is_tsc("RMSNorm") && cs[0]->inputs[0] == v;
  }

  // A post-norm block's branch output v normalized before its residual add (OLMo 2): the norm's output.
  std::string post_norm(const std::string& v, std::optional<WeightBinding>& w, std::optional<WeightBinding>& b, const std::string& what) {
    auto& cs = consumers(v);
    if (cs.size() != 1 || !(cs[0]->is_tsc("RMSNorm") || cs[0]->is_tsc("LayerNorm")) || cs[0]->inputs[0] != v)
      fail(what, "a block without a norm before its projections has no norm on its output either", producer(v));
    record_norm(cs[0], w, b, what);
    if (&b == &no_bias_ && no_bias_) fail(what, "a sandwich block's branch norm has a bias", cs[0]);
    return cs[0]->outputs[0];
  }
  std::optional<WeightBinding> no_bias_;  // the bias slot of the sandwich norms, which have none

  void attention(Node* attn, const std::string& h, LayerWeights& L, const std::string& where, int li) {
    const int64_t hq = attn->attr_i("num_heads", 0), hkv = attn->attr_i("num_kv_heads", 0), d = attn->attr_i("head_dim", 0);
    if (li == 0) {
      s_.num_attention_heads = hq;
      s_.num_key_value_heads = hkv;
      s_.head_dim = d;
      s_.attention_scale = attn->attr_f("scale", 0);
    } else if (s_.num_attention_heads != hq || s_.num_key_value_heads != hkv || s_.head_dim != d) {
      fail(where, "head counts differ from layer 0", attn);
    } else if (std::fabs(s_.attention_scale - attn->attr_f("scale", 0)) > 1e-6 * std::fabs(s_.attention_scale)) {
      fail(where, "attention scale differs from layer 0 (per-layer scaling is not supported)", attn);
    }
    // Gemma 2's attention logit soft-capping (fuse-attention's softcap attribute), the same in every layer.
    const std::optional<double> cap = attn->has_attr("softcap") ? std::optional<double>(round_to_float32_repr(attn->attr_f("softcap", 0))) : std::nullopt;
    if (li == 0) s_.attn_logit_softcapping = cap;
    else if (cap != s_.attn_logit_softcapping) fail(where, "attention soft-capping differs from layer 0", attn);
    std::optional<WeightBinding>* ws[3][2] = {{&L.q_w, &L.q_b}, {&L.k_w, &L.k_b}, {&L.v_w, &L.v_b}};
    const char* names[3] = {"q_proj", "k_proj", "v_proj"};
    // fuse-attention has checked that q and k are both rotated or neither (SmolLM3's NoPE layers: neither).
    const Node* qrope = producer(attn->inputs[0]);
    layer_rope_.push_back(qrope && qrope->is_tsc("Rope"));
    if (!layer_rope_.back() && !nope_at_) nope_at_ = attn;
    for (int k = 0; k < 3; ++k) {
      std::string v = attn->inputs[k];
      Node* rope = producer(v);
      if (rope && rope->is_tsc("Rope")) {
        if (k == 2) fail(where, "rotary applied to V", rope);
        use(rope);
        record_rope(rope, where);
        v = rope->inputs[0];
      }
      if (k < 2) v = head_norm(v, k ? L.k_norm_w : L.q_norm_w, where);
      Proj p = projection(v, h, where);
      auto [w, b] = linear(p.lin, where + " " + names[k], p.start, p.len);
      *ws[k][0] = w;
      *ws[k][1] = b;
    }
    if (attn->inputs.size() > 3) {
      io_.past_keys.push_back(attn->inputs[3]);
      io_.past_values.push_back(attn->inputs[4]);
      io_.present_keys.push_back(attn->outputs[1]);
      io_.present_values.push_back(attn->outputs[2]);
    }
  }

  // q/k norms between the projection and the rotary: Qwen3's per head (fuse-head-norm made them tsc.HeadRMSNorm on
  // the token-major q and k), OLMo 2's over all heads (an RMSNorm of the whole projection). Returns the value the
  // norm reads and binds its weight. Every layer's q and k have the same kind; eps is the model's.
  std::string head_norm(const std::string& v, std::optional<WeightBinding>& w, const std::string& where) {
    Node* n = producer(v);
    Node* src = n && n->is_tsc("RMSNorm") ? producer(n->inputs[0]) : nullptr;
    const QkNorm kind = n && n->is_tsc("HeadRMSNorm") ? QkNorm::kPerHead
                        : src && (src->is_tsc("Linear") || src->is("Split") || src->is("Slice")) ? QkNorm::kAllHeads : QkNorm::kNone;
    if (!qk_norm_seen_) {
      qk_norm_seen_ = true;
      s_.qk_norm = kind;
    } else if (s_.qk_norm != kind) {
      fail(where, "q/k normalization differs between the q and k projections or the layers", n);
    }
    if (kind == QkNorm::kNone) return v;
    use(n);
    if (kind == QkNorm::kPerHead && n->attr_i("head_dim", 0) != s_.head_dim) fail(where, "q/k norm is not over head_dim", n);
    if (!eps_) {  // a post-norm block meets its q/k norms before its first other norm
      s_.norm = NormKind::kRMSNorm;
      eps_ = n->attr_f("epsilon", 1e-5f);
      s_.norm_eps = round_to_float32_repr(*eps_);
    }
    if (std::fabs(*eps_ - n->attr_f("epsilon", 1e-5f)) > 1e-12 || s_.norm != NormKind::kRMSNorm)
      fail(where, "q/k norm epsilon or kind differs from the model's norms", n);
    WeightBinding x = bind(n->inputs[1], {}, where + " q/k norm weight");
    x.shape = {g_.constant(n->inputs[1])->numel()};
    w = x;
    return n->inputs[0];
  }
  bool qk_norm_seen_ = false;

  // Layers whose q and k have no rotary (SmolLM3's NoPE layers): spec.no_rope_layers, in HF's convention (1 =
  // rotary). A rotary model needs it in one layer at least.
  void rotary_layers() {
    if (s_.position != PositionKind::kRope) return;
    if (std::find(layer_rope_.begin(), layer_rope_.end(), true) == layer_rope_.end())
      fail("layer 0", "no rotary embedding on Q and K in any layer, and no learned positions", nope_at_);
    if (!nope_at_) return;
    for (bool r : layer_rope_) s_.no_rope_layers.push_back(r ? 1 : 0);
  }
  std::vector<bool> layer_rope_;
  const Node* nope_at_ = nullptr;

  // A q/k normalization other than Qwen3's and OLMo 2's RMSNorms (a LayerNorm, or one over a part of the heads):
  // named here rather than as the attention the norm keeps from being recognized.
  void refuse_qk_norm(const std::string& h, const std::string& where) const {
    for (Node* lin : consumers(h)) {
      if (!lin->is_tsc("Linear")) continue;
      std::string v = lin->outputs[0];
      for (int i = 0; i < 4; ++i) {
        auto& cs = consumers(v);
        if (cs.size() != 1) break;
        const Node* c = cs[0];
        if (c->is_tsc("RMSNorm") || c->is_tsc("LayerNorm"))
          refuse(where, std::string("a q/k ") + (c->is_tsc("LayerNorm") ? "LayerNorm" : "RMSNorm over part of the heads") +
                            " before the rotary (tsc implements q/k RMSNorm per head, Qwen3's, and over all heads, OLMo 2's)", c);
        if (!(c->is("Reshape") || c->is("Transpose") || c->is("Unsqueeze") || c->is("Squeeze") || c->is("Identity"))) break;
        v = c->outputs[0];
      }
    }
  }

  void record_rope(const Node* rope, const std::string& where) {
    const Tensor* inv = g_.constant(rope->inputs[1]);
    std::vector<float> f = inv->to_f32();
    const int64_t rd = rope->attr_i("rotary_dim", 0);
    if (w_.rope_inv_freq.empty()) {
      w_.rope_inv_freq = f;
      s_.rotary_dim = rd;
      s_.rope_interleaved = rope->attr_i("interleaved", 0) != 0;
      s_.rope_theta = fit_theta(f, rd, &s_.rope_scaling_factor);
    } else if (w_.rope_inv_freq != f || s_.rotary_dim != rd) {
      fail(where, "rotary frequencies differ between layers", rope);
    }
  }

  // The values a stored frequency v may have had before it was rounded to the export's precision: float16
  // or bfloat16 when v is one of theirs (a .half() model holds fp16(0.1) = 0.0999756), else float32 within a
  // few ulps (HF computes 1 / theta^(2i/rd) in float32).
  static std::pair<double, double> rounding_interval(float v) {
    if (f16_to_f32(f32_to_f16(v)) == v && v > 0) {
      const uint16_t h = f32_to_f16(v);
      return {(v + f16_to_f32(static_cast<uint16_t>(h - 1))) / 2, (v + f16_to_f32(static_cast<uint16_t>(h + 1))) / 2};
    }
    if (bf16_to_f32(f32_to_bf16(v)) == v && v > 0) {
      const uint16_t h = f32_to_bf16(v);
      return {(v + bf16_to_f32(static_cast<uint16_t>(h - 1))) / 2, (v + bf16_to_f32(static_cast<uint16_t>(h + 1))) / 2};
    }
    float lo = v, hi = v;
    for (int k = 0; k < 4; ++k) { lo = std::nextafter(lo, 0.f); hi = std::nextafter(hi, INFINITY); }
    return {lo, hi};
  }

  // inv_freq[i] = theta^(-2i/rd). theta is the roundest integer that reproduces every stored frequency to
  // within its rounding (10000 from fp16 frequencies, where a least-squares fit says 9996). Llama 3's rope
  // scaling divides only the low frequencies: then theta is the one that reproduces the longest run of leading
  // frequencies (at least 4), and *scaled_factor the ratio theta^(-2i/rd) / inv_freq[i] at the lowest one
  // (llama3's `factor`). Where none does, a least-squares fit on the logs, only descriptive: inv_freq is what
  // the runtime uses.
  static std::optional<double> fit_theta(const std::vector<float>& f, int64_t rd, std::optional<double>* scaled_factor = nullptr) {
    if (f.size() < 2) return std::nullopt;
    double lo = 1, hi = INFINITY, theta = 0;
    size_t explained = 0;
    for (size_t i = 1; i < f.size() && lo <= hi; ++i) {
      if (!(f[i] > 0 && f[i] < 1)) { lo = INFINITY; break; }
      const double x = 2.0 * static_cast<double>(i) / static_cast<double>(rd);
      auto [flo, fhi] = rounding_interval(f[i]);
      lo = std::max(lo, std::pow(fhi, -1.0 / x));
      hi = std::min(hi, std::pow(flo, -1.0 / x));
      if (lo <= hi && hi < 1e18)
        for (double step = 1e17; step >= 1; step /= 10) {
          const double c = std::ceil(lo / step) * step;
          if (c <= hi) { theta = c; explained = i + 1; break; }
        }
    }
    if (explained == f.size()) return theta;
    if (explained >= 4 && scaled_factor) {
      const double last = std::pow(theta, -2.0 * static_cast<double>(f.size() - 1) / static_cast<double>(rd));
      *scaled_factor = round_to_float32_repr(last / f.back());
      return theta;
    }
    double num = 0, den = 0;
    for (size_t i = 1; i < f.size(); ++i) {
      double x = 2.0 * static_cast<double>(i) / static_cast<double>(rd);
      num += x * -std::log(static_cast<double>(f[i]));
      den += x * x;
    }
    const double fit = std::exp(num / den), r = std::round(fit);
    return std::fabs(fit - r) <= 1e-4 * fit ? r : fit;
  }

  std::string mlp(const std::string& h, LayerWeights& L, const std::string& where) {
    std::vector<Node*> lins;
    for (Node* c : consumers(h)) if (c->is_tsc("Linear")) lins.push_back(c);
    if (lins.size() == 1) {
      // Phi-3's fused gate_up_proj: one projection split in two along the features (Split, or two Slices).
      std::vector<std::string> parts;
      for (Node* c : consumers(lins[0]->outputs[0]))
        if (c->is("Split") || c->is("Slice")) parts.insert(parts.end(), c->outputs.begin(), c->outputs.end());
      if (parts.size() == 2)
        for (int gi = 0; gi < 2; ++gi)
          if (auto gp = gated_product(parts[gi], parts[1 - gi], where))
            return finish_gated(*gp, projection(parts[gi], h, where), projection(parts[1 - gi], h, where), L, where);
      Node* up = lins[0];
      auto& ac = consumers(up->outputs[0]);
      if (ac.size() != 1 || !ac[0]->is_tsc("Gelu")) fail(where, "MLP up-projection is not followed by a recognized activation (GELU)", up);
      Node* act = ac[0];
      use(act);
      std::string ap = act->attr_s("approximate", "none");
      set_activation(ap == "tanh" ? Activation::kGeluTanh : Activation::kGelu, where, act);
      auto [uw, ub] = linear(up, where + " up_proj");
      L.up_w = uw;
      L.up_b = ub;
      auto& dc = consumers(act->outputs[0]);
      if (dc.size() != 1 || !dc[0]->is_tsc("Linear")) fail(where, "activation does not feed a down-projection", act);
      auto [dw, db] = linear(dc[0], where + " down_proj");
      L.down_w = dw;
      L.down_b = db;
      s_.mlp_gated = false;
      s_.intermediate_size = uw.shape[0];
      s_.mlp_bias = ub.has_value();
      return dc[0]->outputs[0];
    }
    if (lins.size() == 2) {
      // gate -> SiLU (Llama) or GELU (Gemma's GeGLU), times up, -> down
      for (int gi = 0; gi < 2; ++gi)
        if (auto gp = gated_product(lins[gi]->outputs[0], lins[1 - gi]->outputs[0], where))
          return finish_gated(*gp, {lins[gi], 0, -1}, {lins[1 - gi], 0, -1}, L, where);
      fail(where, gated_mismatch(lins[0], lins[1]));
    }
    fail(where, "MLP norm output feeds " + std::to_string(lins.size()) + " projections; expected 1 (GELU MLP) or 2 (gated SiLU/GELU MLP)");
  }

  // act(gate) * up -> down, act SiLU or GELU: the activation, the product and the down projection, or nothing when
  // gate's activation does not multiply up.
  struct Gated { Node *act, *mul, *down; };
  std::optional<Gated> gated_product(const std::string& gate, const std::string& up, const std::string& where) {
    auto& gc = consumers(gate);
    if (gc.size() != 1 || !(gc[0]->is_tsc("Silu") || gc[0]->is_tsc("Gelu"))) return std::nullopt;
    Node* act = gc[0];
    auto& mc = consumers(act->outputs[0]);
    if (mc.size() != 1 || !mc[0]->is("Mul")) return std::nullopt;
    Node* mul = mc[0];
    const std::string& a = act->outputs[0];
    if (!((mul->inputs[0] == a && mul->inputs[1] == up) || (mul->inputs[1] == a && mul->inputs[0] == up))) return std::nullopt;
    auto& dc = consumers(mul->outputs[0]);
    if (dc.size() != 1 || !dc[0]->is_tsc("Linear")) fail(where, "gated product does not feed a down-projection", mul);
    return Gated{act, mul, dc[0]};
  }

  // Binds a gated MLP whose gate and up are projections (whole Linears, or row ranges of a fused one).
  std::string finish_gated(const Gated& gp, const Proj& gate, const Proj& up, LayerWeights& L, const std::string& where) {
    use(gp.act);
    use(gp.mul);
    set_activation(gp.act->is_tsc("Silu") ? Activation::kSilu
                   : gp.act->attr_s("approximate", "none") == "tanh" ? Activation::kGeluTanh : Activation::kGelu, where, gp.act);
    auto [gw, gb] = linear(gate.lin, where + " gate_proj", gate.start, gate.len);
    auto [uw, ub] = linear(up.lin, where + " up_proj", up.start, up.len);
    auto [dw, db] = linear(gp.down, where + " down_proj");
    if (gw.shape != uw.shape) fail(where, "gate and up projections differ in size", gp.mul);
    L.gate_w = gw; L.gate_b = gb; L.up_w = uw; L.up_b = ub; L.down_w = dw; L.down_b = db;
    s_.mlp_gated = true;
    s_.intermediate_size = uw.shape[0];
    s_.mlp_bias = ub.has_value();
    return gp.down->outputs[0];
  }

  // Why two projections of the MLP norm are not SiLU(gate) * up, naming the op where the pattern breaks
  // (the one thing the user must change): the gate's activation, or what its SiLU feeds.
  std::string gated_mismatch(const Node* a, const Node* b) const {
    auto only = [&](const Node* n) -> const Node* {
      auto& cs = consumers(n->outputs[0]);
      return cs.size() == 1 ? cs[0] : nullptr;
    };
    auto op = [](const Node* n) { return (n->domain.empty() ? "" : n->domain + ".") + n->op; };
    auto name = [](const Node* n) { return n->name.empty() ? (n->outputs.empty() ? std::string("?") : n->outputs[0]) : n->name; };
    for (const Node* gate : {a, b}) {
      const Node* act = only(gate);
      if (!act || !act->is_tsc("Silu")) continue;
      const Node* next = only(act);
      return "the gate projection's SiLU (node '" + name(act) + "') feeds " + (next ? op(next) + " (node '" + name(next) + "')" : std::string("several nodes")) +
             ", expected its product with the up projection (node '" + name(gate == a ? b : a) + "')";
    }
    for (const Node* gate : {a, b}) {
      const Node* act = only(gate);
      if (act && !act->is("Mul"))
        return "gate projection '" + name(gate) + "' feeds " + op(act) + " (node '" + name(act) + "'), expected SiLU: the gated MLP's activation must be SiLU(gate) * up";
    }
    return "two projections of the MLP norm output, but no SiLU(gate) * up pattern (at " + a->describe() + ")";
  }

  void set_activation(Activation a, const std::string& where, const Node* at) {
    if (layers_.empty() && !act_set_) { s_.activation = a; act_set_ = true; }
    else if (s_.activation != a) fail(where, "activation differs from layer 0", at);
  }
  bool act_set_ = false;

  // The LM head: Linear of the norm output (through identity reshapes) producing a graph output.
  Node* lm_head_after(Node* norm) {
    for (Node* c : consumers(norm->outputs[0])) {
      if (!c->is_tsc("Linear")) continue;
      const Tensor* w = g_.constant(c->inputs[1]);
      int64_t out = c->attr_i("w_in_out", 1) ? w->shape[1] : w->shape[0];
      if (out != s_.vocab_size) continue;
      std::string v = c->outputs[0];
      for (int i = 0; i < 6 && !ud_.is_graph_output(v); ++i) {
        double f = 0;
        auto& cs = consumers(v);
        if (cs.size() != 1 || !(cs[0]->is("Cast") || cs[0]->is("Identity") || cs[0]->is("Reshape") || cs[0]->is("Tanh") || scaled_by(v, &f))) break;
        v = cs[0]->outputs[0];
      }
      if (ud_.is_graph_output(v)) return c;
    }
    return nullptr;
  }

  void finish_head(Node* head) {
    auto [w, b] = linear(head, "lm_head");
    w_.lm_head = w;
    w_.lm_head_b = b;
    s_.lm_head_bias = b.has_value();
    std::string v = head->outputs[0];
    while (!ud_.is_graph_output(v)) {
      Node* c = consumers(v)[0];
      double f = 0, cap = 0;
      // Gemma 2/3's final_logit_softcapping: c * tanh(logits / c).
      const Node* m1 = scaled_by(v, &f);
      const auto& tc = m1 ? consumers(m1->outputs[0]) : consumers(v);
      const Node* th = tc.size() == 1 && tc[0]->is("Tanh") ? tc[0] : nullptr;
      const Node* m2 = th ? scaled_by(th->outputs[0], &cap) : nullptr;
      if (m1 && m2 && std::fabs(f * cap - 1) <= 1e-6) {
        if (s_.final_logit_softcapping) fail("lm_head", "the logits are soft-capped twice", th);
        s_.final_logit_softcapping = round_to_float32_repr(cap);
        use(m1);
        use(th);
        use(m2);
        v = m2->outputs[0];
        continue;
      }
      if (scaled_by(v, &f)) {  // Granite: logits / logits_scaling
        if (s_.logits_scaling) fail("lm_head", "the logits are scaled twice", c);
        s_.logits_scaling = round_to_float32_repr(1.0 / f);
      }
      use(c);
      v = c->outputs[0];
    }
    io_.logits = v;
    s_.tie_word_embeddings = same_weights(w_.embed_tokens, w_.lm_head);
  }

  // Tied when the LM head reads the embedding table (directly or as a transposed copy with equal contents).
  bool same_weights(const WeightBinding& e, const WeightBinding& h) const {
    if (e.initializer == h.initializer && h.ops.empty()) return true;
    const Tensor *a = g_.constant(e.initializer), *b = g_.constant(h.initializer);
    if (!a || !b || a->dtype != b->dtype || a->numel() != b->numel()) return false;
    const bool tr = !h.ops.empty() && h.ops[0].kind == WeightOp::Kind::kTranspose;
    if (!tr) return std::memcmp(a->data, b->data, a->nbytes()) == 0;
    const int64_t V = a->shape[0], H = a->shape[1];
    const size_t es = dtype_size(a->dtype);
    const auto *pa = static_cast<const uint8_t*>(a->data), *pb = static_cast<const uint8_t*>(b->data);
    for (int64_t i = 0; i < V; ++i)
      for (int64_t j = 0; j < H; ++j)
        if (std::memcmp(pa + (i * H + j) * es, pb + (j * V + i) * es, es) != 0) return false;
    return true;
  }

  void check_all_used() {
    for (auto& np : g_.nodes) {
      const Node* n = np.get();
      if (used_.count(n)) continue;
      std::string extra;
      if (n->domain == "tsc") extra = " in an unexpected place";
      throw Error(n->describe() + extra + " is not part of any decoder pattern tsc knows (embedding, norm, attention, MLP, residual, LM head)",
                  "the model uses an op or structure tsc does not support yet; run tsc --emit=graph to see the simplified graph");
    }
  }
};

}  // namespace

LiftResult lift_decoder(const Graph& g, const LiftOptions& opt) { return Lifter(g, opt).run(); }

}  // namespace tsc
