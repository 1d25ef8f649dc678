// Decoder kinds, each doing what the HF tokenizers decoder of the same name does to the token list.
#include "runtime/tokenizer/decoder.h"

#include <nlohmann/json.hpp>

#include "contract/error.h"
#include "runtime/tokenizer/byte_level.h"
#include "runtime/tokenizer/json_util.h"
#include "runtime/tokenizer/metaspace.h"
#include "runtime/tokenizer/regex.h"
#include "runtime/tokenizer/utf8.h"

namespace tsc::tok {

namespace {

using nlohmann::json;

class Sequence : public Decoder {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Decoder>> steps) : steps_(std::move(steps)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (const auto& s : steps_) s->decode_chain(tokens);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> steps_;
};

// Byte-level characters back to bytes; the whole sequence is then read as UTF-8, lossily.
class ByteLevel : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string bytes;
    for (const std::string& t : tokens) {
      size_t start = bytes.size();
      bool all = true;
      for (size_t i = 0; i < t.size() && all;) {
        auto b = byte_level_to_byte(next_code_point(t, i));
        if (b)
          bytes += static_cast<char>(*b);
        else
          all = false;
      }
      // A token with characters outside the alphabet (an added token) passes through as is.
      if (!all) bytes.replace(start, std::string::npos, t);
    }
    tokens.assign(1, utf8_lossy(bytes));
  }
};

class Metaspace : public Decoder {
 public:
  explicit Metaspace(MetaspaceOptions o) : o_(std::move(o)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t k = 0; k < tokens.size(); ++k) {
      const std::string& t = tokens[k];
      std::string out;
      for (size_t pos = 0;;) {
        size_t hit = t.find(o_.replacement, pos);
        out.append(t, pos, hit == std::string::npos ? std::string::npos : hit - pos);
        if (hit == std::string::npos) break;
        // The first token loses its "▁"s (they were the dummy prefix); elsewhere they are spaces.
        if (k != 0 || o_.prepend == PrependScheme::Never) out += ' ';
        pos = hit + o_.replacement.size();
      }
      tokens[k] = std::move(out);
    }
  }

 private:
  MetaspaceOptions o_;
};

class Replace : public Decoder {
 public:
  Replace(Regex pattern, std::string content) : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::string& t : tokens) t = pattern_.replace_all(t, content_);
  }

 private:
  Regex pattern_;
  std::string content_;
};

// Runs of <0xNN> tokens become their bytes if those are valid UTF-8, else one U+FFFD per byte.
class ByteFallback : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    std::string run;
    size_t run_len = 0;
    auto flush = [&] {
      if (run_len == 0) return;
      if (is_valid_utf8(run)) {
        out.push_back(run);
      } else {
        for (size_t i = 0; i < run_len; ++i) out.emplace_back(kReplacementChar);
      }
      run.clear();
      run_len = 0;
    };
    for (std::string& t : tokens) {
      if (auto b = byte_token(t)) {
        run += static_cast<char>(*b);
        ++run_len;
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    tokens = std::move(out);
  }

 private:
  static std::optional<unsigned char> byte_token(const std::string& t) {
    if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return std::nullopt;
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    int hi = hex(t[3]), lo = hex(t[4]);
    if (hi < 0 || lo < 0) return std::nullopt;
    return static_cast<unsigned char>(hi * 16 + lo);
  }
};

class Fuse : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string all;
    for (const std::string& t : tokens) all += t;
    tokens.assign(1, std::move(all));
  }
};

// Removes up to `start` leading and `stop` trailing copies of one character from each token.
class Strip : public Decoder {
 public:
  Strip(std::string content, size_t start, size_t stop) : content_(std::move(content)), start_(start), stop_(stop) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    const size_t n = content_.size();
    for (std::string& t : tokens) {
      size_t b = 0, e = t.size();
      for (size_t k = 0; k < start_ && b + n <= e && t.compare(b, n, content_) == 0; ++k) b += n;
      for (size_t k = 0; k < stop_ && e >= b + n && t.compare(e - n, n, content_) == 0; ++k) e -= n;
      t = t.substr(b, e - b);
    }
  }

 private:
  std::string content_;
  size_t start_, stop_;
};

// Classic BPE end-of-word suffixes: a space between words, nothing after the last.
class BpeDecoder : public Decoder {
 public:
  explicit BpeDecoder(const std::string& suffix) : suffix_(Regex::literal(suffix)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t k = 0; k < tokens.size(); ++k) tokens[k] = suffix_.replace_all(tokens[k], k + 1 == tokens.size() ? "" : " ");
  }

 private:
  Regex suffix_;
};

}  // namespace

std::unique_ptr<Decoder> make_decoder(const json& spec) {
  if (spec.is_null()) return nullptr;
  const std::string type = type_of(spec, "decoder");
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Decoder>> steps;
    for (const json& s : spec.at("decoders"))
      if (auto d = make_decoder(s)) steps.push_back(std::move(d));
    return std::make_unique<Sequence>(std::move(steps));
  }
  if (type == "ByteLevel") return std::make_unique<ByteLevel>();
  if (type == "Metaspace") return std::make_unique<Metaspace>(parse_metaspace(spec));
  if (type == "Replace")
    return std::make_unique<Replace>(make_pattern(spec.at("pattern")), spec.at("content").get<std::string>());
  if (type == "ByteFallback") return std::make_unique<ByteFallback>();
  if (type == "Fuse") return std::make_unique<Fuse>();
  if (type == "Strip") {
    std::string content = spec.at("content").get<std::string>();
    size_t i = 0;
    if (content.empty() || (next_code_point(content, i), i != content.size()))
      throw Error("tokenizer.json: Strip decoder content '" + content + "' must be one character");
    return std::make_unique<Strip>(content, spec.value("start", size_t{0}), spec.value("stop", size_t{0}));
  }
  if (type == "BPEDecoder") return std::make_unique<BpeDecoder>(spec.value("suffix", std::string("</w>")));
  throw unsupported("decoder", type, "Sequence, ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, BPEDecoder");
}

}  // namespace tsc::tok
