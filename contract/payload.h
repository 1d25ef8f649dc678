// The payload appended to a model_server executable: weights, DecoderSpec, build options and tokenizer.
//
// Layout (little-endian), appended after the ELF image so that no blob needs a large-data section:
//   [ELF image][pad to 4 KiB][header JSON][pad][tensor data, each tensor 4 KiB aligned][trailer]
//   trailer (32 bytes): magic "TSCPAYLD", u32 format version, u32 reserved,
//                       u64 payload offset (start of header JSON), u64 header length
// Offsets in the header's tensor table are relative to the payload offset.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "contract/build_options.h"
#include "contract/dtype.h"
#include "contract/mapped_file.h"
#include "contract/spec.h"

namespace tsc {

constexpr char kPayloadMagic[8] = {'T', 'S', 'C', 'P', 'A', 'Y', 'L', 'D'};
constexpr uint32_t kPayloadVersion = 1;
constexpr uint64_t kPayloadAlign = 4096;

struct TensorEntry {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  uint64_t offset = 0;  // relative to the payload start
  uint64_t nbytes = 0;
};

// Accumulates tensors and writes a payload onto the end of an existing file.
class PayloadWriter {
 public:
  // Adds a tensor; `data` must stay valid until write(). Returns false if the name exists.
  void add(const std::string& name, DType dt, std::vector<int64_t> shape, const void* data, size_t nbytes);
  // Adds an alias: `name` shares the bytes of `target` (tied embeddings are stored once).
  void alias(const std::string& name, const std::string& target);
  void add_owned(const std::string& name, DType dt, std::vector<int64_t> shape, std::vector<uint8_t> bytes);
  nlohmann::json& meta() { return meta_; }  // spec, build options, tokenizer files, ...
  // One line per tensor added so far ("name: f16[576,49152] (56623104 bytes)", "lm_head -> embed_tokens"),
  // for tsc --emit=weights.
  std::string listing() const;
  // Appends to the file at `path` (which holds the executable image).
  void append_to(const std::string& path) const;

 private:
  struct Item { TensorEntry e; const void* data; std::string alias_of; };
  std::vector<Item> items_;
  std::vector<std::unique_ptr<std::vector<uint8_t>>> owned_;
  nlohmann::json meta_ = nlohmann::json::object();
};

// A payload mapped from an executable (normally /proc/self/exe).
class Payload {
 public:
  // Throws tsc::Error with a hint when the file has no payload or the version differs.
  static std::unique_ptr<Payload> open(const std::string& exe_path);

  const nlohmann::json& meta() const { return meta_; }
  const DecoderSpec& spec() const { return spec_; }
  const BuildOptions& options() const { return options_; }
  bool has(const std::string& name) const { return tensors_.count(name) != 0; }
  const TensorEntry& entry(const std::string& name) const;
  const void* data(const std::string& name) const;
  const std::map<std::string, TensorEntry>& tensors() const { return tensors_; }
  uint64_t total_bytes() const { return total_; }

 private:
  std::shared_ptr<MappedFile> file_;
  const uint8_t* base_ = nullptr;
  uint64_t total_ = 0;
  nlohmann::json meta_;
  DecoderSpec spec_;
  BuildOptions options_;
  std::map<std::string, TensorEntry> tensors_;
};

}  // namespace tsc
