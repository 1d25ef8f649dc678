// Decoders from tokenizer.json ("decoder"): token strings back to text.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace tsc::tok {

// One step of HF's decode_chain: a list of token strings to a new list; the result is joined.
class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
};

// Null JSON gives null (tokens are then joined with spaces, as HF does). Supports Sequence,
// ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, BPEDecoder; others are a tsc::Error.
std::unique_ptr<Decoder> make_decoder(const nlohmann::json& spec);

}  // namespace tsc::tok
