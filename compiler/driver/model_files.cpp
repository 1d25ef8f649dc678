// Finding a model's files: an .onnx path or a folder in the hub layout (onnx/model.onnx, config.json and tokenizer files one folder up).
#include "compiler/driver/model_files.h"

#include <algorithm>
#include <filesystem>
#include <ostream>
#include <vector>

#include "contract/error.h"

namespace tsc {
namespace fs = std::filesystem;

namespace {

// The .onnx files directly in dir, sorted.
std::vector<fs::path> onnx_files(const fs::path& dir) {
  std::vector<fs::path> r;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return r;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file(ec) && e.path().extension() == ".onnx") r.push_back(e.path());
  std::sort(r.begin(), r.end());
  return r;
}

fs::path model_in_folder(const fs::path& dir) {
  for (const fs::path& p : {dir / "model.onnx", dir / "onnx" / "model.onnx"})
    if (fs::is_regular_file(p)) return p;
  std::vector<fs::path> all = onnx_files(dir), sub = onnx_files(dir / "onnx");
  all.insert(all.end(), sub.begin(), sub.end());
  if (all.size() == 1) return all[0];
  if (all.empty())
    throw Error("folder '" + dir.string() + "' holds no .onnx file (looked for model.onnx and onnx/model.onnx)",
                "pass the model's .onnx file, or the folder of a hub download (onnx/model.onnx beside config.json)");
  std::string names;
  for (const auto& p : all) names += (names.empty() ? "" : ", ") + fs::relative(p, dir).string();
  throw Error("folder '" + dir.string() + "' holds several .onnx files and no model.onnx: " + names,
              "pass the one to compile, e.g. tsc " + all[0].string());
}

bool has_tokenizer(const fs::path& dir) {
  for (const char* f : {"tokenizer.json", "vocab.json", "encoder.json"})
    if (fs::is_regular_file(dir / f)) return true;
  return false;
}

}  // namespace

CompileOptions resolve_model_files(const CompileOptions& opt, std::ostream& log) {
  CompileOptions r = opt;
  std::error_code ec;
  if (fs::is_directory(r.model, ec)) r.model = model_in_folder(r.model).string();
  const fs::path dir = fs::path(r.model).parent_path();
  // The hub layout: <repo>/onnx/<form>.onnx with config.json, generation_config.json and the tokenizer in <repo>.
  const fs::path up = dir.filename() == "onnx" ? dir.parent_path() : fs::path();
  if (r.config.empty() && !fs::exists(dir / "config.json") && !up.empty() && fs::is_regular_file(up / "config.json"))
    r.config = (up / "config.json").string();
  // onnxruntime-genai's builder output: genai_config.json beside model.onnx and no config.json.
  if (r.config.empty() && !fs::exists(dir / "config.json") && fs::is_regular_file(dir / "genai_config.json"))
    r.config = (dir / "genai_config.json").string();
  if (r.tokenizer.empty() && !has_tokenizer(dir) && !up.empty() && has_tokenizer(up)) r.tokenizer = up.string();
  if (opt.verbose)
    log << "tsc: model " << r.model << (r.config.empty() ? "" : ", config " + r.config)
        << (r.tokenizer.empty() ? "" : ", tokenizer " + r.tokenizer) << "\n";
  return r;
}

}  // namespace tsc
