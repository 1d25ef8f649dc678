// The BPE model: a vocabulary and ranked merges, applied to one pre-tokenized word at a time.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tsc::tok {

// Hash that lets string-keyed maps be searched with a string_view, without a copy.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using Vocab = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

struct BpeOptions {
  std::optional<std::string> unk_token;
  std::string continuing_subword_prefix;  // empty = none
  std::string end_of_word_suffix;         // empty = none
  bool fuse_unk = false;
  bool byte_fallback = false;  // unknown characters become <0xNN> byte tokens (SentencePiece style)
  bool ignore_merges = false;  // a word already in the vocabulary is one token (Llama-3 style)
};

class Bpe {
 public:
  // Throws tsc::Error if a merge names a token that is not in the vocabulary.
  Bpe(Vocab vocab, const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options);

  // Appends the ids of `word` to `out` (HF's BPE::tokenize). Thread-safe.
  void tokenize(std::string_view word, std::vector<int32_t>& out) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  const std::string* id_to_token(int32_t id) const;  // null if no token has this id
  int32_t id_limit() const { return static_cast<int32_t>(vocab_r_.size()); }  // largest id + 1
  const BpeOptions& options() const { return options_; }

 private:
  void tokenize_cached(std::string_view word, std::vector<int32_t>& out) const;
  std::vector<int32_t> merge_word(std::string_view word) const;

  Vocab vocab_;
  std::vector<std::string> vocab_r_;  // id -> token
  std::vector<bool> has_id_;
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges_;  // (left id, right id) -> (rank, merged id)
  std::array<int32_t, 256> byte_ids_;                                 // <0xNN> token ids, -1 if absent
  std::optional<int32_t> unk_id_;
  BpeOptions options_;
  // SentencePiece models see a whole text as one word. When no token has a "▁" after another
  // character, no merge can cross the start of a "▁" run, so words split there give the same ids
  // and hit the cache.
  bool split_at_metaspace_ = false;

  // Words seen before (HF caches words shorter than 256 bytes, as here).
  mutable std::shared_mutex cache_mu_;
  mutable std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> cache_;
};

}  // namespace tsc::tok
