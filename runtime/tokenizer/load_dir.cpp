// Tokenizer::load_dir: collects a model directory's tokenizer files for Tokenizer::load.
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "contract/error.h"
#include "runtime/tokenizer/tokenizer.h"

namespace tsc {

namespace {

std::optional<std::string> read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::load_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path d(dir);
  TokenizerFiles f;
  auto get = [&](const char* name) { return read_file(d / name).value_or(""); };
  f.tokenizer_json = get("tokenizer.json");
  if (f.tokenizer_json.empty()) {
    f.vocab_json = get("vocab.json");
    f.merges_txt = get("merges.txt");
    if (f.vocab_json.empty() || f.merges_txt.empty()) {  // OpenAI's names for the same files
      f.vocab_json = get("encoder.json");
      f.merges_txt = get("vocab.bpe");
    }
    if (f.vocab_json.empty() || f.merges_txt.empty())
      throw Error("no tokenizer in '" + dir + "'",
                  "expected tokenizer.json, or vocab.json + merges.txt; download them from the model's HF repository");
  }
  f.tokenizer_config_json = get("tokenizer_config.json");
  f.generation_config_json = get("generation_config.json");
  f.chat_template = get("chat_template.jinja");
  return load(f);
}

}  // namespace tsc
