// lower-gqa: onnxruntime's com.microsoft GroupQueryAttention and RotaryEmbedding (onnxruntime-genai's model builder)
// -> the canonical ops fuse-attention and fuse-rope write, which lift reads:
//   GroupQueryAttention(query, key?, value?, past_key, past_value, seqlens_k, total_sequence_length, cos_cache?, sin_cache?)
//       {num_heads, kv_num_heads, scale, do_rotary, rotary_interleaved}
//   -> q, k, v = Slice(query) along features when packed ([b, s, (Hq + 2 Hkv) D]), else the separate inputs;
//      with do_rotary, q' = tsc.Rope(q, inv_freq), k' = tsc.Rope(k, inv_freq);
//      tsc.Attention(q', k', v, past_key, past_value){num_heads, num_kv_heads, head_dim, scale, softcap?} -> the same outputs.
//   RotaryEmbedding(x: [b, s, H D], position_ids, cos_cache, sin_cache){interleaved} -> tsc.Rope(x, inv_freq).
// inv_freq is read from the cos/sin caches ([max_positions, rotary_dim/2]) and checked at every position. seqlens_k and
// total_sequence_length are probed: they must be what the builder computes from an all-ones attention mask (the
// runtime provides causality and positions). Sliding windows and the other extensions are refused.
#include <algorithm>
#include <cmath>
#include <numbers>

#include "compiler/ir/passes/model_inputs.h"
#include "compiler/ir/passes/pass.h"
#include "compiler/ir/probe.h"
#include "contract/error.h"

