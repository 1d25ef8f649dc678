// Test helpers: reading shared data and composing tokenizer.json variants from GPT-2/Llama files.
#include "test_support.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "runtime/tokenizer/utf8.h"

namespace tsc::test {

using nlohmann::json;

std::string shared_data(const std::string& rel) { return std::string(TSC_SHARED_DATA_DIR) + "/" + rel; }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot read " << path;
    return {};
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> reference_variants() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(TSC_TOKENIZER_REF_DIR))
    if (e.path().extension() == ".jsonl") out.push_back(e.path().stem().string());
  std::sort(out.begin(), out.end());
  return out;
}

Reference load_reference(const std::string& variant) {
  Reference r;
  r.variant = variant;
  std::istringstream in(read_file(std::string(TSC_TOKENIZER_REF_DIR) + "/" + variant + ".jsonl"));
  std::string line;
  std::getline(in, line);
  r.header = json::parse(line);
  while (std::getline(in, line))
    if (!line.empty()) r.cases.push_back(json::parse(line));
  return r;
}

namespace {

std::vector<std::string> merge_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty() && line.rfind("#version", 0) != 0) out.push_back(line);
  return out;
}

json as_pairs(const json& merges) {
  json out = json::array();
  for (const json& m : merges) {
    std::string s = m.get<std::string>();
    size_t sp = s.find(' ');
    out.push_back(json::array({s.substr(0, sp), s.substr(sp + 1)}));
  }
  return out;
}

json gpt2_base(bool pairs) {
  json merges = merge_lines(read_file(shared_data("gpt2-bpe/vocab.bpe")));
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", json::array()},
          {"normalizer", nullptr},
          {"pre_tokenizer", nullptr},
          {"post_processor", nullptr},
          {"decoder", nullptr},
          {"model",
           {{"type", "BPE"},
            {"dropout", nullptr},
            {"unk_token", nullptr},
            {"continuing_subword_prefix", nullptr},
            {"end_of_word_suffix", nullptr},
            {"fuse_unk", false},
            {"byte_fallback", false},
            {"ignore_merges", false},
            {"vocab", json::parse(read_file(shared_data("gpt2-bpe/encoder.json")))},
            {"merges", pairs ? as_pairs(merges) : merges}}}};
}

json llama_base(bool pairs) {
  json j = json::parse(read_file(shared_data("llama-sp-bpe/tokenizer.json")));
  if (pairs && j["model"]["merges"].size() > 0 && j["model"]["merges"][0].is_string())
    j["model"]["merges"] = as_pairs(j["model"]["merges"]);
  return j;
}

}  // namespace

TokenizerFiles files_for(const json& header) {
  TokenizerFiles f;
  const std::string base = header.at("base");
  if (header.contains("config") && !header.at("config").is_null()) f.tokenizer_config_json = header.at("config").dump();
  if (base == "gpt2-files") {
    f.vocab_json = read_file(shared_data("gpt2-bpe/encoder.json"));
    f.merges_txt = read_file(shared_data("gpt2-bpe/vocab.bpe"));
    return f;
  }
  const bool pairs = header.value("merges_format", std::string("strings")) == "pairs";
  json tj = base == "gpt2-json" ? gpt2_base(pairs) : llama_base(pairs);
  const json override_keys = header.value("override", json::object());
  const json model_keys = header.value("model_override", json::object());
  for (const auto& [k, v] : override_keys.items()) tj[k] = v;
  for (const auto& [k, v] : model_keys.items()) tj["model"][k] = v;
  f.tokenizer_json = tj.dump();
  return f;
}

const Tokenizer& gpt2() {
  static std::unique_ptr<Tokenizer> t = Tokenizer::load_dir(shared_data("gpt2-bpe"));
  return *t;
}

const Tokenizer& llama() {
  static std::unique_ptr<Tokenizer> t = Tokenizer::load_dir(shared_data("llama-sp-bpe"));
  return *t;
}

bool valid_utf8(const std::string& s) { return tok::is_valid_utf8(s); }

}  // namespace tsc::test
