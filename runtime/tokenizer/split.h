// Pieces of input text between pipeline stages, and HF's rules for splitting them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/tokenizer/utf8.h"

namespace tsc::tok {

// One split of the input (HF's PreTokenizedString split). Pieces with an id are added tokens:
// later stages leave them alone.
struct Piece {
  std::string text;
  int32_t id = -1;
  bool at_start = false;  // starts at offset 0 of the original input (Metaspace's prepend_scheme "first")
};

// A pattern match result over a string: [begin, end) in bytes, and whether it is a match.
// A list of spans covers the whole string in order (HF's Pattern::find_matches).
struct Span {
  size_t begin, end;
  bool match;
};

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };
SplitBehavior parse_split_behavior(const std::string& name);  // throws tsc::Error

// The byte ranges to keep, from match spans and a behavior (HF's NormalizedString::split).
std::vector<std::pair<size_t, size_t>> apply_behavior(const std::vector<Span>& spans, SplitBehavior behavior);

// Spans of single characters for which pred(code point) holds (HF's Pattern for Fn(char) -> bool).
template <class Pred>
std::vector<Span> find_char_matches(std::string_view s, Pred pred) {
  if (s.empty()) return {{0, 0, false}};
  std::vector<Span> out;
  size_t last = 0;
  for (size_t i = 0; i < s.size();) {
    size_t b = i;
    char32_t cp = next_code_point(s, i);
    if (pred(cp)) {
      if (last < b) out.push_back({last, b, false});
      out.push_back({b, i, true});
      last = i;
    }
  }
  if (last < s.size()) out.push_back({last, s.size(), false});
  return out;
}

// Replaces every piece without an id by the pieces fn(piece) returns, dropping empty ones.
template <class Fn>
void split_pieces(std::vector<Piece>& pieces, Fn fn) {
  std::vector<Piece> out;
  out.reserve(pieces.size());
  for (Piece& p : pieces) {
    if (p.id >= 0) {
      out.push_back(std::move(p));
      continue;
    }
    for (Piece& q : fn(p))
      if (!q.text.empty() || q.id >= 0) out.push_back(std::move(q));
  }
  pieces = std::move(out);
}

// Splits `p` by spans and behavior; a sub-piece is at the start only if it begins at offset 0.
std::vector<Piece> split_by(const Piece& p, const std::vector<Span>& spans, SplitBehavior behavior);

}  // namespace tsc::tok
