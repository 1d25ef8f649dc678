// The serving tokenizer: HF tokenizer.json (byte-level BPE or SentencePiece-style BPE) in C++.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tsc {

namespace tok {
class Normalizer;
class PreTokenizer;
class Decoder;
class Bpe;
class AddedVocab;
}  // namespace tok

// File contents (the serving binary embeds them, so no paths); an empty string means absent.
// Either tokenizer_json, or vocab_json + merges_txt (GPT-2's original files), must be given.
struct TokenizerFiles {
  std::string tokenizer_json;
  std::string tokenizer_config_json;   // bos/eos/pad tokens, add_bos_token, chat_template
  std::string vocab_json;
  std::string merges_txt;
  std::string generation_config_json;  // optional: more end-of-sequence ids (eos_token_id list)
  std::string chat_template;           // optional: chat_template.jinja, overrides the config's
};

// Encodes and decodes exactly as the HF `tokenizers` library does for the same files (the unit
// tests hold it to that). All const methods are thread-safe.
class Tokenizer {
 public:
  // Throws tsc::Error naming what is wrong (malformed JSON, unsupported component, bad merge...).
  static std::unique_ptr<Tokenizer> load(const TokenizerFiles& files);
  // Reads tokenizer.json, else vocab.json + merges.txt (or encoder.json + vocab.bpe), plus
  // tokenizer_config.json, generation_config.json and chat_template.jinja where present.
  static std::unique_ptr<Tokenizer> load_dir(const std::string& dir);
  ~Tokenizer();

  // Added/special tokens written in `text` become their ids. With add_special_tokens, the
  // post-processor's tokens (BOS for Llama) are added. Invalid UTF-8 is read as U+FFFD.
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = true) const;
  // Ids that name no token are skipped (as HF does: a padded LM head can produce them).
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = false) const;

  int32_t vocab_size() const;  // largest id of any token, plus one
  std::optional<int32_t> token_to_id(std::string_view token) const;
  std::string id_to_token(int32_t id) const;  // empty if no token has this id
  std::optional<int32_t> bos_id() const { return bos_; }
  std::optional<int32_t> eos_id() const { return eos_; }
  std::vector<int32_t> eos_ids() const { return eos_ids_; }  // eos_id and generation_config's ids
  std::optional<int32_t> pad_id() const { return pad_; }
  bool is_special(int32_t id) const;
  const std::string& chat_template() const { return chat_template_; }
  std::string kind() const { return kind_; }  // "byte-level-bpe" | "sentencepiece-bpe" | "bpe"

 private:
  friend class TokenizerBuilder;
  friend class IncrementalDecoder;
  Tokenizer();
  // Whether a ByteFallback decoder may still rewrite this token's text: a run of <0xNN> tokens
  // decodes to its bytes only if the whole run is valid UTF-8, so a later byte can undo it.
  bool extends_byte_run(int32_t id) const;

  std::unique_ptr<tok::Normalizer> normalizer_;
  std::unique_ptr<tok::PreTokenizer> pre_tokenizer_;
  std::unique_ptr<tok::Bpe> model_;
  std::unique_ptr<tok::AddedVocab> added_;
  std::unique_ptr<tok::Decoder> decoder_;
  std::vector<int32_t> prefix_ids_, suffix_ids_;  // what add_special_tokens puts around the text
  std::optional<int32_t> bos_, eos_, pad_;
  std::vector<int32_t> eos_ids_;
  std::string chat_template_;
  std::string kind_;
  bool byte_fallback_decoder_ = false;
};

// Streaming detokenization: feed ids one at a time; each call returns only text that is final
// (complete UTF-8, never a split character), and all chunks plus flush() equal decode() of the
// whole sequence, including SentencePiece's leading-space rules. Uses HF's DecodeStream method:
// re-decode a short window of recent ids and emit what grew past the window's previous text.
class IncrementalDecoder {
 public:
  explicit IncrementalDecoder(const Tokenizer& tokenizer, bool skip_special_tokens = true);
  std::string push(int32_t id);
  // Returns what is still held back (e.g. an incomplete character, as U+FFFD) and starts over.
  std::string flush();

 private:
  const Tokenizer& tok_;
  bool skip_special_;
  std::vector<int32_t> window_;  // ids whose text may still change
  std::string prefix_;           // decode(window_[0, prefix_index_)), already emitted
  size_t prefix_index_ = 0;
};

}  // namespace tsc
