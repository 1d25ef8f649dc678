// The normalizer kinds Llama/GPT-2-family tokenizer.json files use, built from their JSON.
#include "runtime/tokenizer/normalizer.h"

#include <nlohmann/json.hpp>

#include <vector>

#include "contract/error.h"
#include "runtime/tokenizer/byte_level.h"
#include "runtime/tokenizer/json_util.h"
#include "runtime/tokenizer/regex.h"
#include "runtime/tokenizer/unicode.h"
#include "runtime/tokenizer/utf8.h"

namespace tsc::tok {

namespace {

using nlohmann::json;

class Sequence : public Normalizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Normalizer>> steps) : steps_(std::move(steps)) {}
  void normalize(std::string& text) const override {
    for (const auto& s : steps_) s->normalize(text);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

// SentencePiece's dummy prefix ("▁"); HF prepends only to non-empty text.
class Prepend : public Normalizer {
 public:
  explicit Prepend(std::string prefix) : prefix_(std::move(prefix)) {}
  void normalize(std::string& text) const override {
    if (!text.empty()) text.insert(0, prefix_);
  }

 private:
  std::string prefix_;
};

class Replace : public Normalizer {
 public:
  Replace(Regex pattern, std::string content) : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void normalize(std::string& text) const override { text = pattern_.replace_all(text, content_); }

 private:
  Regex pattern_;
  std::string content_;
};

class Unicode : public Normalizer {
 public:
  explicit Unicode(NormalForm form) : form_(form) {}
  void normalize(std::string& text) const override { text = tsc::tok::normalize(form_, text); }

 private:
  NormalForm form_;
};

class Lowercase : public Normalizer {
 public:
  void normalize(std::string& text) const override { text = to_lower(text); }
};

class Strip : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  void normalize(std::string& text) const override {
    size_t b = 0, e = text.size();
    if (left_) {
      while (b < e) {
        size_t j = b;
        if (!is_whitespace(next_code_point(text, j))) break;
        b = j;
      }
    }
    if (right_) {
      while (e > b) {
        size_t i = e - 1;
        while (i > b && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) --i;
        size_t j = i;
        if (!is_whitespace(next_code_point(text, j))) break;
        e = i;
      }
    }
    text = text.substr(b, e - b);
  }

 private:
  bool left_, right_;
};

class StripAccents : public Normalizer {
 public:
  void normalize(std::string& text) const override {
    std::string out;
    for (size_t i = 0; i < text.size();) {
      size_t b = i;
      if (!is_mark(next_code_point(text, i))) out.append(text, b, i - b);
    }
    text = std::move(out);
  }
};

class ByteLevelNormalizer : public Normalizer {
 public:
  void normalize(std::string& text) const override {
    std::string out;
    bytes_to_byte_level(text, out);
    text = std::move(out);
  }
};

}  // namespace

std::unique_ptr<Normalizer> make_normalizer(const json& spec) {
  if (spec.is_null()) return nullptr;
  const std::string type = type_of(spec, "normalizer");
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Normalizer>> steps;
    for (const json& s : spec.at("normalizers"))
      if (auto n = make_normalizer(s)) steps.push_back(std::move(n));
    return std::make_unique<Sequence>(std::move(steps));
  }
  if (type == "Prepend") return std::make_unique<Prepend>(spec.at("prepend").get<std::string>());
  if (type == "Replace")
    return std::make_unique<Replace>(make_pattern(spec.at("pattern")), spec.at("content").get<std::string>());
  if ((type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD" || type == "Lowercase") && !built_with_icu())
    throw needs_icu("tokenizer.json: normalizer '" + type + "'");
  if (type == "NFC") return std::make_unique<Unicode>(NormalForm::NFC);
  if (type == "NFD") return std::make_unique<Unicode>(NormalForm::NFD);
  if (type == "NFKC") return std::make_unique<Unicode>(NormalForm::NFKC);
  if (type == "NFKD") return std::make_unique<Unicode>(NormalForm::NFKD);
  if (type == "Lowercase") return std::make_unique<Lowercase>();
  if (type == "Strip") return std::make_unique<Strip>(spec.value("strip_left", true), spec.value("strip_right", true));
  if (type == "StripAccents") return std::make_unique<StripAccents>();
  if (type == "ByteLevel") return std::make_unique<ByteLevelNormalizer>();
  throw unsupported("normalizer", type,
                    "Sequence, Prepend, Replace, NFC, NFD, NFKC, NFKD, Lowercase, Strip, StripAccents, ByteLevel");
}

}  // namespace tsc::tok
