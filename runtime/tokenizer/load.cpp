// Builds a Tokenizer from tokenizer.json (or GPT-2's vocab.json + merges.txt) and tokenizer_config.json.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <sstream>

#include "contract/error.h"
#include "runtime/tokenizer/added_vocab.h"
#include "runtime/tokenizer/bpe.h"
#include "runtime/tokenizer/config.h"
#include "runtime/tokenizer/decoder.h"
#include "runtime/tokenizer/json_util.h"
#include "runtime/tokenizer/normalizer.h"
#include "runtime/tokenizer/post_processor.h"
#include "runtime/tokenizer/pre_tokenizer.h"
#include "runtime/tokenizer/tokenizer.h"

namespace tsc {

using nlohmann::json;
using tok::AddedToken;

namespace {

// Ids index dense tables; no real vocabulary comes near this.
constexpr int64_t kMaxTokenId = int64_t{1} << 24;

int32_t checked_id(const json& j, const std::string& what) {
  if (!j.is_number_integer() || j.get<int64_t>() < 0 || j.get<int64_t>() >= kMaxTokenId)
    throw Error("tokenizer: id of " + what + " is " + j.dump() + ", not an integer in [0, 2^24)",
                "the vocabulary file is damaged or not a BPE vocabulary");
  return static_cast<int32_t>(j.get<int64_t>());
}

tok::Vocab parse_vocab(const json& v, const char* file) {
  if (!v.is_object())
    throw Error(std::string(file) + ": the vocabulary must be an object of token -> id",
                "only BPE tokenizers are supported (Unigram/WordPiece vocabularies are lists)");
  tok::Vocab vocab;
  vocab.reserve(v.size());
  for (const auto& [token, id] : v.items()) vocab.emplace(token, checked_id(id, "'" + token + "'"));
  return vocab;
}

std::pair<std::string, std::string> split_merge(const std::string& line, size_t n) {
  size_t sp = line.find(' ');
  if (sp == std::string::npos || line.find(' ', sp + 1) != std::string::npos)
    throw Error("tokenizer: merge " + std::to_string(n) + " '" + line + "' is not two tokens separated by one space",
                "merges are \"left right\" strings or [left, right] pairs");
  return {line.substr(0, sp), line.substr(sp + 1)};
}

std::vector<std::pair<std::string, std::string>> parse_merges_json(const json& m) {
  std::vector<std::pair<std::string, std::string>> merges;
  if (!m.is_array()) throw Error("tokenizer.json: model.merges must be a list");
  merges.reserve(m.size());
  for (const json& e : m) {
    if (e.is_string()) {
      merges.push_back(split_merge(e.get<std::string>(), merges.size() + 1));
    } else if (e.is_array() && e.size() == 2) {
      merges.emplace_back(e.at(0).get<std::string>(), e.at(1).get<std::string>());
    } else {
      throw Error("tokenizer.json: merge " + std::to_string(merges.size() + 1) + " is " + e.dump() +
                  ", neither \"a b\" nor [a, b]");
    }
  }
  return merges;
}

std::vector<std::pair<std::string, std::string>> parse_merges_txt(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> merges;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("#version", 0) == 0 || line.empty()) continue;
    merges.push_back(split_merge(line, merges.size() + 1));
  }
  return merges;
}

std::optional<std::string> optional_string(const json& obj, const char* key) {
  if (!obj.contains(key) || obj.at(key).is_null()) return std::nullopt;
  return obj.at(key).get<std::string>();
}

// Whether a component tree uses a given type anywhere (to name the tokenizer's kind).
bool uses_type(const json& j, const std::string& type) {
  if (j.is_object()) {
    if (j.contains("type") && j.at("type") == type) return true;
    for (const auto& [k, v] : j.items())
      if (uses_type(v, type)) return true;
  } else if (j.is_array()) {
    for (const json& v : j)
      if (uses_type(v, type)) return true;
  }
  return false;
}

}  // namespace

