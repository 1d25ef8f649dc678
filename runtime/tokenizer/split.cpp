// Split behaviors (Removed, Isolated, MergedWith*, Contiguous) exactly as HF's NormalizedString::split.
#include "runtime/tokenizer/split.h"

#include <algorithm>

#include "contract/error.h"

namespace tsc::tok {

SplitBehavior parse_split_behavior(const std::string& name) {
  if (name == "Removed") return SplitBehavior::Removed;
  if (name == "Isolated") return SplitBehavior::Isolated;
  if (name == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (name == "Contiguous") return SplitBehavior::Contiguous;
  throw Error("tokenizer.json: unknown split behavior '" + name + "'",
              "expected one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous");
}

std::vector<std::pair<size_t, size_t>> apply_behavior(const std::vector<Span>& spans, SplitBehavior behavior) {
  std::vector<std::pair<size_t, size_t>> out;
  out.reserve(spans.size());
  bool prev_match = false;
  switch (behavior) {
    case SplitBehavior::Isolated:
      for (const Span& s : spans) out.emplace_back(s.begin, s.end);
      break;
    case SplitBehavior::Removed:
      for (const Span& s : spans)
        if (!s.match) out.emplace_back(s.begin, s.end);
      break;
    case SplitBehavior::Contiguous:
      // Runs of equal flags fuse. HF starts with "previous = no match", so a leading match run
      // stays separate from nothing before it; the fold below mirrors that.
      for (const Span& s : spans) {
        if (s.match == prev_match && !out.empty())
          out.back().second = s.end;
        else
          out.emplace_back(s.begin, s.end);
        prev_match = s.match;
      }
      break;
    case SplitBehavior::MergedWithPrevious:
      for (const Span& s : spans) {
        if (s.match && !prev_match && !out.empty())
          out.back().second = s.end;
        else
          out.emplace_back(s.begin, s.end);
        prev_match = s.match;
      }
      break;
    case SplitBehavior::MergedWithNext:
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->match && !prev_match && !out.empty())
          out.back().first = it->begin;
        else
          out.emplace_back(it->begin, it->end);
        prev_match = it->match;
      }
      std::reverse(out.begin(), out.end());
      break;
  }
  return out;
}

std::vector<Piece> split_by(const Piece& p, const std::vector<Span>& spans, SplitBehavior behavior) {
  std::vector<Piece> out;
  for (auto [b, e] : apply_behavior(spans, behavior))
    out.push_back(Piece{p.text.substr(b, e - b), -1, p.at_start && b == 0});
  return out;
}

}  // namespace tsc::tok
