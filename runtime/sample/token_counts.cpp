// Open-addressing lookup of token counts.
#include "runtime/sample/token_counts.h"

#include <bit>

namespace tsc {
namespace {

// slots: a power of two, 64 .. 2^31.
size_t slot_of(int32_t token, size_t slots) {
  // Fibonacci hashing: the product's high bits spread consecutive ids (common in prompts) apart.
  const uint32_t h = static_cast<uint32_t>(token) * 0x9E3779B1u;
  return h >> (32 - std::countr_zero(slots));
}

}  // namespace

TokenCounts::Entry& TokenCounts::find_or_insert(int32_t token) {
  if (slots_.size() < 2 * (entries_.size() + 1)) rehash(slots_.empty() ? 64 : 2 * slots_.size());
  const size_t mask = slots_.size() - 1;
  for (size_t s = slot_of(token, slots_.size());; s = (s + 1) & mask) {
    if (slots_[s] < 0) {
      slots_[s] = static_cast<int32_t>(entries_.size());
      entries_.push_back({token, 0, false});
      return entries_.back();
    }
    if (entries_[slots_[s]].token == token) return entries_[slots_[s]];
  }
}

void TokenCounts::rehash(size_t slots) {
  slots_.assign(slots, -1);
  const size_t mask = slots - 1;
  for (size_t i = 0; i < entries_.size(); ++i) {
    size_t s = slot_of(entries_[i].token, slots);
    while (slots_[s] >= 0) s = (s + 1) & mask;
    slots_[s] = static_cast<int32_t>(i);
  }
}

}  // namespace tsc
