// Tokenizer::encode/decode: added tokens, normalizer, pre-tokenizer, BPE, post-processor (HF's order).
#include "runtime/tokenizer/tokenizer.h"

#include "runtime/tokenizer/added_vocab.h"
#include "runtime/tokenizer/bpe.h"
#include "runtime/tokenizer/decoder.h"
#include "runtime/tokenizer/normalizer.h"
#include "runtime/tokenizer/pre_tokenizer.h"
#include "runtime/tokenizer/utf8.h"

namespace tsc {

Tokenizer::Tokenizer() = default;
Tokenizer::~Tokenizer() = default;

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  std::string clean = tok::is_valid_utf8(text) ? std::string(text) : tok::utf8_lossy(text);
  std::vector<tok::Piece> pieces;
  if (!clean.empty()) pieces.push_back(tok::Piece{std::move(clean), -1, true});

  // 1. Added tokens written as-is, then normalization of the text between them, then added
  //    tokens that match the normalized text (HF's AddedVocabulary::extract_and_normalize).
  added_->split(pieces, /*normalized_tokens=*/false);
  if (normalizer_) {
    tok::split_pieces(pieces, [&](tok::Piece& p) {
      normalizer_->normalize(p.text);
      return std::vector<tok::Piece>{std::move(p)};
    });
  }
  added_->split(pieces, /*normalized_tokens=*/true);
  // 2. Words.
  if (pre_tokenizer_) pre_tokenizer_->pre_tokenize(pieces);
  // 3. BPE per word, and the post-processor's special tokens around the result.
  std::vector<int32_t> ids;
  if (add_special_tokens) ids = prefix_ids_;
  for (const tok::Piece& p : pieces) {
    if (p.id >= 0)
      ids.push_back(p.id);
    else
      model_->tokenize(p.text, ids);
  }
  if (add_special_tokens) ids.insert(ids.end(), suffix_ids_.begin(), suffix_ids_.end());
  return ids;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (const tok::AddedToken* a = added_->find(id)) {
      if (!(skip_special_tokens && a->special)) tokens.push_back(added_->decode_form(*a));
    } else if (const std::string* s = model_->id_to_token(id)) {
      tokens.push_back(*s);
    }
  }
  if (!decoder_) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) (i ? out += ' ' : out) += tokens[i];
    return out;
  }
  decoder_->decode_chain(tokens);
  std::string out;
  for (const std::string& t : tokens) out += t;
  return out;
}

int32_t Tokenizer::vocab_size() const {
  int32_t n = model_->id_limit();
  for (const tok::AddedToken& a : added_->tokens()) n = std::max(n, a.id + 1);
  return n;
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  if (const tok::AddedToken* a = added_->find(token)) return a->id;
  return model_->token_to_id(token);
}

std::string Tokenizer::id_to_token(int32_t id) const {
  if (const tok::AddedToken* a = added_->find(id)) return a->content;
  const std::string* s = model_->id_to_token(id);
  return s ? *s : std::string();
}

bool Tokenizer::extends_byte_run(int32_t id) const {
  if (!byte_fallback_decoder_ || added_->find(id)) return false;
  const std::string* s = model_->id_to_token(id);
  return s && s->size() == 6 && s->compare(0, 3, "<0x") == 0 && s->back() == '>';
}

bool Tokenizer::is_special(int32_t id) const {
  const tok::AddedToken* a = added_->find(id);
  return a && a->special;
}

}  // namespace tsc
