// A StepModel for scheduler tests: the engine's page semantics (reservation, copy-on-write of a shared
// last page, "KV cache full" errors) over pages that hold token ids, and logits that are a hash of the
// whole token history read back from those pages, so that any page mix-up changes the output.
#pragma once
#include <atomic>
#include <chrono>
#include <span>
#include <stdexcept>
#include <thread>
#include <vector>

#include "contract/error.h"
#include "runtime/sched/request.h"
#include "runtime/sched/step_model.h"

namespace tsc::test {

inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Logits of the position after `history`: [vocab] pseudo-random values in [0, 8).
inline void fake_logits(std::span<const int32_t> history, int64_t vocab, float* out) {
  uint64_t h = 1469598103934665603ull;
  for (int32_t t : history) h = mix64(h ^ static_cast<uint32_t>(t));
  for (int64_t v = 0; v < vocab; ++v) out[v] = static_cast<float>(mix64(h + static_cast<uint64_t>(v)) >> 40) / static_cast<float>(1 << 21);
}

// A greedy request of max_tokens after prompt (temperature 0).
inline GenerationRequest greedy(std::vector<int32_t> prompt, int64_t max_tokens) {
  GenerationRequest g;
  g.prompt = std::move(prompt);
  g.max_tokens = max_tokens;
  g.sampling.temperature = 0;
  return g;
}

// Greedy continuation computed without any cache: what every scheduled run must reproduce.
inline std::vector<int32_t> reference_greedy(std::vector<int32_t> tokens, int64_t max_tokens, int64_t vocab) {
  std::vector<int32_t> out;
  std::vector<float> l(static_cast<size_t>(vocab));
  for (int64_t i = 0; i < max_tokens; ++i) {
    fake_logits(tokens, vocab, l.data());
    int32_t best = 0;
    for (int64_t v = 1; v < vocab; ++v)
      if (l[v] > l[best]) best = static_cast<int32_t>(v);
    out.push_back(best);
    tokens.push_back(best);
  }
  return out;
}

class FakeModel : public StepModel {
 public:
  FakeModel(int64_t num_pages, int64_t page_size, int64_t vocab, int64_t max_len)
      : pool_(num_pages), kv_(pool_, page_size), ps_(page_size), vocab_(vocab), max_len_(max_len),
        data_(static_cast<size_t>(pool_.storage_pages() * page_size), -1) {}

  void step(std::span<const StepSeq> seqs, std::vector<float>& logits) override {
    if (delay_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
    int64_t need = 0;
    for (auto& s : seqs)
      for (int32_t p : s.kv->pages)
        if (p <= 0 || p >= pool_.storage_pages() || pool_.refcount(p) <= 0) throw Error("fake: step given page " + std::to_string(p));
    for (auto& s : seqs) need += pages_for(*s.kv, s.n);
    if (need > pool_.free_pages()) throw Error("fake: the KV cache is full");
    int64_t rows = 0;
    for (auto& s : seqs) {
      if (s.decode && s.n != 1) throw Error("fake: decode with n != 1");
      if (s.kv->num_tokens + s.n > max_len_) throw Error("fake: past max_len");
      const auto copy_page = [&](int32_t src, int32_t dst) { std::copy_n(data_.begin() + src * ps_, ps_, data_.begin() + dst * ps_); };
      if (!kv_.reserve_for_write(*s.kv, s.n, copy_page)) throw Error("fake: reserve failed after the capacity check");
      rows += s.all_logits ? s.n : 1;
    }
    logits.assign(static_cast<size_t>(rows * vocab_), 0.f);
    int64_t r = 0;
    for (auto& s : seqs) {
      for (int64_t i = 0; i < s.n; ++i) {
        const int64_t pos = s.kv->num_tokens + i;
        const int32_t page = s.kv->pages.at(static_cast<size_t>(pos / ps_));
        if (pool_.refcount(page) != 1) throw Error("fake: writing into a shared page");
        data_.at(static_cast<size_t>(page * ps_ + pos % ps_)) = s.tokens[i];
      }
      for (int64_t i = s.all_logits ? 0 : s.n - 1; i < s.n; ++i, ++r) {
        std::vector<int32_t> hist;
        for (int64_t p = 0; p <= s.kv->num_tokens + i; ++p) hist.push_back(data_.at(static_cast<size_t>(s.kv->pages.at(static_cast<size_t>(p / ps_)) * ps_ + p % ps_)));
        fake_logits(hist, vocab_, logits.data() + r * vocab_);
      }
      decode_tokens += s.decode ? s.n : 0;
      if (s.decode) last_decode_every = s.select_every;
      prefill_tokens += s.decode ? 0 : s.n;
    }
    for (auto& s : seqs) s.kv->num_tokens += s.n;
    ++steps;
  }
  KvManager& kv() override { return kv_; }
  PagePool& pool() override { return pool_; }
  int64_t vocab_size() const override { return vocab_; }
  int64_t max_seq_len() const override { return max_len_; }
  int64_t page_size() const override { return ps_; }
  int64_t top_k_pages() const override { return 8; }
  int64_t select_every() const override { return build_select_every; }
  int64_t num_layers() const override { return 2; }
  int64_t dense_layers() const override { return 1; }
  int64_t page_bytes() const override { return 1024; }
  int64_t bound_bytes() const override { return 64; }
  SelectionCounters counters() const override { return {}; }

  std::atomic<int64_t> steps{0}, decode_tokens{0}, prefill_tokens{0};
  int64_t delay_us = 0;
  int64_t build_select_every = 1;
  std::atomic<int64_t> last_decode_every{0};  // StepSeq::select_every of the last decode step

 private:
  PagePool pool_;
  KvManager kv_;
  int64_t ps_, vocab_, max_len_;
  std::vector<int32_t> data_;  // [storage_pages, page_size] token ids (page 0 is the pool's scratch page)
};

}  // namespace tsc::test