class TokenizerBuilder {
 public:
  static std::unique_ptr<Tokenizer> build(const TokenizerFiles& f) {
    std::unique_ptr<Tokenizer> t(new Tokenizer());
    t->added_ = std::make_unique<tok::AddedVocab>();
    tok::TokenizerConfig cfg = tok::parse_tokenizer_config(f.tokenizer_config_json);
    tok::SpecialAffixes affixes;
    if (!f.tokenizer_json.empty()) {
      affixes = from_tokenizer_json(*t, f.tokenizer_json);
    } else if (!f.vocab_json.empty() && !f.merges_txt.empty()) {
      from_gpt2_files(*t, f, cfg);
    } else {
      throw Error("no tokenizer given", "provide tokenizer.json, or GPT-2's vocab.json and merges.txt");
    }
    add_config_tokens(*t, cfg);
    t->added_->finalize(t->normalizer_.get());
    resolve_specials(*t, cfg, affixes);
    std::vector<int32_t> extra = tok::parse_generation_eos(f.generation_config_json);
    if (t->eos_) t->eos_ids_.push_back(*t->eos_);
    for (int32_t id : extra)
      if (std::find(t->eos_ids_.begin(), t->eos_ids_.end(), id) == t->eos_ids_.end()) t->eos_ids_.push_back(id);
    t->chat_template_ = f.chat_template.empty() ? cfg.chat_template : f.chat_template;
    return t;
  }

 private:
  static tok::SpecialAffixes from_tokenizer_json(Tokenizer& t, const std::string& text) {
    json j;
    try {
      j = json::parse(text);
    } catch (const json::exception& e) {
      throw Error(std::string("tokenizer.json is not valid JSON: ") + e.what(),
                  "check that the file is complete (not a Git LFS pointer or a truncated download)");
    }
    try {
      if (!j.is_object() || !j.contains("model"))
        throw Error("tokenizer.json has no \"model\"", "is this an HF tokenizers file? re-save it with tokenizer.save()");
      const json& m = j.at("model");
      std::string type = m.is_object() && m.contains("type") ? m.at("type").get<std::string>()
                                                              : (m.is_object() && m.contains("merges") ? "BPE" : "");
      if (type != "BPE")
        throw Error("tokenizer.json: model type '" + type + "' is not supported",
                    "tsc supports BPE tokenizers (GPT-2, Llama, Mistral, SmolLM...); Unigram and WordPiece are not");
      tok::BpeOptions o;
      o.unk_token = optional_string(m, "unk_token");
      o.continuing_subword_prefix = optional_string(m, "continuing_subword_prefix").value_or("");
      o.end_of_word_suffix = optional_string(m, "end_of_word_suffix").value_or("");
      o.fuse_unk = m.value("fuse_unk", false);
      o.byte_fallback = m.value("byte_fallback", false);
      o.ignore_merges = m.value("ignore_merges", false);
      // "dropout" is a training-time regularizer; serving always takes the deterministic merges.
      t.model_ = std::make_unique<tok::Bpe>(parse_vocab(m.at("vocab"), "tokenizer.json"),
                                            parse_merges_json(m.value("merges", json::array())), o);
      t.normalizer_ = tok::make_normalizer(j.value("normalizer", json()));
      t.pre_tokenizer_ = tok::make_pre_tokenizer(j.value("pre_tokenizer", json()));
      t.decoder_ = tok::make_decoder(j.value("decoder", json()));
      t.byte_fallback_decoder_ = uses_type(j.value("decoder", json()), "ByteFallback");
      tok::SpecialAffixes affixes = tok::make_post_processor(j.value("post_processor", json()));
      for (const json& a : j.value("added_tokens", json::array())) {
        AddedToken tok;
        tok.id = checked_id(a.at("id"), "added token");
        tok.content = a.at("content").get<std::string>();
        tok.special = a.value("special", false);
        tok.lstrip = a.value("lstrip", false);
        tok.rstrip = a.value("rstrip", false);
        tok.normalized = a.value("normalized", !tok.special);
        tok.single_word = a.value("single_word", false);
        // HF keeps the model's id for a token the vocabulary already has, whatever the file says.
        if (auto id = t.model_->token_to_id(tok.content)) tok.id = *id;
        t.added_->add(tok);
      }
      if (uses_type(j.value("pre_tokenizer", json()), "ByteLevel") || uses_type(j.value("decoder", json()), "ByteLevel"))
        t.kind_ = "byte-level-bpe";
      else if (o.byte_fallback || uses_type(j.value("pre_tokenizer", json()), "Metaspace") ||
               uses_type(j.value("decoder", json()), "Metaspace") || uses_type(j.value("normalizer", json()), "Prepend"))
        t.kind_ = "sentencepiece-bpe";
      else
        t.kind_ = "bpe";
      return affixes;
    } catch (const json::exception& e) {
      throw Error(std::string("tokenizer.json is malformed: ") + e.what(),
                  "a field has the wrong type or is missing; compare with the model's HF repository");
    }
  }

