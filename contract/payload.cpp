// Payload writing (tsc) and mapping (model_server).
#include "contract/payload.h"

#include <cstring>
#include <fstream>

#include "contract/error.h"

namespace tsc {

using nlohmann::json;

void PayloadWriter::add(const std::string& name, DType dt, std::vector<int64_t> shape, const void* data, size_t nbytes) {
  for (auto& it : items_)
    if (it.e.name == name) throw Error("payload tensor '" + name + "' added twice", "this is a bug in tsc");
  Item it;
  it.e.name = name;
  it.e.dtype = dt;
  it.e.shape = std::move(shape);
  it.e.nbytes = nbytes;
  it.data = data;
  items_.push_back(std::move(it));
}

void PayloadWriter::add_owned(const std::string& name, DType dt, std::vector<int64_t> shape, std::vector<uint8_t> bytes) {
  owned_.push_back(std::make_unique<std::vector<uint8_t>>(std::move(bytes)));
  add(name, dt, std::move(shape), owned_.back()->data(), owned_.back()->size());
}

void PayloadWriter::alias(const std::string& name, const std::string& target) {
  Item it;
  it.e.name = name;
  it.alias_of = target;
  items_.push_back(std::move(it));
}

std::string PayloadWriter::listing() const {
  std::string out;
  for (const Item& it : items_)
    out += it.alias_of.empty() ? it.e.name + ": " + tensor_type_str(it.e.dtype, it.e.shape) + " (" + std::to_string(it.e.nbytes) + " bytes)\n"
                               : it.e.name + " -> " + it.alias_of + "\n";
  return out;
}

namespace {
uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }
}  // namespace

void PayloadWriter::append_to(const std::string& path) const {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary | std::ios::ate);
  if (!f) throw Error("cannot open '" + path + "' to append the payload", "check that the output folder is writable");
  const uint64_t exe_size = static_cast<uint64_t>(f.tellp());
  const uint64_t start = align_up(exe_size, kPayloadAlign);
  // Tensor offsets: after the header, which we size by serializing twice (offsets change its length).
  std::vector<TensorEntry> entries;
  json header;
  uint64_t header_len = 0;
  for (int pass = 0; pass < 3; ++pass) {
    entries.clear();
    uint64_t off = align_up(header_len + 64, kPayloadAlign);
    std::map<std::string, TensorEntry> by_name;
    json table = json::array();
    for (auto& it : items_) {
      TensorEntry e = it.e;
      if (!it.alias_of.empty()) {
        auto t = by_name.find(it.alias_of);
        if (t == by_name.end()) throw Error("payload alias '" + e.name + "' names unknown tensor '" + it.alias_of + "'", "this is a bug in tsc");
        e = t->second;
        e.name = it.e.name;
      } else {
        e.offset = off;
        off = align_up(off + e.nbytes, kPayloadAlign);
      }
      by_name[e.name] = e;
      entries.push_back(e);
      table.push_back({{"name", e.name}, {"dtype", dtype_name(e.dtype)}, {"shape", e.shape}, {"offset", e.offset}, {"nbytes", e.nbytes}});
    }
    header = meta_;
    header["tensors"] = table;
    std::string s = header.dump();
    if (s.size() == header_len) break;
    header_len = s.size();
  }
  const std::string hs = header.dump();
  std::vector<char> zeros(kPayloadAlign, 0);
  f.seekp(static_cast<std::streamoff>(exe_size));
  f.write(zeros.data(), static_cast<std::streamsize>(start - exe_size));
  f.write(hs.data(), static_cast<std::streamsize>(hs.size()));
  uint64_t pos = hs.size();
  for (size_t i = 0; i < items_.size(); ++i) {
    if (!items_[i].alias_of.empty()) continue;
    const TensorEntry& e = entries[i];
    f.write(zeros.data(), static_cast<std::streamsize>(e.offset - pos));
    f.write(static_cast<const char*>(items_[i].data), static_cast<std::streamsize>(e.nbytes));
    pos = e.offset + e.nbytes;
  }
  // Trailer.
  char trailer[32];
  std::memcpy(trailer, kPayloadMagic, 8);
  uint32_t ver = kPayloadVersion, reserved = 0;
  uint64_t hlen = hs.size();
  std::memcpy(trailer + 8, &ver, 4);
  std::memcpy(trailer + 12, &reserved, 4);
  std::memcpy(trailer + 16, &start, 8);
  std::memcpy(trailer + 24, &hlen, 8);
  f.write(trailer, 32);
  if (!f) throw Error("writing the payload to '" + path + "' failed", "is the disk full?");
}

std::unique_ptr<Payload> Payload::open(const std::string& exe_path) {
  auto p = std::unique_ptr<Payload>(new Payload());
  p->file_ = MappedFile::open(exe_path);
  const uint8_t* d = p->file_->data();
  const uint64_t size = p->file_->size();
  const char* hint = "rebuild it with tsc: `tsc model.onnx -o model_server`";
  if (size < 32 || std::memcmp(d + size - 32, kPayloadMagic, 8) != 0)
    throw Error("'" + exe_path + "' carries no tsc payload (weights and spec)", hint);
  uint32_t ver;
  uint64_t start, hlen;
  std::memcpy(&ver, d + size - 24, 4);
  std::memcpy(&start, d + size - 16, 8);
  std::memcpy(&hlen, d + size - 8, 8);
  if (ver != kPayloadVersion)
    throw Error("payload format version " + std::to_string(ver) + " in '" + exe_path + "', this runtime reads version " +
                    std::to_string(kPayloadVersion), "rebuild the executable with the tsc that matches this runtime");
  if (start >= size || hlen > size - start - 32) throw Error("the payload of '" + exe_path + "' is corrupt (bad offsets)", hint);
  p->base_ = d + start;
  p->total_ = size - 32 - start;
  try {
    p->meta_ = json::parse(std::string(reinterpret_cast<const char*>(p->base_), hlen));
    for (auto& t : p->meta_.at("tensors")) {
      TensorEntry e;
      e.name = t.at("name");
      e.dtype = dtype_from_name(t.at("dtype"));
      e.shape = t.at("shape").get<std::vector<int64_t>>();
      e.offset = t.at("offset");
      e.nbytes = t.at("nbytes");
      if (e.offset + e.nbytes > p->total_) throw Error("tensor '" + e.name + "' lies outside the payload of '" + exe_path + "'", hint);
      p->tensors_[e.name] = e;
    }
    p->spec_ = spec_from_json(p->meta_.at("spec"));
    p->options_ = build_options_from_json(p->meta_.at("build"));
  } catch (const json::exception& e) {
    throw Error(std::string("the payload header of '") + exe_path + "' is corrupt: " + e.what(), hint);
  }
  return p;
}

const TensorEntry& Payload::entry(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw Error("the payload has no tensor '" + name + "'", "rebuild the executable with this version of tsc");
  return it->second;
}

const void* Payload::data(const std::string& name) const { return base_ + entry(name).offset; }

}  // namespace tsc
