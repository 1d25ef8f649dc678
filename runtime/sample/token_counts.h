// Per-request token counts for the penalties: which ids the prompt holds, how often each was generated.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace tsc {

// Sparse on purpose: a request touches a few thousand distinct ids of a 150k vocabulary, and
// hundreds of requests live at once, so dense per-request arrays would cost more than the KV cache
// of a short request. Entries are kept in insertion order so penalties apply in a fixed order.
class TokenCounts {
 public:
  struct Entry {
    int32_t token;
    int32_t generated;  // occurrences among generated (sampled or accepted) tokens
    bool in_prompt;
  };

  void add_prompt(int32_t token) { find_or_insert(token).in_prompt = true; }
  void add_generated(int32_t token) { ++find_or_insert(token).generated; }
  std::span<const Entry> entries() const { return entries_; }

 private:
  Entry& find_or_insert(int32_t token);
  void rehash(size_t slots);

  std::vector<Entry> entries_;
  // Open addressing with linear probing: index into entries_, or -1 when empty. The size is a power
  // of two at least twice the number of entries, so probes stay short.
  std::vector<int32_t> slots_;
};

}  // namespace tsc
