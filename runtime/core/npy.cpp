// .npy header parsing: the header is a Python dict literal with 'descr', 'fortran_order' and 'shape'.
#include "runtime/core/npy.h"

#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

#include "contract/error.h"

namespace tsc {

int64_t NpyArray::numel() const {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

NpyArray read_npy(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error("cannot open '" + path + "'", "check the path");
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const char* hint = "write it with numpy.save(path, array) from a C-ordered int64 or float32 array";
  if (all.size() < 10 || std::memcmp(all.data(), "\x93NUMPY", 6) != 0) throw Error("'" + path + "' is not a .npy file", hint);
  const int major = static_cast<uint8_t>(all[6]);
  size_t hlen, hstart;
  if (major == 1) { hlen = static_cast<uint8_t>(all[8]) | (static_cast<uint8_t>(all[9]) << 8); hstart = 10; }
  else if (major == 2 || major == 3) {
    if (all.size() < 12) throw Error("'" + path + "' is truncated", hint);
    uint32_t l;
    std::memcpy(&l, all.data() + 8, 4);
    hlen = l;
    hstart = 12;
  } else throw Error("'" + path + "' has unsupported .npy version " + std::to_string(major), hint);
  if (hstart + hlen > all.size()) throw Error("'" + path + "' is truncated (header)", hint);
  const std::string header = all.substr(hstart, hlen);
  std::smatch m;
  NpyArray a;
  if (!std::regex_search(header, m, std::regex(R"('descr'\s*:\s*'([<>|=]?)([a-z])(\d+)')"))) throw Error("'" + path + "' has no dtype in its header", hint);
  const std::string endian = m[1], kind = m[2];
  const int size = std::stoi(m[3]);
  if (endian == ">") throw Error("'" + path + "' is big-endian", hint);
  if (kind == "i" && size == 8) a.dtype = DType::kI64;
  else if (kind == "i" && size == 4) a.dtype = DType::kI32;
  else if (kind == "f" && size == 4) a.dtype = DType::kF32;
  else if (kind == "f" && size == 2) a.dtype = DType::kF16;
  else throw Error("'" + path + "' has dtype " + kind + std::to_string(size) + ", expected int64, int32 or float32", hint);
  if (std::regex_search(header, m, std::regex(R"('fortran_order'\s*:\s*True)"))) throw Error("'" + path + "' is in Fortran order", hint);
  if (!std::regex_search(header, m, std::regex(R"('shape'\s*:\s*\(([^)]*)\))"))) throw Error("'" + path + "' has no shape in its header", hint);
  std::stringstream ss(m[1].str());
  std::string item;
  while (std::getline(ss, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    if (item.empty()) continue;
    if (item.find_first_not_of("0123456789 ") != std::string::npos) throw Error("'" + path + "' has a malformed shape", hint);
    a.shape.push_back(std::stoll(item));
    if (a.shape.back() > (int64_t{1} << 40)) throw Error("'" + path + "' has an absurd shape", hint);
  }
  const size_t nbytes = static_cast<size_t>(a.numel()) * dtype_size(a.dtype);
  if (hstart + hlen + nbytes > all.size()) throw Error("'" + path + "' is truncated: expected " + std::to_string(nbytes) + " bytes of data", hint);
  a.bytes.assign(all.begin() + static_cast<std::ptrdiff_t>(hstart + hlen), all.begin() + static_cast<std::ptrdiff_t>(hstart + hlen + nbytes));
  return a;
}

void write_npy(const std::string& path, DType dtype, const std::vector<int64_t>& shape, const void* data) {
  std::string descr = dtype == DType::kF32 ? "<f4" : dtype == DType::kI64 ? "<i8" : dtype == DType::kI32 ? "<i4" : "";
  if (descr.empty()) throw Error("write_npy: unsupported dtype " + dtype_name(dtype), "this is a bug in the runtime");
  std::string shp = "(";
  int64_t n = 1;
  for (auto d : shape) { shp += std::to_string(d) + ","; n *= d; }
  if (shape.size() > 1) shp.pop_back();
  shp += ")";
  std::string h = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shp + ", }";
  while ((10 + h.size() + 1) % 64 != 0) h += ' ';
  h += '\n';
  std::ofstream f(path, std::ios::binary);
  if (!f) throw Error("cannot write '" + path + "'", "check that the folder exists and is writable");
  f.write("\x93NUMPY\x01\x00", 8);
  uint16_t hl = static_cast<uint16_t>(h.size());
  f.write(reinterpret_cast<const char*>(&hl), 2);
  f.write(h.data(), static_cast<std::streamsize>(h.size()));
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(n * static_cast<int64_t>(dtype_size(dtype))));
  if (!f) throw Error("writing '" + path + "' failed", "is the disk full?");
}

}  // namespace tsc
