// Prefix cache: full KV pages keyed by a hash chain of their token ids, shared between sequences.
//
// A page's key is hash(key of the previous page, this page's page_size token ids), so one key names a
// whole prefix and a lookup walks the prompt page by page. The cache holds one reference (PagePool
// retain) on every page it knows; a sequence that reuses a page takes another. A page whose only owner
// is the cache is "idle" and may be evicted, least recently used first, when the pool runs low. Key
// bounds need no bookkeeping: they live in the page (runtime/kv layout), so they travel with it.
//
// Only full pages are cached (a partly filled page is still being written). Callers must offer only
// pages whose contents equal what a dense prefill of those tokens writes (runtime/sched offers prompt
// pages), so a hit never changes a result.
#pragma once
#include <cstdint>
#include <list>
#include <span>
#include <unordered_map>
#include <vector>

#include "runtime/kv/page_pool.h"

namespace tsc {

class PrefixCache {
 public:
  PrefixCache(PagePool& pool, int64_t page_size) : pool_(pool), page_size_(page_size) {}
  ~PrefixCache();
  PrefixCache(const PrefixCache&) = delete;
  PrefixCache& operator=(const PrefixCache&) = delete;

  // Hash of one page given the previous page's hash (0 for the first page). tokens: [page_size].
  static uint64_t chain(uint64_t prev, std::span<const int32_t> tokens);

  // Longest run of cached pages that starts the token sequence, at most max_pages of them. Each returned
  // page is retained for the caller (release it through the pool, e.g. KvManager::free). Counts
  // max_pages * page_size tokens as looked up and the returned pages' tokens as hits.
  std::vector<int32_t> match(std::span<const int32_t> tokens, int64_t max_pages);

  // Offers pages [from, to) of a sequence (pages[i] holds tokens[i*ps, (i+1)*ps)); pages [0, from) must
  // have been offered or matched already. A page whose prefix is cached under another page id is left
  // alone (the sequence keeps its copy). Returns how many pages were added.
  int64_t insert(std::span<const int32_t> tokens, std::span<const int32_t> pages, int64_t from, int64_t to);

  // Frees up to `want` idle pages, least recently used first. Returns how many were freed.
  int64_t evict(int64_t want);
  // Drops every idle page (pages still shared with sequences stay).
  void clear() { evict(static_cast<int64_t>(entries_.size())); }

  int64_t size() const { return static_cast<int64_t>(entries_.size()); }  // cached pages
  int64_t idle() const;                 // cached pages owned by the cache alone (evictable)
  int64_t lookups() const { return lookup_tokens_; }  // tokens looked up by match()
  int64_t hits() const { return hit_tokens_; }        // tokens served from the cache
  int64_t evictions() const { return evictions_; }
  bool contains_page(int32_t page) const { return by_page_.count(page) != 0; }

 private:
  struct Entry {
    uint64_t parent = 0;
    int32_t page = -1;
    std::vector<int32_t> tokens;          // [page_size], checked on lookup: a hash collision never hits
    std::list<uint64_t>::iterator lru;    // position in lru_ (front = most recently used)
  };
  // The cached page that continues `parent` with these tokens, if any.
  Entry* find(uint64_t key, uint64_t parent, std::span<const int32_t> tokens);

  PagePool& pool_;
  int64_t page_size_;
  std::unordered_map<uint64_t, Entry> entries_;
  std::unordered_map<int32_t, uint64_t> by_page_;
  std::list<uint64_t> lru_;
  int64_t lookup_tokens_ = 0, hit_tokens_ = 0, evictions_ = 0;
};

}  // namespace tsc
