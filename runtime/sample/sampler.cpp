// The CPU sampler: logits -> penalties -> temperature -> top-k -> top-p -> min-p -> one seeded draw.
#include "runtime/sample/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "contract/error.h"
#include "runtime/sample/logits_ops.h"
#include "runtime/sample/philox.h"

namespace tsc {
namespace {

// Scratch of one thread, shared by the Samplers of every request it serves: grown to the vocabulary
// once, then reused, so that a sample() call allocates nothing.
struct Workspace {
  std::vector<float> x;        // [vocab] logits after penalties and temperature
  std::vector<int32_t> ids;    // [n] ids of the tokens top-k keeps, increasing
  std::vector<float> kx;       // [n] their processed logits
  std::vector<float> w;        // [n] exp(x - max), zeroed where top-p / min-p filter
  std::vector<double> blocks;  // [n / kSumBlock] sums of w per block
  std::vector<float> select;   // k-th largest scratch
  sample_ops::TopPScratch top_p;
};
thread_local Workspace ws;

std::string describe(float v) { return std::isnan(v) ? "nan" : v > 0 ? "inf" : "-inf"; }

void check_vocab(size_t vocab) {
  if (vocab == 0) throw Error("sampler got empty logits", "pass the logits of one position: [vocab_size] floats");
  if (vocab > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    throw Error("sampler got " + std::to_string(vocab) + " logits, more than token ids can address");
}

uint64_t random_seed() {
  std::random_device rd;
  return uint64_t{rd()} << 32 | rd();
}

}  // namespace

// The unnormalized distribution after every filter: token ids[j] (j itself when ids is null) has
// weight w[j]; blocks[b] sums the weights of block b (kSumBlock tokens), total sums the blocks.
struct Sampler::Weights {
  const int32_t* ids;
  const float* w;
  size_t n;
  const double* blocks;
  double total;
  int32_t id(size_t j) const { return ids ? ids[j] : static_cast<int32_t>(j); }

  // Inverse CDF in increasing id order at u in [0, 1): the first j whose cumulative weight exceeds
  // u * total. Skips whole blocks, then walks one.
  size_t draw(double u) const {
    if (n == 1) return 0;
    constexpr size_t kBlock = sample_ops::kSumBlock;
    const double target = u * total;
    const size_t nblocks = (n + kBlock - 1) / kBlock;
    double cum = 0;
    size_t b = 0;
    while (b < nblocks && !(cum + blocks[b] > target)) cum += blocks[b++];
    const size_t end = b < nblocks ? std::min(n, (b + 1) * kBlock) : n;
    for (size_t j = b * kBlock; j < end; ++j) {
      cum += w[j];
      if (cum > target) return j;
    }
    // Rounding left the walk short of the target (u * total within an ulp of the sum): the last
    // token with weight up to here.
    size_t j = end - 1;
    while (j > 0 && w[j] == 0.0f) --j;
    return j;
  }
};

Sampler::Sampler(const SamplingParams& params, std::span<const int32_t> prompt_tokens)
    : params_(params), seed_(params.seed ? *params.seed : random_seed()) {
  params_.validate();
  for (size_t i = 0; i < prompt_tokens.size(); ++i) {
    if (prompt_tokens[i] < 0)
      throw Error("prompt token " + std::to_string(i) + " has negative id " + std::to_string(prompt_tokens[i]),
                  "token ids are indices into the vocabulary");
    // Only the repetition penalty looks at the prompt.
    if (params_.repetition_penalty != 1.0f) counts_.add_prompt(prompt_tokens[i]);
  }
}

bool Sampler::penalized() const {
  return params_.repetition_penalty != 1.0f || params_.presence_penalty != 0.0f ||
         params_.frequency_penalty != 0.0f;
}

void Sampler::accept(int32_t token) {
  if (token < 0)
    throw Error("accepted token has negative id " + std::to_string(token), "token ids are indices into the vocabulary");
  if (penalized()) counts_.add_generated(token);
  ++step_;
}

const float* Sampler::process(std::span<const float> logits) const {
  const size_t vocab = logits.size();
  const bool scale = !params_.greedy() && params_.temperature != 1.0f;
  if (!scale && counts_.entries().empty()) return logits.data();
  ws.x.resize(vocab);
  float* x = ws.x.data();
  // Division, not multiplication by 1/T: the same float operations as HF's `scores / temperature`.
  const float t = params_.temperature;
  if (scale) {
    sample_ops::divide(logits.data(), vocab, t, x);
  } else {
    std::copy(logits.begin(), logits.end(), x);
  }
  const float rep = params_.repetition_penalty;
  const float presence = params_.presence_penalty, frequency = params_.frequency_penalty;
  for (const TokenCounts::Entry& e : counts_.entries()) {
    if (static_cast<size_t>(e.token) >= vocab) continue;
    float v = logits[e.token];
    if (rep != 1.0f) v = v < 0.0f ? v * rep : v / rep;
    if (e.generated > 0) {
      v = v - frequency * static_cast<float>(e.generated);
      v = v - presence;
    }
    x[e.token] = scale ? v / t : v;
  }
  return x;
}

Sampler::Weights Sampler::filter(std::span<const float> logits) const {
  const size_t vocab = logits.size();
  const float* x = process(logits);
  const sample_ops::MaxInfo mx = sample_ops::checked_max(x, vocab);
  if (mx.bad >= 0) {
    const size_t i = static_cast<size_t>(mx.bad);
    const bool raw = !std::isfinite(logits[i]) && !(logits[i] == -INFINITY);
    throw Error("logit of token " + std::to_string(i) + " is " + describe(raw ? logits[i] : x[i]) +
                    (raw ? "" : " after penalties and temperature"),
                "the model produced non-finite logits; check its numerics (e.g. float16 overflow)");
  }
  if (mx.max == -INFINITY)
    throw Error("every logit is -inf: no token can be sampled", "the logits mask out the whole vocabulary");
  if (params_.greedy()) {
    // One-hot on the argmax, lowest id among ties (torch.argmax's first occurrence).
    ws.ids.assign(1, static_cast<int32_t>(sample_ops::first_equal(x, vocab, mx.max)));
    ws.w.assign(1, 1.0f);
    ws.blocks.assign(1, 1.0);
    return {ws.ids.data(), ws.w.data(), 1, ws.blocks.data(), 1.0};
  }
  Weights r{nullptr, nullptr, vocab, nullptr, 0.0};

  // top_k: keep every token at least as large as the k-th largest. Its survivors are gathered, in
  // increasing id order, so that everything after works on ~k tokens instead of the vocabulary.
  const float* kx = x;
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < vocab) {
    const float kth = sample_ops::kth_largest(x, vocab, params_.top_k, ws.select);
    ws.ids.resize(vocab);
    ws.kx.resize(vocab);
    r.n = sample_ops::gather_at_least(x, vocab, kth, ws.ids.data(), ws.kx.data());
    r.ids = ws.ids.data();
    kx = ws.kx.data();
  }

