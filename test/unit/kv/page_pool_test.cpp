// PagePool and KvManager: reservation, and the copy-on-write accounting the engine, the scheduler's
// capacity checks and the scheduler tests' fake model all use.
#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "runtime/kv/page_pool.h"

namespace tsc {
namespace {

// Sequence a holding `tokens` tokens and sequence b sharing every page of it (prefix reuse).
std::pair<SeqKv, SeqKv> shared_pair(PagePool& pool, KvManager& kv, int64_t tokens) {
  SeqKv a;
  EXPECT_TRUE(kv.reserve(a, tokens));
  a.num_tokens = tokens;
  SeqKv b = a;
  for (int32_t p : b.pages) pool.retain(p);
  return {a, b};
}

TEST(KvManager, ReservesWholePagesOnly) {
  PagePool pool(8);
  KvManager kv(pool, 4);
  SeqKv s;
  EXPECT_EQ(kv.pages_needed(s, 5), 2);
  ASSERT_TRUE(kv.reserve(s, 5));
  s.num_tokens = 5;
  EXPECT_EQ(kv.pages_needed(s, 3), 0);  // the second page has room for 3 more
  EXPECT_EQ(kv.pages_needed(s, 4), 1);
  EXPECT_FALSE(kv.reserve(s, 4 * 8));   // more than the pool holds: nothing taken
  EXPECT_EQ(pool.free_pages(), 6);
}

// Two sequences share a partly filled last page (prefix reuse): the writer gets its own copy first.
TEST(KvManager, CopiesASharedPartlyFilledTailBeforeWriting) {
  PagePool pool(8);
  KvManager kv(pool, 4);
  auto [a, b] = shared_pair(pool, kv, 6);
  EXPECT_TRUE(kv.shares_tail(a));
  EXPECT_EQ(kv.pages_for_write(a, 1), 1);  // the copy; the tail still has room for the token
  EXPECT_EQ(kv.pages_for_write(a, 3), 2);  // the copy and one new page
  EXPECT_EQ(kv.pages_for_write(a, 0), 0);  // nothing written: no copy
  std::vector<std::pair<int32_t, int32_t>> copies;
  const int32_t shared_tail = a.pages[1];
  ASSERT_TRUE(kv.reserve_for_write(a, 3, [&](int32_t src, int32_t dst) { copies.emplace_back(src, dst); }));
  ASSERT_EQ(copies.size(), 1u);
  EXPECT_EQ(copies[0].first, shared_tail);
  EXPECT_EQ(a.pages[1], copies[0].second);
  EXPECT_EQ(a.pages[0], b.pages[0]);  // full pages stay shared
  EXPECT_EQ(pool.refcount(shared_tail), 1);
  EXPECT_EQ(pool.refcount(a.pages[1]), 1);
  EXPECT_EQ(a.pages.size(), 3u);
  EXPECT_FALSE(kv.shares_tail(a));
  EXPECT_FALSE(kv.shares_tail(b));  // b is now the old tail's only owner
}

TEST(KvManager, FullOrUnsharedTailsAreNotCopied) {
  PagePool pool(8);
  KvManager kv(pool, 4);
  auto [a, b] = shared_pair(pool, kv, 8);
  EXPECT_FALSE(kv.shares_tail(a));
  EXPECT_EQ(kv.pages_for_write(a, 1), 1);
  int copies = 0;
  ASSERT_TRUE(kv.reserve_for_write(a, 1, [&](int32_t, int32_t) { ++copies; }));
  EXPECT_EQ(copies, 0);
}

TEST(KvManager, ReserveForWriteChangesNothingWhenThePoolIsShort) {
  PagePool pool(3);
  KvManager kv(pool, 4);
  auto [a, b] = shared_pair(pool, kv, 6);
  ASSERT_EQ(pool.free_pages(), 1);
  EXPECT_EQ(kv.pages_for_write(a, 3), 2);
  const std::vector<int32_t> before = a.pages;
  int copies = 0;
  EXPECT_FALSE(kv.reserve_for_write(a, 3, [&](int32_t, int32_t) { ++copies; }));
  EXPECT_EQ(copies, 0);
  EXPECT_EQ(a.pages, before);
  EXPECT_EQ(pool.free_pages(), 1);
  EXPECT_TRUE(kv.reserve_for_write(a, 1, [&](int32_t, int32_t) { ++copies; }));  // the copy alone fits
  EXPECT_EQ(copies, 1);
}

}  // namespace
}  // namespace tsc
