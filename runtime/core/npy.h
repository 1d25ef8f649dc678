// Minimal NumPy .npy reading and writing (version 1.0/2.0 headers, C order, little-endian) for the
// `score` command: int64 token ids in, float32 logits out.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "contract/dtype.h"

namespace tsc {

struct NpyArray {
  DType dtype = DType::kUndefined;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
  int64_t numel() const;
};

// Throws tsc::Error naming the file and the problem (bad magic, Fortran order, unsupported dtype, short data).
NpyArray read_npy(const std::string& path);
void write_npy(const std::string& path, DType dtype, const std::vector<int64_t>& shape, const void* data);

}  // namespace tsc
