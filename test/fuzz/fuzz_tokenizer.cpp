// libFuzzer target: mutated bytes as text a user sends (encode) and as token ids a model emits (decode,
// streaming decode), through the GPT-2 byte-level BPE and the Llama SentencePiece-style BPE tokenizers.
// A crash, a sanitizer report, an id outside the vocabulary, byte-level text that does not survive
// encode -> decode, or streamed chunks that differ from decode() of the whole sequence is a bug.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "contract/error.h"
#include "runtime/tokenizer/tokenizer.h"
#include "runtime/tokenizer/utf8.h"  // tsc::tok::is_valid_utf8

namespace {

std::unique_ptr<tsc::Tokenizer> g_tok[2];  // gpt2-bpe, llama-sp-bpe

[[noreturn]] void bug(const char* what) {
  std::fprintf(stderr, "fuzz_tokenizer: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // The tokenizer files of the unit tests (../shared/data beside the checkout, or $TSC_SHARED_DATA_DIR).
  const char* env = std::getenv("TSC_SHARED_DATA_DIR");
  const std::string data = env && *env ? env : TSC_SHARED_DATA_DIR;
  try {
    g_tok[0] = tsc::Tokenizer::load_dir(data + "/gpt2-bpe");
    g_tok[1] = tsc::Tokenizer::load_dir(data + "/llama-sp-bpe");
  } catch (const tsc::Error& e) {
    std::fprintf(stderr, "fuzz_tokenizer: cannot load the tokenizers from %s: %s\n", data.c_str(), e.what());
    std::abort();
  }
  return 0;
}

// data[0]: bit 0 the tokenizer, bit 1 encode (0) or decode (1), bit 2 add / skip special tokens.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const tsc::Tokenizer& tok = *g_tok[data[0] & 1];
  const bool decode_mode = data[0] & 2, special = data[0] & 4;
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const int32_t vocab = tok.vocab_size();
  if (!decode_mode) {
    const std::vector<int32_t> ids = tok.encode(rest, special);
    for (int32_t id : ids)
      if (id < 0 || id >= vocab) bug("encode produced an id outside the vocabulary");
    // Byte-level BPE is lossless on valid UTF-8 (HF tokenizers: decode(encode(s)) == s).
    if (&tok == g_tok[0].get() && !special && tsc::tok::is_valid_utf8(rest) && tok.decode(ids) != rest)
      bug("byte-level BPE: decode(encode(text)) != text");
    return 0;
  }
  // Ids: 16-bit little-endian pairs, a few past the vocabulary (an LM head padded beyond it).
  std::vector<int32_t> ids;
  for (size_t i = 0; i + 1 < rest.size(); i += 2)
    ids.push_back(static_cast<int32_t>((static_cast<uint8_t>(rest[i]) | static_cast<uint8_t>(rest[i + 1]) << 8) % (vocab + 8)));
  const std::string whole = tok.decode(ids, special);
  tsc::IncrementalDecoder inc(tok, special);
  std::string streamed;
  for (int32_t id : ids) streamed += inc.push(id);
  streamed += inc.flush();
  if (streamed != whole) bug("streamed chunks + flush() != decode() of the whole sequence");
  return 0;
}
