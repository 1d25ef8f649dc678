// Added tokens (special and user tokens): found in the input before normalization and BPE.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/tokenizer/split.h"

namespace tsc::tok {

class Normalizer;

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = false;
  bool lstrip = false;       // swallow whitespace on its left
  bool rstrip = false;       // swallow whitespace on its right
  bool normalized = false;   // matched against the normalized text rather than the raw input
  bool single_word = false;  // only where it is not part of a longer word
};

class AddedVocab {
 public:
  // Later additions with the same content replace earlier ones.
  void add(const AddedToken& token);
  // Builds the matchers; normalized tokens are matched by their normalized content (HF does the same).
  void finalize(const Normalizer* normalizer);

  // Splits pieces without an id on raw (normalized = false) or normalized tokens, following HF's
  // AddedVocabulary::find_matches (leftmost-longest, lstrip/rstrip/single_word).
  void split(std::vector<Piece>& pieces, bool normalized_tokens) const;

  const AddedToken* find(int32_t id) const;
  const AddedToken* find(std::string_view content) const;
  // The string the decoder sees for an added token: its normalized form if it has one.
  const std::string& decode_form(const AddedToken& token) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  // A byte trie over token contents, for leftmost-longest matching.
  struct Trie {
    std::vector<std::unordered_map<unsigned char, int32_t>> next{1};
    std::vector<int32_t> token{-1};  // index into tokens_ of the token ending at each node
    bool first_byte[256] = {};
    void insert(std::string_view s, int32_t index);
    bool empty() const { return next.size() == 1; }
  };
  std::vector<std::pair<size_t, size_t>> matches(std::string_view s, const Trie& trie,
                                                 std::vector<int32_t>& ids) const;

  std::vector<AddedToken> tokens_;
  std::vector<std::string> normalized_form_;  // per token; empty if same as content
  std::unordered_map<int32_t, size_t> by_id_;
  std::unordered_map<std::string, size_t> by_content_;
  Trie raw_, normalized_;
};

}  // namespace tsc::tok
