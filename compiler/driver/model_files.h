// Finding a model's files: an .onnx path or a folder in the hub layout (onnx/model.onnx, config.json and tokenizer files one folder up).
#pragma once
#include <iosfwd>

#include "compiler/options.h"

namespace tsc {

// Returns `opt` with `model` naming an .onnx file and, where the user left them out and the hub layout
// puts them one folder above the model's `onnx/` folder, `config` and `tokenizer` set. A folder is searched
// for model.onnx, then onnx/model.onnx, then a single .onnx file in either place; anything else is an
// error naming the folder. Under -v says what it found.
CompileOptions resolve_model_files(const CompileOptions& opt, std::ostream& log);

}  // namespace tsc
