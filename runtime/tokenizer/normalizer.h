// Normalizers from tokenizer.json ("normalizer"): text rewrites applied before pre-tokenization.
#pragma once
#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace tsc::tok {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(std::string& text) const = 0;  // text is valid UTF-8 and stays so
};

// Null JSON gives null. Supports Sequence, Prepend, Replace, NFC/NFD/NFKC/NFKD, Lowercase, Strip,
// StripAccents, ByteLevel; anything else is a tsc::Error naming the type.
std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& spec);

}  // namespace tsc::tok
