// The package stage's inputs found beside the model: the HF tokenizer files embedded in the payload.
#pragma once
#include <string>
#include <vector>

#include "compiler/options.h"
#include "contract/payload.h"

namespace tsc {

// Adds `tokenizer/<file>` for each tokenizer file in --tokenizer (or beside the model); returns their names.
// Throws tsc::Error when --tokenizer names a folder without one.
std::vector<std::string> add_tokenizer_files(PayloadWriter& pw, const CompileOptions& opt);

// Appends the payload to the linked image and moves it to `out` (executable bits set).
void write_executable(const PayloadWriter& pw, const std::string& image, const std::string& out);

}  // namespace tsc
