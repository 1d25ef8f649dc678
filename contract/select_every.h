// The --select-every setting's range and check, shared by tsc (plan), the runtime's commands, the scheduler
// and the backends (runtime/kv/select_reuse.h holds the reuse rule itself).
#pragma once
#include <cstdint>
#include <string>

#include "contract/error.h"

namespace tsc {

// Largest --select-every accepted (with 16-token pages, 64 steps begin at most 4 pages).
constexpr int64_t kMaxSelectEvery = 64;

// `name` (the option or field that carried it) must be in [1, kMaxSelectEvery].
inline void check_select_every(int64_t every, const std::string& name) {
  if (every < 1 || every > kMaxSelectEvery)
    throw Error(name + " " + std::to_string(every) + " is outside [1, " + std::to_string(kMaxSelectEvery) + "]",
                "use 1 to score pages every decode step, or 2.." + std::to_string(kMaxSelectEvery) + " to reuse the kept pages in between");
}

}  // namespace tsc
