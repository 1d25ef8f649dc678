// SelectSlots: rows of the stored kept-set table handed to decoding sequences (select_reuse.h).
#include "runtime/kv/select_reuse.h"

namespace tsc {

SelectSlots::Plan SelectSlots::plan(SelectReuse& r, int64_t every, int64_t budget, int64_t num_pages, int64_t step) {
  Plan p;
  if (every > 1 && budget > 0 && num_pages > budget) {
    const bool holds = r.slot >= 0 && r.slot < rows() && r.ticket != 0 && owner_[static_cast<size_t>(r.slot)] == r.ticket;
    if (!holds) {
      r.slot = -1;
      r.scored_pages = 0;  // nothing stored for this sequence: score
      for (size_t k = 0; k < owner_.size(); ++k) {
        if (used_[k] == step) continue;  // held by a sequence of this step
        if (r.slot < 0 || owner_[k] == 0 || used_[k] < used_[static_cast<size_t>(r.slot)]) r.slot = static_cast<int32_t>(k);
        if (owner_[k] == 0) break;
      }
      if (r.slot >= 0) {
        r.ticket = next_ticket_++;
        owner_[static_cast<size_t>(r.slot)] = r.ticket;
      }
    }
    if (r.slot >= 0) used_[static_cast<size_t>(r.slot)] = step;
    p.slot = r.slot;
  }
  p.reuse_from = select_reuse_step(r, p.slot >= 0 ? every : 1, budget, num_pages);
  return p;
}

}  // namespace tsc
