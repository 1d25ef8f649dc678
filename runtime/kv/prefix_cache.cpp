// PrefixCache: hash-chained full pages, refcounted through the PagePool, LRU eviction of idle pages.
#include "runtime/kv/prefix_cache.h"

#include <algorithm>

namespace tsc {

namespace {
// splitmix64's finalizer: a cheap, well-mixing step for the hash chain.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
}  // namespace

PrefixCache::~PrefixCache() {
  for (auto& [key, e] : entries_) pool_.release(e.page);
}

uint64_t PrefixCache::chain(uint64_t prev, std::span<const int32_t> tokens) {
  uint64_t h = mix(prev ^ 0x6a09e667f3bcc909ull);
  for (int32_t t : tokens) h = mix(h ^ static_cast<uint32_t>(t));
  return h == 0 ? 1 : h;  // 0 is "no parent"
}

PrefixCache::Entry* PrefixCache::find(uint64_t key, uint64_t parent, std::span<const int32_t> tokens) {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.parent != parent || !std::equal(tokens.begin(), tokens.end(), it->second.tokens.begin()))
    return nullptr;
  return &it->second;
}

std::vector<int32_t> PrefixCache::match(std::span<const int32_t> tokens, int64_t max_pages) {
  max_pages = std::min<int64_t>(max_pages, static_cast<int64_t>(tokens.size()) / page_size_);
  if (max_pages <= 0) return {};
  lookup_tokens_ += max_pages * page_size_;
  std::vector<int32_t> pages;
  std::vector<Entry*> hit;
  uint64_t parent = 0;
  for (int64_t p = 0; p < max_pages; ++p) {
    auto page_tokens = tokens.subspan(static_cast<size_t>(p * page_size_), static_cast<size_t>(page_size_));
    const uint64_t key = chain(parent, page_tokens);
    Entry* e = find(key, parent, page_tokens);
    if (!e) break;
    pool_.retain(e->page);
    pages.push_back(e->page);
    hit.push_back(e);
    parent = key;
  }
  // Most recently used = the front; touch the deepest page first so that ancestors stay fresher than
  // their descendants and eviction takes leaves before the prefixes they hang from.
  for (auto it = hit.rbegin(); it != hit.rend(); ++it) lru_.splice(lru_.begin(), lru_, (*it)->lru);
  hit_tokens_ += static_cast<int64_t>(pages.size()) * page_size_;
  return pages;
}

int64_t PrefixCache::insert(std::span<const int32_t> tokens, std::span<const int32_t> pages, int64_t from, int64_t to) {
  to = std::min<int64_t>({to, static_cast<int64_t>(pages.size()), static_cast<int64_t>(tokens.size()) / page_size_});
  if (from >= to) return 0;
  int64_t added = 0;
  std::vector<uint64_t> chain_keys;
  uint64_t parent = 0;
  for (int64_t p = 0; p < to; ++p) {
    auto page_tokens = tokens.subspan(static_cast<size_t>(p * page_size_), static_cast<size_t>(page_size_));
    const uint64_t key = chain(parent, page_tokens);
    if (p >= from && !entries_.count(key) && !by_page_.count(pages[p])) {
      // A key already cached (this prefix under another page id, or a 64-bit collision) is left alone;
      // so is a page cached under another key.
      Entry e;
      e.parent = parent;
      e.page = pages[p];
      e.tokens.assign(page_tokens.begin(), page_tokens.end());
      lru_.push_front(key);
      e.lru = lru_.begin();
      pool_.retain(e.page);
      by_page_[e.page] = key;
      entries_.emplace(key, std::move(e));
      ++added;
    }
    chain_keys.push_back(key);
    parent = key;
  }
  for (auto it = chain_keys.rbegin(); it != chain_keys.rend(); ++it) {
    auto e = entries_.find(*it);
    if (e != entries_.end()) lru_.splice(lru_.begin(), lru_, e->second.lru);
  }
  return added;
}

int64_t PrefixCache::idle() const {
  int64_t n = 0;
  for (auto& [key, e] : entries_) n += pool_.refcount(e.page) == 1;
  return n;
}

int64_t PrefixCache::evict(int64_t want) {
  int64_t freed = 0;
  for (auto it = lru_.end(); freed < want && it != lru_.begin();) {
    --it;
    auto e = entries_.find(*it);
    if (pool_.refcount(e->second.page) != 1) continue;
    pool_.release(e->second.page);
    by_page_.erase(e->second.page);
    entries_.erase(e);
    it = lru_.erase(it);
    ++freed;
  }
  evictions_ += freed;
  return freed;
}

}  // namespace tsc