  // GPT-2's original files: byte-level BPE with <|endoftext|> as its one special token, as
  // transformers' GPT2Tokenizer sets up.
  static void from_gpt2_files(Tokenizer& t, const TokenizerFiles& f, const tok::TokenizerConfig& cfg) {
    json v;
    try {
      v = json::parse(f.vocab_json);
    } catch (const json::exception& e) {
      throw Error(std::string("vocab.json is not valid JSON: ") + e.what(), "check that the file is complete");
    }
    t.model_ = std::make_unique<tok::Bpe>(parse_vocab(v, "vocab.json"), parse_merges_txt(f.merges_txt), tok::BpeOptions{});
    json pre = {{"type", "ByteLevel"}, {"add_prefix_space", cfg.add_prefix_space.value_or(false)}, {"use_regex", true}};
    t.pre_tokenizer_ = tok::make_pre_tokenizer(pre);
    t.decoder_ = tok::make_decoder(json{{"type", "ByteLevel"}});
    if (auto id = t.model_->token_to_id("<|endoftext|>"))
      t.added_->add(AddedToken{"<|endoftext|>", *id, /*special=*/true, false, false, /*normalized=*/true, false});
    t.kind_ = "byte-level-bpe";
  }

  // transformers adds the config's added_tokens_decoder and its named special tokens on top of
  // tokenizer.json; tokens tokenizer.json already has keep its flags.
  static void add_config_tokens(Tokenizer& t, const tok::TokenizerConfig& cfg) {
    for (const AddedToken& a : cfg.added_tokens_decoder)
      if (!t.added_->find(a.content)) t.added_->add(a);
    std::vector<std::string> named = cfg.additional_special_tokens;
    for (const auto& s : {cfg.bos, cfg.eos, cfg.unk, cfg.pad})
      if (s) named.push_back(*s);
    for (const std::string& s : named) {
      if (t.added_->find(s)) continue;
      if (auto id = t.model_->token_to_id(s)) t.added_->add(AddedToken{s, *id, true, false, false, false, false});
    }
  }

  static void resolve_specials(Tokenizer& t, const tok::TokenizerConfig& cfg, const tok::SpecialAffixes& affixes) {
    auto id_of = [&](const std::optional<std::string>& s, const char* what) -> std::optional<int32_t> {
      if (!s) return std::nullopt;
      auto id = t.token_to_id(*s);
      if (!id) throw Error(std::string("tokenizer_config.json: ") + what + " '" + *s + "' is not in the vocabulary",
                           "the config and tokenizer files must come from the same model");
      return id;
    };
    t.prefix_ids_ = affixes.prefix;
    t.suffix_ids_ = affixes.suffix;
    if (cfg.present) {
      t.bos_ = id_of(cfg.bos, "bos_token");
      t.eos_ = id_of(cfg.eos, "eos_token");
      t.pad_ = id_of(cfg.pad, "pad_token");
    } else if (!t.prefix_ids_.empty() || !t.suffix_ids_.empty()) {
      // No config: the post-processor's own tokens are the best statement of BOS/EOS.
      if (!t.prefix_ids_.empty()) t.bos_ = t.prefix_ids_.front();
      if (!t.suffix_ids_.empty()) t.eos_ = t.suffix_ids_.back();
    } else if (t.model_ && t.kind_ == "byte-level-bpe" && t.added_->find("<|endoftext|>")) {
      t.bos_ = t.eos_ = t.added_->find("<|endoftext|>")->id;  // GPT-2's defaults
    }
    // An explicit add_bos_token/add_eos_token rebuilds the template, as transformers' Llama and
    // Gemma tokenizers (and newer transformers for every fast tokenizer) do.
    if (cfg.add_bos || cfg.add_eos) {
      if (cfg.add_bos.value_or(false) && !t.bos_)
        throw Error("tokenizer_config.json sets add_bos_token but has no bos_token", "set bos_token or add_bos_token: false");
      if (cfg.add_eos.value_or(false) && !t.eos_)
        throw Error("tokenizer_config.json sets add_eos_token but has no eos_token", "set eos_token or add_eos_token: false");
      if (cfg.add_bos) t.prefix_ids_ = *cfg.add_bos ? std::vector<int32_t>{*t.bos_} : std::vector<int32_t>{};
      if (cfg.add_eos) t.suffix_ids_ = *cfg.add_eos ? std::vector<int32_t>{*t.eos_} : std::vector<int32_t>{};
    }
  }
};

std::unique_ptr<Tokenizer> Tokenizer::load(const TokenizerFiles& files) { return TokenizerBuilder::build(files); }

}  // namespace tsc