  // Softmax numerators relative to the max (which every filter keeps, so it stays the max).
  ws.w.resize(r.n);
  ws.blocks.resize((r.n + sample_ops::kSumBlock - 1) / sample_ops::kSumBlock);
  float* w = ws.w.data();
  r.total = sample_ops::exp_blocks(kx, r.n, mx.max, w, ws.blocks.data());

  // top_p over the top-k survivors, then min_p: p_i < min_p * p_max  <=>  w_i < min_p, as w_max = 1.
  sample_ops::Ranked cut{};
  const bool has_cut = params_.top_p < 1.0f &&
                       sample_ops::top_p_cut(kx, r.ids, w, r.n, mx.max, r.total, params_.top_p, ws.top_p, &cut);
  if (has_cut || params_.min_p > 0.0f) {
    sample_ops::keep_head(kx, r.ids, r.n, has_cut, cut, params_.min_p, w);
    r.total = sample_ops::block_sums(w, r.n, ws.blocks.data());
  }
  r.w = w;
  r.blocks = ws.blocks.data();
  return r;
}

SampleResult Sampler::sample(std::span<const float> logits) {
  check_vocab(logits.size());
  const Weights d = filter(logits);
  const size_t pick = d.draw(philox_uniform(seed_, step_));
  SampleResult res{d.id(pick), std::numeric_limits<float>::quiet_NaN(), {}};

  if (params_.logprobs) {
    // Of the model's distribution: log_softmax of the logits as given.
    const size_t vocab = logits.size();
    const float m = sample_ops::checked_max(logits.data(), vocab).max;
    const double lse = m + std::log(sample_ops::exp_sum(logits.data(), vocab, m));
    res.logprob = static_cast<float>(logits[res.token] - lse);
    if (params_.top_logprobs > 0) {
      res.top_logprobs.reserve(params_.top_logprobs);
      sample_ops::top_n(logits.data(), vocab, params_.top_logprobs, res.top_logprobs);
      for (auto& [id, v] : res.top_logprobs) v = static_cast<float>(v - lse);
    }
  }
  accept(res.token);
  return res;
}

void Sampler::probabilities(std::span<const float> logits, std::span<float> probs) const {
  check_vocab(logits.size());
  if (probs.size() != logits.size())
    throw Error("probabilities: " + std::to_string(probs.size()) + " outputs for " +
                std::to_string(logits.size()) + " logits");
  const Weights d = filter(logits);
  std::fill(probs.begin(), probs.end(), 0.0f);
  for (size_t j = 0; j < d.n; ++j) probs[d.id(j)] = static_cast<float>(d.w[j] / d.total);
}

}  // namespace tsc
