// Package stage: tokenizer files and the payload appended to the linked image.
#include "compiler/driver/package.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "contract/error.h"

namespace tsc {
namespace fs = std::filesystem;

std::vector<std::string> add_tokenizer_files(PayloadWriter& pw, const CompileOptions& opt) {
  fs::path tdir = opt.tokenizer.empty() ? fs::path(opt.model).parent_path() : fs::path(opt.tokenizer);
  if (!opt.tokenizer.empty() && fs::is_regular_file(tdir)) tdir = tdir.parent_path();
  if (!opt.tokenizer.empty() && !fs::exists(tdir)) throw Error("--tokenizer '" + opt.tokenizer + "' does not exist", "pass the folder holding tokenizer.json");
  std::vector<std::string> found;
  for (const char* name : {"tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "encoder.json", "vocab.bpe", "generation_config.json"}) {
    fs::path f = tdir / name;
    if (!fs::exists(f)) continue;
    std::ifstream in(f, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    pw.add_owned(std::string("tokenizer/") + name, DType::kU8, {static_cast<int64_t>(text.size())}, std::vector<uint8_t>(text.begin(), text.end()));
    found.push_back(name);
  }
  if (!opt.tokenizer.empty() && found.empty())
    throw Error("--tokenizer '" + opt.tokenizer + "' holds no tokenizer.json, vocab.json + merges.txt or encoder.json + vocab.bpe", "pass the folder of the model's HF tokenizer files");
  return found;
}

void write_executable(const PayloadWriter& pw, const std::string& image, const std::string& out) {
  pw.append_to(image);
  fs::permissions(image, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
  fs::rename(image, out);
}

}  // namespace tsc
