// Read-only memory mapping of a file (model weights, external data, payloads): never copied.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace tsc {

class MappedFile {
 public:
  // Maps the whole file read-only; throws tsc::Error naming the path on failure.
  static std::shared_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace tsc
