// Matching added tokens in text: a byte trie scanned leftmost-longest, then HF's strip rules.
#include "runtime/tokenizer/added_vocab.h"

#include "runtime/tokenizer/normalizer.h"
#include "runtime/tokenizer/unicode.h"
#include "runtime/tokenizer/utf8.h"

namespace tsc::tok {

namespace {

// The code point that ends s (valid UTF-8, non-empty).
char32_t last_code_point(std::string_view s) {
  size_t i = s.size() - 1;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return next_code_point(s, i);
}

// Start of the whitespace run that ends s (Rust regex \s*$).
size_t trailing_space_start(std::string_view s) {
  size_t end = s.size();
  while (end > 0) {
    size_t i = end - 1;
    while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
    size_t j = i;
    if (!is_whitespace(next_code_point(s, j))) break;
    end = i;
  }
  return end;
}

// Length of the whitespace run that starts s (Rust regex ^\s*).
size_t leading_space_len(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    if (!is_whitespace(next_code_point(s, j))) break;
    i = j;
  }
  return i;
}

}  // namespace

void AddedVocab::Trie::insert(std::string_view s, int32_t index) {
  if (s.empty()) return;
  first_byte[static_cast<unsigned char>(s[0])] = true;
  int32_t node = 0;
  for (unsigned char c : s) {
    auto it = next[node].find(c);
    if (it == next[node].end()) {
      int32_t n = static_cast<int32_t>(next.size());
      next[node][c] = n;
      next.emplace_back();
      token.push_back(-1);
      node = n;
    } else {
      node = it->second;
    }
  }
  token[node] = index;
}

void AddedVocab::add(const AddedToken& token) {
  if (token.content.empty()) return;  // HF ignores empty tokens
  if (auto it = by_content_.find(token.content); it != by_content_.end()) {
    by_id_.erase(tokens_[it->second].id);
    tokens_[it->second] = token;
    by_id_[token.id] = it->second;
    return;
  }
  by_content_[token.content] = tokens_.size();
  by_id_[token.id] = tokens_.size();
  tokens_.push_back(token);
}

void AddedVocab::finalize(const Normalizer* normalizer) {
  raw_ = Trie{};
  normalized_ = Trie{};
  normalized_form_.assign(tokens_.size(), std::string());
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const AddedToken& t = tokens_[i];
    if (!t.normalized) {
      raw_.insert(t.content, static_cast<int32_t>(i));
      continue;
    }
    std::string form = t.content;
    if (normalizer) normalizer->normalize(form);
    if (form != t.content) normalized_form_[i] = form;
    normalized_.insert(form, static_cast<int32_t>(i));
  }
}

const AddedToken* AddedVocab::find(int32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

const AddedToken* AddedVocab::find(std::string_view content) const {
  auto it = by_content_.find(std::string(content));
  return it == by_content_.end() ? nullptr : &tokens_[it->second];
}

const std::string& AddedVocab::decode_form(const AddedToken& token) const {
  size_t i = by_content_.at(token.content);
  return normalized_form_.size() > i && !normalized_form_[i].empty() ? normalized_form_[i] : token.content;
}

std::vector<std::pair<size_t, size_t>> AddedVocab::matches(std::string_view s, const Trie& trie,
                                                           std::vector<int32_t>& ids) const {
  // Leftmost-longest, non-overlapping matches (daachorse's LeftmostLongest, which HF uses).
  std::vector<std::pair<size_t, size_t>> out;
  for (size_t i = 0; i < s.size();) {
    if (!trie.first_byte[static_cast<unsigned char>(s[i])]) {
      ++i;
      continue;
    }
    int32_t node = 0, best = -1;
    size_t best_end = 0;
    for (size_t j = i; j < s.size(); ++j) {
      auto it = trie.next[node].find(static_cast<unsigned char>(s[j]));
      if (it == trie.next[node].end()) break;
      node = it->second;
      if (trie.token[node] >= 0) best = trie.token[node], best_end = j + 1;
    }
    if (best < 0) {
      ++i;
      continue;
    }
    out.emplace_back(i, best_end);
    ids.push_back(best);
    i = best_end;
  }
  return out;
}

void AddedVocab::split(std::vector<Piece>& pieces, bool normalized_tokens) const {
  const Trie& trie = normalized_tokens ? normalized_ : raw_;
  if (trie.empty()) return;
  split_pieces(pieces, [&](const Piece& p) {
    std::vector<Piece> out;
    std::string_view s = p.text;
    std::vector<int32_t> which;
    auto found = matches(s, trie, which);
    size_t start_offset = 0;
    for (size_t k = 0; k < found.size(); ++k) {
      auto [start, stop] = found[k];
      const AddedToken& t = tokens_[which[k]];
      if (t.single_word) {
        bool start_ok = start == 0 || !is_word_char(last_code_point(s.substr(0, start)));
        size_t after = stop;
        bool stop_ok = stop == s.size() || !is_word_char(next_code_point(s, after));
        if (!start_ok || !stop_ok) continue;
      }
      // The previous match may already have taken the spaces on our left.
      if (t.lstrip) start = std::max(trailing_space_start(s.substr(0, start)), start_offset);
      if (t.rstrip) stop += leading_space_len(s.substr(stop));
      if (start_offset < start) out.push_back(Piece{std::string(s.substr(start_offset, start - start_offset)), -1,
                                                    p.at_start && start_offset == 0});
      out.push_back(Piece{std::string(s.substr(start, stop - start)), t.id, false});
      start_offset = stop;
    }
    if (start_offset < s.size())
      out.push_back(Piece{std::string(s.substr(start_offset)), -1, p.at_start && start_offset == 0});
    return out;
  });
}

}  // namespace tsc::tok
