// Builds TokenizerFiles from the payload's tokenizer/<file> byte tensors.
#include "runtime/app/payload_tokenizer.h"

namespace tsc {

std::unique_ptr<Tokenizer> tokenizer_from_payload(const Payload& p) {
  auto text = [&](const char* name) -> std::string {
    const std::string key = std::string("tokenizer/") + name;
    if (!p.has(key)) return {};
    const auto& e = p.entry(key);
    return std::string(static_cast<const char*>(p.data(key)), e.nbytes);
  };
  TokenizerFiles f;
  f.tokenizer_json = text("tokenizer.json");
  f.tokenizer_config_json = text("tokenizer_config.json");
  f.vocab_json = text("vocab.json");
  f.merges_txt = text("merges.txt");
  if (f.vocab_json.empty()) f.vocab_json = text("encoder.json");  // GPT-2's original file names
  if (f.merges_txt.empty()) f.merges_txt = text("vocab.bpe");
  f.generation_config_json = text("generation_config.json");
  if (f.tokenizer_json.empty() && (f.vocab_json.empty() || f.merges_txt.empty())) return nullptr;
  return Tokenizer::load(f);
}

}  // namespace tsc
