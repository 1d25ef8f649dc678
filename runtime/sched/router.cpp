// Router: engine choice (prefix affinity, then load), submission with fallback, and the fan-out of
// cancel / wait / stop over every engine.
#include "runtime/sched/router.h"

#include <algorithm>
#include <span>

#include "runtime/kv/prefix_cache.h"

namespace tsc {

Router::Router(std::vector<Member> engines, RouterOptions opt) : members_(std::move(engines)), opt_(opt) {
  if (members_.empty()) throw Error("the router has no engine", "this is a bug in model_server");
  counts_ = std::make_unique<Counts[]>(members_.size());
  if (opt_.balance_slack < 0) opt_.balance_slack = std::max<int64_t>(2, options().max_running / 4);
  opt_.page_size = std::max<int64_t>(1, opt_.page_size);
}

std::vector<uint64_t> Router::prefix_hashes(const std::vector<int32_t>& prompt) const {
  // Only pages the prefix cache can hand out: full ones before the prompt's last token (which is always
  // computed, its logits being needed).
  const int64_t len = static_cast<int64_t>(prompt.size());
  const int64_t pages = std::min<int64_t>(opt_.affinity_pages, len > 0 ? (len - 1) / opt_.page_size : 0);
  // The prefix cache's own page keys (a hash chain over the pages' token ids): collisions only cost a routing
  // choice, the cache itself compares tokens.
  std::vector<uint64_t> out;
  uint64_t h = 0;
  for (int64_t p = 0; p < pages; ++p) {
    h = PrefixCache::chain(h, std::span<const int32_t>(prompt).subspan(static_cast<size_t>(p * opt_.page_size), static_cast<size_t>(opt_.page_size)));
    out.push_back(h);
  }
  return out;
}

void Router::remember(const std::vector<uint64_t>& hashes, size_t engine) {
  for (uint64_t h : hashes) {
    auto [it, fresh] = owner_.insert_or_assign(h, engine);
    if (fresh) order_.push_back(h);
  }
  while (owner_.size() > opt_.max_prefixes && !order_.empty()) {
    owner_.erase(order_.front());
    order_.pop_front();
  }
}

Router::Routed Router::submit(std::vector<GenerationRequest> reqs) {
  const size_t n = members_.size();
  if (n == 1) return Routed{members_[0].sched->submit(std::move(reqs)), 0};  // one engine: nothing to choose
  std::lock_guard<std::mutex> lock(mu_);
  const std::vector<uint64_t> hashes = opt_.affinity && !reqs.empty() ? prefix_hashes(reqs[0].prompt) : std::vector<uint64_t>{};
  std::vector<Scheduler::Load> load(n);
  std::vector<bool> skip(n, false);
  for (size_t i = 0; i < n; ++i) {
    load[i] = members_[i].sched->load();
    skip[i] = !load[i].failure.empty();
  }
  const size_t start = turn_++ % n;
  std::unique_ptr<Error> last;
  for (;;) {
    // By load: the shortest queue, then the most free pages; ties go to the first in turn from `start`.
    size_t best = n;
    for (size_t k = 0; k < n; ++k) {
      const size_t i = (start + k) % n;
      if (skip[i]) continue;
      if (best == n || load[i].in_flight < load[best].in_flight ||
          (load[i].in_flight == load[best].in_flight && load[i].free_pages > load[best].free_pages))
        best = i;
    }
    if (best == n) break;
    // By affinity: the engine that last took the longest run of these pages, if not overloaded.
    size_t pick = best;
    bool affine = false;
    for (size_t k = hashes.size(); k-- > 0;) {
      auto it = owner_.find(hashes[k]);
      if (it == owner_.end() || skip[it->second]) continue;
      if (load[it->second].in_flight <= load[best].in_flight + opt_.balance_slack) {
        pick = it->second;
        affine = true;
      }
      break;
    }
    try {
      // Scheduler::submit takes its requests only on success; a refusal leaves them for the next try.
      Routed r{members_[pick].sched->submit(std::move(reqs)), pick};
      (affine ? counts_[pick].affine : counts_[pick].load) += 1;
      remember(hashes, pick);
      return r;
    } catch (const EngineDown& e) {
      last = std::make_unique<EngineDown>(e);
    } catch (const QueueFull& e) {
      last = std::make_unique<QueueFull>(e);
    }
    skip[pick] = true;
  }
  if (auto* full = dynamic_cast<QueueFull*>(last.get())) throw *full;
  std::string why = "every engine has failed";
  for (size_t i = 0; i < n; ++i)
    if (!load[i].failure.empty()) {
      why += " (" + load[i].failure + ")";
      break;
    }
  throw EngineDown(why, "restart model_server; the failure is in its log");
}

void Router::cancel_all() {
  for (auto& m : members_) m.sched->cancel_all();
}

bool Router::wait_idle(Scheduler::clock::time_point deadline) {
  bool idle = true;
  for (auto& m : members_) idle = m.sched->wait_idle(deadline) && idle;
  return idle;
}

void Router::stop() {
  for (auto& m : members_) m.sched->stop();
}

}  // namespace tsc
