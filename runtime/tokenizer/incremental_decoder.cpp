// IncrementalDecoder: HF's DecodeStream algorithm over Tokenizer::decode.
#include "runtime/tokenizer/tokenizer.h"
#include "runtime/tokenizer/utf8.h"

namespace tsc {

namespace {

bool ends_with_replacement(const std::string& s) {
  const auto r = tok::kReplacementChar;
  return s.size() >= r.size() && s.compare(s.size() - r.size(), r.size(), r) == 0;
}

}  // namespace

IncrementalDecoder::IncrementalDecoder(const Tokenizer& tokenizer, bool skip_special_tokens)
    : tok_(tokenizer), skip_special_(skip_special_tokens) {}

// Why a window and not per-token text: a token's text depends on its neighbours (bytes of one
// character spread over several tokens; SentencePiece drops the space of the first token only).
// decode(window) always starts with decode(window minus its newest ids) once that text ends in a
// complete character, so what grew is final. A trailing U+FFFD may be the start of a character
// that later ids complete, so it is held back until they come or flush() is called. Likewise a
// run of byte-fallback tokens is held until a token that ends it, because one bad byte turns the
// whole run into U+FFFDs.
std::string IncrementalDecoder::push(int32_t id) {
  // Ids decode drops (skipped special tokens, ids that name no token) are left out of the window too: kept,
  // they would end a byte-fallback run that decode() joins across them, and text already emitted
  // (bytes that were a valid character alone) could turn into U+FFFDs once the run goes on.
  if ((skip_special_ && tok_.is_special(id)) || tok_.id_to_token(id).empty()) return {};
  if (prefix_.empty() && !window_.empty() && !tok_.extends_byte_run(window_.back())) {
    std::string p = tok_.decode(window_, skip_special_);
    if (!ends_with_replacement(p)) {
      prefix_ = std::move(p);
      prefix_index_ = window_.size();
    }
  }
  window_.push_back(id);
  if (tok_.extends_byte_run(id)) return {};
  std::string text = tok_.decode(window_, skip_special_);
  if (text.size() <= prefix_.size() || ends_with_replacement(text) || text.compare(0, prefix_.size(), prefix_) != 0)
    return {};
  std::string out = text.substr(prefix_.size());
  // Keep the ids after the old prefix as context for the next step.
  size_t new_prefix_index = window_.size() - prefix_index_;
  window_.erase(window_.begin(), window_.begin() + static_cast<std::ptrdiff_t>(prefix_index_));
  prefix_ = tok_.decode(window_, skip_special_);
  prefix_index_ = new_prefix_index;
  return out;
}

std::string IncrementalDecoder::flush() {
  std::string text = tok_.decode(window_, skip_special_);
  std::string out;
  if (text.size() > prefix_.size() && text.compare(0, prefix_.size(), prefix_) == 0) out = text.substr(prefix_.size());
  window_.clear();
  prefix_.clear();
  prefix_index_ = 0;
  return out;
}

}  // namespace tsc