namespace tsc {
namespace {

const char* kHint = "tsc lowers GroupQueryAttention as onnxruntime-genai's builder writes it for a dense causal decoder; "
                    "rebuild the model without this option, or file an issue with the model";

// Largest |cache - cos/sin(p * f)| over every position, allowing the float32 rounding of p * f the builder's torch code does.
double cache_error(const Tensor& c, const Tensor& s, const std::vector<double>& f) {
  const int64_t P = c.shape[0], half = c.shape[1];
  double worst = 0;
  for (int64_t p = 0; p < P; ++p)
    for (int64_t j = 0; j < half; ++j) {
      const double ang = static_cast<double>(p) * f[j], slack = 2.4e-7 * std::fabs(ang);
      worst = std::max({worst, std::fabs(c.f64(p * half + j) - std::cos(ang)) - slack, std::fabs(s.f64(p * half + j) - std::sin(ang)) - slack});
    }
  return worst;
}

// HF's float32 inv_freq, 1 / theta^(2j / rd), for the roundest theta (1 to 5 significant digits) that reproduces the caches as
// well as f does: float16 caches pin the low frequencies only to ~1e-3, too loose for lift to recover theta.
std::vector<double> snap_to_theta(const Tensor& c, const Tensor& s, std::vector<double> f) {
  const size_t half = f.size();
  const double rd = 2.0 * static_cast<double>(half);
  double num = 0, den = 0;
  for (size_t j = 1; j < half; ++j) {
    if (!(f[j] > 0)) return f;
    const double x = 2.0 * static_cast<double>(j) / rd;
    num += x * -std::log(f[j]);
    den += x * x;
  }
  if (den == 0) return f;
  const double est = std::exp(num / den), base = c.dtype == DType::kF32 || c.dtype == DType::kF64 ? 1.2e-7 : 9.8e-4;
  const double err = cache_error(c, s, f);
  for (int digits = 1; digits <= 5; ++digits) {
    const double mag = std::pow(10.0, std::floor(std::log10(est)) - digits + 1), theta = std::round(est / mag) * mag;
    std::vector<double> g(half);
    for (size_t j = 0; j < half; ++j) g[j] = static_cast<float>(1.0 / std::pow(theta, 2.0 * static_cast<double>(j) / rd));
    if (cache_error(c, s, g) <= err + base) return g;
  }
  return f;
}

// inv_freq from cos/sin caches [P, half]: angle(p, j) = p * inv_freq[j]. Read at position 1, refined at positions 2, 4,
// 8, ... (unwrapping atan2 by the previous estimate), snapped to a round theta where one fits as well, and checked at
// every position.
std::vector<float> inv_freq_from_caches(const Node& at, const Tensor& c, const Tensor& s) {
  if (c.shape.size() != 2 || c.shape != s.shape || c.shape[0] < 2 || c.shape[1] < 1 || !dtype_is_float(c.dtype))
    throw Error(at.describe() + ": cos_cache/sin_cache are not constant [max_positions, rotary_dim/2] tables", kHint);
  const int64_t P = c.shape[0], half = c.shape[1];
  std::vector<double> f(half);
  for (int64_t j = 0; j < half; ++j) {
    f[j] = std::atan2(s.f64(half + j), c.f64(half + j));
    for (int64_t p = 2; p < P; p *= 2) {
      const double a = std::atan2(s.f64(p * half + j), c.f64(p * half + j));
      const double turns = std::round((static_cast<double>(p) * f[j] - a) / (2 * std::numbers::pi));
      f[j] = (a + 2 * std::numbers::pi * turns) / static_cast<double>(p);
    }
  }
  f = snap_to_theta(c, s, f);
  if (cache_error(c, s, f) > (c.dtype == DType::kF32 || c.dtype == DType::kF64 ? 2e-4 : 2e-2))
    throw Error(at.describe() + ": cos/sin caches are not cos/sin(position * inv_freq)",
                "tsc implements rotary embeddings without an attention factor on the caches (plain, linear, llama3 scaling)");
  return std::vector<float>(f.begin(), f.end());
}

// tsc.Rope of x ([b, s, heads * head_dim]) with the caches' frequencies; returns the rotated value's name.
std::string rope(Graph& g, const Node& at, const std::string& x, const std::string& cos, const std::string& sin, int64_t heads,
                 int64_t head_dim, int64_t interleaved, std::vector<std::unique_ptr<Node>>& out, const std::string& out_name = {}) {
  const Tensor *c = g.constant(cos), *s = g.constant(sin);
  if (!c || !s) throw Error(at.describe() + ": cos_cache/sin_cache are not constants", kHint);
  auto inv = inv_freq_from_caches(at, *c, *s);
  const int64_t rd = 2 * static_cast<int64_t>(inv.size());
  if (rd > head_dim) throw Error(at.describe() + ": cos/sin caches are wider than the head", kHint);
  std::string inv_name = g.fresh_name("rope_inv_freq");
  g.constants[inv_name] = Tensor::from_f32(inv, {static_cast<int64_t>(inv.size())});
  std::string y = out_name.empty() ? g.fresh_name(x + "_rope") : out_name;
  auto r = make_node("Rope", "tsc", {x, inv_name}, {y}, at.name + (out_name.empty() ? "/rope" : ""));
  r->attrs = {{"num_heads", int_attr(heads)}, {"head_dim", int_attr(head_dim)}, {"rotary_dim", int_attr(rd)}, {"interleaved", int_attr(interleaved ? 1 : 0)}};
  out.push_back(std::move(r));
  return y;
}

// Refuses what the lowering does not implement: an attribute away from its default, an optional input present.
void check_supported(const Node& n) {
  auto refuse = [&](const std::string& what, const std::string& hint) { throw Error(n.describe() + ": " + what + " is not supported", hint); };
  if (n.attr_i("local_window_size", -1) != -1) refuse("a sliding window (local_window_size=" + std::to_string(n.attr_i("local_window_size", -1)) + ")", "tsc's attention is global causal attention; sliding-window models (Mistral, Gemma 2/3, Phi-3-small) are not supported yet");
  if (n.attr_i("smooth_softmax", 0) != 0) refuse("smooth_softmax", kHint);
  if (n.attr_i("qk_output", 0) != 0) refuse("qk_output", kHint);
  for (const char* q : {"k_quant_type", "v_quant_type"})
    if (n.attr_s(q, "NONE") != "NONE") refuse(std::string("a quantized KV cache (") + q + ")", kHint);
  const char* names[] = {"position_ids", "attention_bias", "head_sink"};
  for (size_t k = 9; k < n.inputs.size() && k < 12; ++k)
    if (!n.inputs[k].empty()) refuse(std::string("the ") + names[k - 9] + " input", kHint);
  if (n.inputs.size() > 12) refuse("inputs beyond head_sink (a quantized KV cache's scales)", kHint);
  if (n.input(3).empty() || n.input(4).empty() || n.outputs.size() < 3 || n.output(1).empty() || n.output(2).empty())
    refuse("attention without past_key/past_value and present outputs", "export the decoder with its KV cache (the builder always does)");
}

// seqlens_k must be (tokens so far) - 1 and total_sequence_length the tokens so far, for an all-ones mask: the
// positions tsc's runtime gives every token. Probed at batch 1 for two past lengths.
void check_lengths(const Graph& g, const ModelInputs& mi, const Node& n) {
  for (int64_t past : {0, 3}) {
    auto in = probe_inputs(g, mi, 5, past);
    auto sk = probe_value(g, n.input(5), in), tot = probe_value(g, n.input(6), in);
    if (!sk || !tot || sk->numel() != 1 || tot->numel() != 1 || sk->f64(0) != static_cast<double>(past + 4) || tot->f64(0) != static_cast<double>(past + 5))
      throw Error(n.describe() + ": seqlens_k / total_sequence_length are not the attention mask's length - 1 / its width",
                  "tsc derives positions from the tokens it has cached; compute seqlens_k as ReduceSum(attention_mask) - 1 as onnxruntime-genai does");
  }
}

}  // namespace

int pass_lower_gqa(Graph& g, const PassContext&) {
  bool any = false;
  for (auto& n : g.nodes) any |= n->domain == "com.microsoft" && (n->op == "GroupQueryAttention" || n->op == "RotaryEmbedding");
  if (!any) return 0;
  ModelInputs mi = classify_inputs(g);
  // Checked before the rewrite, which moves nodes out of g (probing walks the whole graph).
  for (auto& n : g.nodes)
    if (n->domain == "com.microsoft" && n->op == "GroupQueryAttention") {
      check_supported(*n);
      check_lengths(g, mi, *n);
    }
  int rewrites = 0;
  std::vector<std::unique_ptr<Node>> out;
  for (auto& np : g.nodes) {
    Node& n = *np;
    if (n.domain == "com.microsoft" && n.op == "RotaryEmbedding") {
      // x is [b, s, H*D]; with rotary_embedding_dim 0 the head is the whole rotary width (2 * cos_cache columns).
      auto xs = g.shape(n.inputs[0]);
      const Tensor* c = g.constant(n.input(2));
      if (!xs || xs->size() != 3 || !(*xs)[2].as_const() || !c || c->shape.size() != 2)
        throw Error(n.describe() + ": RotaryEmbedding is lowered on token-major [batch, seq, heads*head_dim] input with constant caches only", kHint);
      if (n.input(1) != mi.position_ids || mi.position_ids.empty())
        throw Error(n.describe() + ": position_ids is not the graph's position_ids input", "tsc gives every token its absolute position; feed the graph input");
      const int64_t f = *(*xs)[2].as_const(), rd = n.attr_i("rotary_embedding_dim", 0) ? n.attr_i("rotary_embedding_dim", 0) : 2 * c->shape[1];
      const int64_t heads = n.attr_i("num_heads", 0) > 0 ? n.attr_i("num_heads", 0) : f / rd;
      if (rd != 2 * c->shape[1] || heads <= 0 || f % heads != 0 || (n.attr_i("num_heads", 0) == 0 && f % rd != 0))
        throw Error(n.describe() + ": RotaryEmbedding's rotary_embedding_dim/num_heads do not fit its input and caches", kHint);
      rope(g, n, n.inputs[0], n.input(2), n.input(3), heads, f / heads, n.attr_i("interleaved", 0), out, n.outputs[0]);
      ++rewrites;
      continue;
    }
    if (!(n.domain == "com.microsoft" && n.op == "GroupQueryAttention")) {
      out.push_back(std::move(np));
      continue;
    }
    const int64_t hq = n.attr_i("num_heads", 0), hkv = n.attr_i("kv_num_heads", 0);
    const bool packed = n.input(1).empty();
    auto qs = g.shape(n.inputs[0]);
    const int64_t f = qs && qs->size() == 3 ? (*qs)[2].as_const().value_or(0) : 0;  // 0: unknown
    const int64_t heads = packed ? hq + 2 * hkv : hq;
    if (hq <= 0 || hkv <= 0 || hq % hkv != 0 || f <= 0 || f % heads != 0)
      throw Error(n.describe() + ": num_heads/kv_num_heads do not divide the query's features (or its shape is unknown)", kHint);
    if (packed != n.input(2).empty()) throw Error(n.describe() + ": key given without value (or value without key)", kHint);
    const int64_t d = f / heads;
    // The builder leaves the cache's head dim symbolic ('kv_cache_dim'); it is d.
    for (const std::string& kv : {n.inputs[3], n.inputs[4], n.outputs[1], n.outputs[2]}) {
      auto it = g.types.find(kv);
      if (it != g.types.end() && it->second.shape && it->second.shape->size() == 4 && !(*it->second.shape)[3].as_const()) (*it->second.shape)[3] = SymExpr(d);
    }
    std::string q = n.inputs[0], k = n.input(1), v = n.input(2);
    if (packed) {
      // query = [q | k | v] along features: three Slices that lift reads as one fused projection's parts.
      std::string axes = g.fresh_name("qkv_axes");
      g.constants[axes] = Tensor::from_i64({-1}, {1});
      const int64_t bounds[4] = {0, hq * d, (hq + hkv) * d, (hq + 2 * hkv) * d};
      std::string* parts[3] = {&q, &k, &v};
      const char* what[3] = {"q", "k", "v"};
      for (int i = 0; i < 3; ++i) {
        std::string st = g.fresh_name("qkv_start"), en = g.fresh_name("qkv_end");
        g.constants[st] = Tensor::from_i64({bounds[i]}, {1});
        g.constants[en] = Tensor::from_i64({bounds[i + 1]}, {1});
        std::string y = g.fresh_name(n.name + "/" + what[i]);
        out.push_back(make_node("Slice", "", {n.inputs[0], st, en, axes}, {y}, n.name + "/" + what[i]));
        *parts[i] = y;
      }
    }
    if (n.attr_i("do_rotary", 0)) {
      const int64_t il = n.attr_i("rotary_interleaved", 0);
      q = rope(g, n, q, n.input(7), n.input(8), hq, d, il, out);
      k = rope(g, n, k, n.input(7), n.input(8), hkv, d, il, out);
    }
    float scale = n.attr_f("scale", 0.f);
    if (scale == 0.f) scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
    auto a = std::make_unique<Node>();
    a->op = "Attention";
    a->domain = "tsc";
    a->name = n.name;
    a->inputs = {q, k, v, n.inputs[3], n.inputs[4]};
    a->outputs = {n.outputs[0], n.outputs[1], n.outputs[2]};
    a->attrs = {{"num_heads", int_attr(hq)}, {"num_kv_heads", int_attr(hkv)}, {"head_dim", int_attr(d)}, {"scale", float_attr(scale)}};
    // softcap (Gemma 2's attention logit soft-cap, applied by onnxruntime to the scaled scores) is tsc.Attention's.
    if (n.attr_f("softcap", 0.f) > 0.f) a->attrs["softcap"] = float_attr(n.attr_f("softcap", 0.f));
    out.push_back(std::move(a));
    ++rewrites;
  }
  g.nodes = std::move(out);
  return rewrites;
}

}  // namespace tsc
