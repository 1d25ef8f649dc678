// Selection reuse's host rule (select_reuse_step) and the CUDA backend's kept-set rows (SelectSlots).
#include "runtime/kv/select_reuse.h"

#include <gtest/gtest.h>

#include "runtime/kv/page_pool.h"

namespace tsc {
namespace {

TEST(SelectReuse, ScoresEveryNStepsAndReusesBetween) {
  SelectReuse r;
  EXPECT_EQ(select_reuse_step(r, 4, 3, 3), 0);  // 3 pages, budget 3: dense
  EXPECT_EQ(r.scored_pages, 0);
  EXPECT_EQ(select_reuse_step(r, 4, 3, 4), 0);  // scores at 4 pages
  EXPECT_EQ(select_reuse_step(r, 4, 3, 4), 4);
  EXPECT_EQ(select_reuse_step(r, 4, 3, 5), 4);  // a page begun since: still the scoring of 4 pages
  EXPECT_EQ(select_reuse_step(r, 4, 3, 5), 4);
  EXPECT_EQ(select_reuse_step(r, 4, 3, 5), 0);  // the 4th step after scoring scores
  EXPECT_EQ(r.scored_pages, 5);
  EXPECT_EQ(select_reuse_step(r, 4, 2, 5), 0);  // another budget scores
  EXPECT_EQ(select_reuse_step(r, 4, 2, 5 + kSelectReuseExtra + 1), 0);  // too many pages begun since
  EXPECT_EQ(select_reuse_step(r, 4, 0, 20), 0);  // dense forgets
  EXPECT_EQ(select_reuse_step(r, 4, 2, 20), 0);
  EXPECT_EQ(select_reuse_step(r, 1, 2, 20), 0);  // every = 1 stores nothing ...
  EXPECT_EQ(select_reuse_step(r, 4, 2, 20), 0);  // ... so the next reusing step scores first
  EXPECT_EQ(select_reuse_step(r, 4, 2, 20), 20);
}

TEST(SelectReuse, CopiesStartUnscoredAndFreeClears) {
  PagePool pool(8);
  KvManager kv(pool, 4);
  SeqKv a;
  ASSERT_TRUE(kv.reserve(a, 8));
  select_reuse_step(a.select, 4, 1, 2);
  a.select.kept = {0, 1};
  ASSERT_GT(a.select.scored_pages, 0);
  SeqKv fork = a;  // a forked choice: shares pages, not the stored selection
  EXPECT_EQ(fork.select.scored_pages, 0);
  EXPECT_TRUE(fork.select.kept.empty());
  for (int32_t p : fork.pages) pool.retain(p);
  kv.free(a);
  EXPECT_EQ(a.select.scored_pages, 0);
  EXPECT_TRUE(a.select.kept.empty());
  kv.free(fork);
}

TEST(SelectSlots, RowsPerSequenceReclaimedWhenUnused) {
  SelectSlots slots(2);
  SelectReuse a, b, c;
  // Step 1: a and b take the two rows and score.
  auto pa = slots.plan(a, 4, 2, 5, 1), pb = slots.plan(b, 4, 2, 5, 1);
  EXPECT_NE(pa.slot, -1);
  EXPECT_NE(pb.slot, -1);
  EXPECT_NE(pa.slot, pb.slot);
  EXPECT_EQ(pa.reuse_from, 0);
  // Step 2: both keep their rows and reuse; c finds no row free this step and scores without storing.
  EXPECT_EQ(slots.plan(a, 4, 2, 5, 2).reuse_from, 5);
  EXPECT_EQ(slots.plan(b, 4, 2, 5, 2).slot, pb.slot);
  auto pc = slots.plan(c, 4, 2, 5, 2);
  EXPECT_EQ(pc.slot, -1);
  EXPECT_EQ(pc.reuse_from, 0);
  EXPECT_EQ(slots.plan(c, 4, 2, 5, 2).reuse_from, 0);  // nothing stored: it scores again
  // Step 3: a has ended (cleared); c takes the least recently used row, a's, and scores first.
  a.clear();
  slots.plan(b, 4, 2, 5, 3);
  pc = slots.plan(c, 4, 2, 5, 3);
  EXPECT_EQ(pc.slot, pa.slot);
  EXPECT_EQ(pc.reuse_from, 0);
  EXPECT_EQ(slots.plan(c, 4, 2, 5, 4).reuse_from, 5);
  // a, back without a row, takes the least recently used one (b's: b skipped step 4) and scores; b then scores.
  auto pa2 = slots.plan(a, 4, 2, 5, 4);
  EXPECT_EQ(pa2.slot, pb.slot);
  EXPECT_EQ(pa2.reuse_from, 0);
  EXPECT_EQ(slots.plan(b, 4, 2, 5, 5).reuse_from, 0);
  // every = 1 takes no row.
  SelectReuse d;
  EXPECT_EQ(slots.plan(d, 1, 2, 5, 5).slot, -1);
}

}  // namespace
}  // namespace tsc
