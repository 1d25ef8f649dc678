// PagePool and KvManager.
#include "runtime/kv/page_pool.h"

#include <algorithm>

#include "contract/error.h"

namespace tsc {

PagePool::PagePool(int64_t num_pages) : refs_(static_cast<size_t>(num_pages) + 1, 0) {
  free_.reserve(static_cast<size_t>(num_pages));
  for (int64_t p = num_pages; p >= 1; --p) free_.push_back(static_cast<int32_t>(p));
  refs_[0] = 1;  // the scratch page, never free
}

std::optional<int32_t> PagePool::alloc() {
  if (free_.empty()) return std::nullopt;
  int32_t p = free_.back();
  free_.pop_back();
  refs_[p] = 1;
  high_water_ = std::max<int64_t>(high_water_, p + 1);
  return p;
}

void PagePool::retain(int32_t page) {
  if (refs_.at(page) <= 0) throw Error("KV page " + std::to_string(page) + " retained while free", "this is a bug in the runtime");
  ++refs_[page];
}

void PagePool::release(int32_t page) {
  if (refs_.at(page) <= 0) throw Error("KV page " + std::to_string(page) + " released twice", "this is a bug in the runtime");
  if (--refs_[page] == 0) free_.push_back(page);
}

int64_t KvManager::pages_needed(const SeqKv& seq, int64_t extra) const {
  const int64_t want = (seq.num_tokens + extra + page_size_ - 1) / page_size_;
  return std::max<int64_t>(0, want - static_cast<int64_t>(seq.pages.size()));
}

bool KvManager::reserve(SeqKv& seq, int64_t extra) {
  const int64_t need = pages_needed(seq, extra);
  if (need > pool_.free_pages()) return false;
  for (int64_t i = 0; i < need; ++i) seq.pages.push_back(*pool_.alloc());
  return true;
}

bool KvManager::shares_tail(const SeqKv& seq) const {
  return seq.num_tokens % page_size_ != 0 && !seq.pages.empty() &&
         pool_.refcount(seq.pages[static_cast<size_t>((seq.num_tokens - 1) / page_size_)]) > 1;
}

int64_t KvManager::pages_for_write(const SeqKv& seq, int64_t extra) const {
  return pages_needed(seq, extra) + (extra > 0 && shares_tail(seq) ? 1 : 0);
}

bool KvManager::reserve_for_write(SeqKv& seq, int64_t extra, const std::function<void(int32_t, int32_t)>& copy) {
  if (pages_for_write(seq, extra) > pool_.free_pages()) return false;
  if (extra > 0 && shares_tail(seq)) {
    int32_t& last = seq.pages[static_cast<size_t>((seq.num_tokens - 1) / page_size_)];
    const int32_t own = *pool_.alloc();
    copy(last, own);
    pool_.release(last);
    last = own;
  }
  return reserve(seq, extra);
}

void KvManager::free(SeqKv& seq) {
  for (int32_t p : seq.pages) pool_.release(p);
  seq.pages.clear();
  seq.num_tokens = 0;
  seq.select.clear();
}

}  // namespace tsc
