// PrefixCache: hash-chain lookups, reference counts through the pool, LRU eviction of idle pages.
#include <gtest/gtest.h>

#include "runtime/kv/prefix_cache.h"

namespace tsc {
namespace {

std::vector<int32_t> alloc_pages(PagePool& pool, int n) {
  std::vector<int32_t> p;
  for (int i = 0; i < n; ++i) p.push_back(*pool.alloc());
  return p;
}

TEST(PrefixCache, MatchesLongestCachedPrefix) {
  PagePool pool(16);
  PrefixCache c(pool, 2);
  std::vector<int32_t> toks = {1, 2, 3, 4, 5, 6, 7};  // 3 full pages + 1 token
  auto pages = alloc_pages(pool, 4);
  EXPECT_EQ(c.insert(toks, pages, 0, 3), 3);
  EXPECT_EQ(pool.refcount(pages[0]), 2);
  EXPECT_EQ(pool.refcount(pages[3]), 1);  // partly filled: never cached
  EXPECT_EQ(c.match(std::vector<int32_t>{1, 2, 3, 4, 9, 9}, 3), (std::vector<int32_t>{pages[0], pages[1]}));
  EXPECT_EQ(pool.refcount(pages[0]), 3);
  EXPECT_EQ(c.match(std::vector<int32_t>{1, 2, 3, 4, 5, 6}, 2).size(), 2u);  // max_pages caps the match
  EXPECT_TRUE(c.match(std::vector<int32_t>{2, 1, 3, 4}, 2).empty());       // the chain starts at page 0
  EXPECT_EQ(c.lookups(), 6 + 4 + 4);
  EXPECT_EQ(c.hits(), 4 + 4);
}

TEST(PrefixCache, SamePrefixTwiceKeepsTheFirstPage) {
  PagePool pool(8);
  PrefixCache c(pool, 2);
  std::vector<int32_t> toks = {1, 2, 3, 4};
  auto a = alloc_pages(pool, 2), b = alloc_pages(pool, 2);
  EXPECT_EQ(c.insert(toks, a, 0, 2), 2);
  EXPECT_EQ(c.insert(toks, b, 0, 2), 0);
  EXPECT_EQ(pool.refcount(b[0]), 1);
  EXPECT_EQ(c.size(), 2);
}

TEST(PrefixCache, EvictsIdleLeavesFirst) {
  PagePool pool(8);
  PrefixCache c(pool, 1);
  std::vector<int32_t> toks = {1, 2, 3};
  auto pages = alloc_pages(pool, 3);
  c.insert(toks, pages, 0, 3);
  for (int32_t p : pages) pool.release(p);  // the sequence ends: the cache is the only owner
  EXPECT_EQ(c.idle(), 3);
  EXPECT_EQ(c.evict(1), 1);
  // The deepest page went first: the two-page prefix still matches.
  EXPECT_EQ(c.match(std::vector<int32_t>{1, 2, 3}, 3).size(), 2u);
  EXPECT_EQ(c.idle(), 0);  // both matched pages are in use again
  EXPECT_EQ(c.evict(5), 0);
  EXPECT_EQ(pool.free_pages(), 6);
}

TEST(PrefixCache, DestructorReleases) {
  PagePool pool(4);
  {
    PrefixCache c(pool, 2);
    auto pages = alloc_pages(pool, 2);
    c.insert(std::vector<int32_t>{1, 2, 3, 4}, pages, 0, 2);
    for (int32_t p : pages) pool.release(p);
    EXPECT_EQ(pool.free_pages(), 2);
  }
  EXPECT_EQ(pool.free_pages(), 4);
}

}  // namespace
}  // namespace tsc
