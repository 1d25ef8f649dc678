// The tokenizer embedded in this executable's payload (tokenizer/<file> tensors), if any.
#pragma once
#include <memory>

#include "contract/payload.h"
#include "runtime/tokenizer/tokenizer.h"

namespace tsc {

// nullptr when tsc found no tokenizer files beside the model.
std::unique_ptr<Tokenizer> tokenizer_from_payload(const Payload& p);

}  // namespace tsc
