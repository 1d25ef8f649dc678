// KV-cache page pool: a fixed number of page ids with reference counts (pages shared by prefixes have
// several owners); per-sequence page lists grow on demand, never reserved for the worst case.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "runtime/kv/select_reuse.h"

namespace tsc {

// Page id 0 is never handed out: it is the backends' scratch page (padding rows of CUDA-graph batches
// write there), so storage holds storage_pages() = num_pages() + 1 pages.
class PagePool {
 public:
  explicit PagePool(int64_t num_pages);
  std::optional<int32_t> alloc();          // refcount 1, or nullopt when none is free
  void retain(int32_t page);               // another owner
  void release(int32_t page);              // drops one owner; the page is free at 0
  int64_t num_pages() const { return static_cast<int64_t>(refs_.size()) - 1; }
  int64_t storage_pages() const { return static_cast<int64_t>(refs_.size()); }
  // Highest page id handed out so far, plus one (storage that has ever been touched).
  int64_t high_water() const { return high_water_; }
  int64_t free_pages() const { return static_cast<int64_t>(free_.size()); }
  int64_t used_pages() const { return num_pages() - free_pages(); }
  int32_t refcount(int32_t page) const { return refs_.at(page); }

 private:
  std::vector<int32_t> refs_;
  std::vector<int32_t> free_;  // stack; lowest ids handed out first
  int64_t high_water_ = 1;
};

// One sequence's cache: its pages in token order and the number of tokens they hold.
struct SeqKv {
  std::vector<int32_t> pages;
  int64_t num_tokens = 0;
  SelectReuse select;  // --select-every: the last page scoring's kept set (select_reuse.h)
};

// Grows and frees sequences' page lists.
class KvManager {
 public:
  KvManager(PagePool& pool, int64_t page_size) : pool_(pool), page_size_(page_size) {}
  int64_t page_size() const { return page_size_; }
  // Pages needed so that seq can hold `extra` more tokens.
  int64_t pages_needed(const SeqKv& seq, int64_t extra) const;
  // Allocates them; false (and nothing allocated) if the pool has too few free pages.
  bool reserve(SeqKv& seq, int64_t extra);
  // Copy-on-write, owned here for the engine, the scheduler's capacity checks and test models alike.
  // Whether writing more tokens into seq first needs its own copy of its last page: partly filled and
  // shared with another sequence (prefix reuse).
  bool shares_tail(const SeqKv& seq) const;
  // Pages a step takes for seq to hold `extra` more tokens: new pages plus the copy of a shared tail.
  int64_t pages_for_write(const SeqKv& seq, int64_t extra) const;
  // Gives seq its own copy of a shared tail (copy(src, dst) copies the page's contents; the shared page
  // loses one owner), then reserves pages for `extra` more tokens. false (nothing changed) if the pool
  // has fewer than pages_for_write free pages.
  bool reserve_for_write(SeqKv& seq, int64_t extra, const std::function<void(int32_t src, int32_t dst)>& copy);
  void free(SeqKv& seq);
  PagePool& pool() { return pool_; }

 private:
  PagePool& pool_;
  int64_t page_size_;
};

}  // namespace tsc
