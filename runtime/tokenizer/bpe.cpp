// BPE merging by rank with a priority queue over a linked list of symbols (HF's Word::merge_all).
#include "runtime/tokenizer/bpe.h"

#include <cstdio>
#include <mutex>
#include <queue>

#include "contract/error.h"
#include "runtime/tokenizer/utf8.h"

namespace tsc::tok {

namespace {

constexpr size_t kCacheMaxWordBytes = 256;
constexpr std::string_view kMetaspace = "\xE2\x96\x81";  // U+2581 "▁"

// Byte offsets where a "▁" run starts after some other character.
bool metaspace_run_starts_at(std::string_view s, size_t i) {
  return i > 0 && s.compare(i, kMetaspace.size(), kMetaspace) == 0 &&
         !(i >= kMetaspace.size() && s.compare(i - kMetaspace.size(), kMetaspace.size(), kMetaspace) == 0);
}
constexpr size_t kCacheCapacity = 10000;

uint64_t pair_key(int32_t a, int32_t b) { return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b); }

}  // namespace

Bpe::Bpe(Vocab vocab, const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options)
    : vocab_(std::move(vocab)), options_(std::move(options)) {
  int32_t limit = 0;
  for (const auto& [tok, id] : vocab_) limit = std::max(limit, id + 1);
  vocab_r_.resize(limit);
  has_id_.resize(limit);
  for (const auto& [tok, id] : vocab_) {
    vocab_r_[id] = tok;
    has_id_[id] = true;
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    auto it = vocab_.find(std::string_view(name));
    byte_ids_[b] = it == vocab_.end() ? -1 : it->second;
  }
  if (options_.unk_token) unk_id_ = token_to_id(*options_.unk_token);
  split_at_metaspace_ = options_.continuing_subword_prefix.empty() && options_.end_of_word_suffix.empty() &&
                        vocab_.count(kMetaspace) > 0;
  for (auto it = vocab_.begin(); split_at_metaspace_ && it != vocab_.end(); ++it)
    for (size_t i = it->first.find(kMetaspace, 1); split_at_metaspace_ && i != std::string::npos;
         i = it->first.find(kMetaspace, i + 1))
      split_at_metaspace_ = !metaspace_run_starts_at(it->first, i);

  const size_t prefix_len = options_.continuing_subword_prefix.size();
  merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [a, b] = merges[rank];
    auto ia = vocab_.find(a), ib = vocab_.find(b);
    const std::string merged = a + (b.size() >= prefix_len ? b.substr(prefix_len) : b);
    auto im = vocab_.find(merged);
    auto missing = [&](const std::string& name) {
      return Error("tokenizer: merge " + std::to_string(rank + 1) + " ('" + a + " " + b + "') uses '" + name +
                       "', which is not in the vocabulary",
                   "the vocabulary and merges must come from the same tokenizer");
    };
    if (ia == vocab_.end()) throw missing(a);
    if (ib == vocab_.end()) throw missing(b);
    if (im == vocab_.end()) throw missing(merged);
    // A repeated pair keeps its last rank, as HF's map insertion does.
    merges_[pair_key(ia->second, ib->second)] = {static_cast<int32_t>(rank), im->second};
  }
}

std::optional<int32_t> Bpe::token_to_id(std::string_view token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* Bpe::id_to_token(int32_t id) const {
  if (id < 0 || id >= id_limit() || !has_id_[id]) return nullptr;
  return &vocab_r_[id];
}

void Bpe::tokenize(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (options_.ignore_merges) {
    if (auto id = token_to_id(word)) {
      out.push_back(*id);
      return;
    }
  }
  if (split_at_metaspace_) {
    size_t begin = 0;
    for (size_t i = word.find(kMetaspace, 1); i != std::string_view::npos; i = word.find(kMetaspace, i + 1)) {
      if (!metaspace_run_starts_at(word, i)) continue;
      tokenize_cached(word.substr(begin, i - begin), out);
      begin = i;
    }
    tokenize_cached(word.substr(begin), out);
    return;
  }
  tokenize_cached(word, out);
}

void Bpe::tokenize_cached(std::string_view word, std::vector<int32_t>& out) const {
  const bool cacheable = word.size() < kCacheMaxWordBytes;
  if (cacheable) {
    std::shared_lock lock(cache_mu_);
    auto it = cache_.find(word);
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> ids = merge_word(word);
  out.insert(out.end(), ids.begin(), ids.end());
  if (cacheable) {
    std::unique_lock lock(cache_mu_);
    if (cache_.size() >= kCacheCapacity) cache_.clear();  // results never depend on the cache
    cache_.emplace(std::string(word), std::move(ids));
  }
}

std::vector<int32_t> Bpe::merge_word(std::string_view w) const {
  // Symbols form a doubly linked list; a merged-away symbol gets len 0.
  struct Sym {
    int32_t id, prev, next;
    bool alive;
  };
  std::vector<Sym> syms;
  syms.reserve(w.size());
  auto add = [&](int32_t id) {
    int32_t n = static_cast<int32_t>(syms.size());
    syms.push_back({id, n - 1, -1, true});
    if (n > 0) syms[n - 1].next = n;
  };

  // 1. One symbol per character (or its <0xNN> bytes, or unk), as HF's merge_word.
  int32_t pending_unk = -1;  // an unk not yet added, so that fuse_unk can merge neighbours
  std::string s;
  for (size_t i = 0; i < w.size();) {
    size_t b = i;
    next_code_point(w, i);
    s.clear();
    if (b > 0) s += options_.continuing_subword_prefix;
    s += w.substr(b, i - b);
    if (i == w.size()) s += options_.end_of_word_suffix;
    if (auto it = vocab_.find(std::string_view(s)); it != vocab_.end()) {
      if (pending_unk >= 0) add(pending_unk), pending_unk = -1;
      add(it->second);
      continue;
    }
    if (options_.byte_fallback) {
      bool all = true;
      for (unsigned char c : s) all = all && byte_ids_[c] >= 0;
      if (all) {
        // HF does not flush a pending unk here; neither do we, so the order matches.
        for (unsigned char c : s) add(byte_ids_[c]);
        continue;
      }
    }
    if (unk_id_) {
      if (pending_unk >= 0 && !options_.fuse_unk) add(pending_unk);
      pending_unk = *unk_id_;
    }
  }
  if (pending_unk >= 0) add(pending_unk);

  // 2. Merge the lowest-ranked adjacent pair (leftmost on ties) until none is left.
  struct Cand {
    int32_t rank, pos, new_id;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> queue;
  auto consider = [&](int32_t pos) {
    int32_t next = syms[pos].next;
    if (next < 0) return;
    auto it = merges_.find(pair_key(syms[pos].id, syms[next].id));
    if (it != merges_.end()) queue.push({it->second.first, pos, it->second.second});
  };
  for (int32_t p = 0; p + 1 < static_cast<int32_t>(syms.size()); ++p) consider(p);
  while (!queue.empty()) {
    Cand top = queue.top();
    queue.pop();
    Sym& left = syms[top.pos];
    if (!left.alive || left.next < 0) continue;
    // Skip entries made stale by an earlier merge.
    auto it = merges_.find(pair_key(left.id, syms[left.next].id));
    if (it == merges_.end() || it->second.second != top.new_id) continue;
    Sym& right = syms[left.next];
    left.id = top.new_id;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) syms[right.next].prev = top.pos;
    if (left.prev >= 0) consider(left.prev);
    consider(top.pos);
  }

  std::vector<int32_t> ids;
  for (const Sym& sym : syms)
    if (sym.alive) ids.push_back(sym.id);
  return ids;
}

}  // namespace tsc::tok
