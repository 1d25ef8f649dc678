// Pre-tokenizer kinds, each splitting as the HF tokenizers pre-tokenizer of the same name does.
#include "runtime/tokenizer/pre_tokenizer.h"

#include <nlohmann/json.hpp>

#include "contract/error.h"
#include "runtime/tokenizer/byte_level.h"
#include "runtime/tokenizer/json_util.h"
#include "runtime/tokenizer/metaspace.h"
#include "runtime/tokenizer/regex.h"
#include "runtime/tokenizer/unicode.h"

namespace tsc::tok {

namespace {

using nlohmann::json;

class Sequence : public PreTokenizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> steps) : steps_(std::move(steps)) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    for (const auto& s : steps_) s->pre_tokenize(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

class ByteLevel : public PreTokenizer {
 public:
  ByteLevel(bool add_prefix_space, bool use_regex) : add_prefix_space_(add_prefix_space) {
    if (use_regex) regex_ = std::make_unique<Regex>(Regex::pattern(kGpt2Pattern));
  }
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    split_pieces(pieces, [&](Piece& p) {
      if (add_prefix_space_ && (p.text.empty() || p.text[0] != ' ')) p.text = " " + p.text;
      if (!regex_) return std::vector<Piece>{std::move(p)};
      return split_by(p, regex_->find_matches(p.text), SplitBehavior::Isolated);
    });
    // Then every byte becomes its printable stand-in, so the vocabulary covers all input.
    for (Piece& p : pieces) {
      if (p.id >= 0) continue;
      std::string mapped;
      mapped.reserve(p.text.size() * 2);
      bytes_to_byte_level(p.text, mapped);
      p.text = std::move(mapped);
    }
  }

 private:
  bool add_prefix_space_;
  std::unique_ptr<Regex> regex_;
};

class Split : public PreTokenizer {
 public:
  Split(Regex pattern, SplitBehavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    split_pieces(pieces, [&](const Piece& p) {
      std::vector<Span> spans = pattern_.find_matches(p.text);
      if (invert_)
        for (Span& s : spans) s.match = !s.match;
      return split_by(p, spans, behavior_);
    });
  }

 private:
  Regex pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

// Splits on characters for which a predicate holds (Digits, WhitespaceSplit, Punctuation).
template <class Pred>
class CharSplit : public PreTokenizer {
 public:
  CharSplit(Pred pred, SplitBehavior behavior) : pred_(pred), behavior_(behavior) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    split_pieces(pieces, [&](const Piece& p) { return split_by(p, find_char_matches(p.text, pred_), behavior_); });
  }

 private:
  Pred pred_;
  SplitBehavior behavior_;
};

template <class Pred>
std::unique_ptr<PreTokenizer> char_split(Pred pred, SplitBehavior behavior) {
  return std::make_unique<CharSplit<Pred>>(pred, behavior);
}

class MetaspacePre : public PreTokenizer {
 public:
  explicit MetaspacePre(MetaspaceOptions o) : o_(std::move(o)), separator_(Regex::literal(o_.replacement)) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    split_pieces(pieces, [&](Piece& p) {
      std::string t;
      for (char c : p.text) c == ' ' ? void(t += o_.replacement) : void(t += c);
      bool starts = t.compare(0, o_.replacement.size(), o_.replacement) == 0;
      bool prepend = o_.prepend == PrependScheme::Always || (o_.prepend == PrependScheme::First && p.at_start);
      if (prepend && !starts) t.insert(0, o_.replacement);
      Piece q{std::move(t), -1, p.at_start};
      if (!o_.split) return std::vector<Piece>{std::move(q)};
      return split_by(q, separator_.find_matches(q.text), SplitBehavior::MergedWithNext);
    });
  }

 private:
  MetaspaceOptions o_;
  Regex separator_;
};

}  // namespace

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const json& spec) {
  if (spec.is_null()) return nullptr;
  const std::string type = type_of(spec, "pre_tokenizer");
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (const json& s : spec.at("pretokenizers"))
      if (auto p = make_pre_tokenizer(s)) steps.push_back(std::move(p));
    return std::make_unique<Sequence>(std::move(steps));
  }
  if (type == "ByteLevel")
    return std::make_unique<ByteLevel>(spec.value("add_prefix_space", true), spec.value("use_regex", true));
  if (type == "Split")
    return std::make_unique<Split>(make_pattern(spec.at("pattern")),
                                   parse_split_behavior(spec.at("behavior").get<std::string>()),
                                   spec.value("invert", false));
  if (type == "Digits") {
    auto behavior = spec.value("individual_digits", false) ? SplitBehavior::Isolated : SplitBehavior::Contiguous;
    return char_split([](char32_t c) { return is_numeric(c); }, behavior);
  }
  if (type == "Metaspace") return std::make_unique<MetaspacePre>(parse_metaspace(spec));
  if (type == "Whitespace") {
    // HF: the words are \w+|[^\w\s]+ and everything between them is dropped.
    auto words = Regex::pattern(kWordsPattern);
    return std::make_unique<Split>(std::move(words), SplitBehavior::Removed, /*invert=*/true);
  }
  if (type == "WhitespaceSplit") return char_split([](char32_t c) { return is_whitespace(c); }, SplitBehavior::Removed);
  if (type == "Punctuation")
    return char_split([](char32_t c) { return is_punctuation(c); },
                      parse_split_behavior(spec.value("behavior", std::string("Isolated"))));
  throw unsupported("pre_tokenizer", type,
                    "Sequence, ByteLevel, Split, Digits, Metaspace, Whitespace, WhitespaceSplit, Punctuation");
}

}  // namespace tsc::tok
