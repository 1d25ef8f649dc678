// Scheduler: planning (decodes, prefill chunks, admissions, preemption), the step, sampling, events.
#include "runtime/sched/scheduler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "runtime/sample/sampler.h"

namespace tsc {

namespace {

// log_softmax of one position's logits at `token`, and the top_n most likely tokens (ties to the lower
// id): the OpenAI definition of logprobs, for prompt positions (generated ones come from the Sampler).
// x: [vocab].
TokenLogprob logprob_of(const float* x, int64_t vocab, int32_t token, int32_t top_n) {
  const float m = *std::max_element(x, x + vocab);
  double s = 0;
  for (int64_t i = 0; i < vocab; ++i) s += std::exp(static_cast<double>(x[i]) - m);
  const double lse = m + std::log(s);
  TokenLogprob r;
  r.token = token;
  r.logprob = static_cast<float>(x[token] - lse);
  if (top_n > 0) {
    std::vector<int32_t> ids(static_cast<size_t>(vocab));
    std::iota(ids.begin(), ids.end(), 0);
    const int64_t k = std::min<int64_t>(top_n, vocab);
    std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), [&](int32_t a, int32_t b) { return x[a] > x[b] || (x[a] == x[b] && a < b); });
    for (int64_t i = 0; i < k; ++i) r.top.emplace_back(ids[i], static_cast<float>(x[ids[i]] - lse));
  }
  return r;
}

double seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

// One request: its stream, its parameters, and what all its choices share.
struct Scheduler::Req {
  std::shared_ptr<RequestStream> stream;
  GenerationRequest g;
  int64_t order = 0;        // arrival number: lower runs first and is preempted last
  int32_t live = 0;         // choices not finished
  bool admitted = false, first_token = false;
  std::vector<Event> events;  // this iteration's, flushed at its end
};

// One choice of a request: a sequence with its pages and its Sampler.
struct Scheduler::Seq {
  std::shared_ptr<Req> req;
  int32_t choice = 0;
  std::vector<int32_t> tokens;  // prompt + generated; tokens[kv.num_tokens..] are not in the KV cache yet
  int64_t prompt_len = 0;
  int64_t budget = 0;
  int64_t select_every = 1;
  SeqKv kv;
  std::unique_ptr<Sampler> sampler;
  int64_t generated = 0;
  int64_t cached_upto = 0;      // pages [0, cached_upto) came from or were offered to the prefix cache
  int32_t forks = 0;            // choices still to fork from this one once its prompt is done
  bool prompt_logprobs = false;
  std::vector<TokenLogprob> prompt_lp;
  clock::time_point last_token;
  bool finished = false;

  bool before(const Seq& o) const { return req->order != o.req->order ? req->order < o.req->order : choice < o.choice; }
};

Scheduler::Scheduler(StepModel& model, SchedulerOptions opt) : model_(model), opt_(opt) {
  opt_.max_running = std::max<int64_t>(1, opt_.max_running);
  opt_.max_waiting = std::max<int64_t>(0, opt_.max_waiting);
  opt_.max_step_tokens = std::max(opt_.max_step_tokens, opt_.max_running);
  if (opt_.prefix_cache) cache_.emplace(model_.pool(), model_.page_size());
  publish();
  thread_ = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() { stop(); }

void Scheduler::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::cancel_all() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    abort_all_ = true;
  }
  cv_.notify_all();
}

bool Scheduler::wait_idle(clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  return idle_cv_.wait_until(lock, deadline, [&] { return in_flight_ == 0; });
}

Scheduler::Load Scheduler::load() const {
  std::lock_guard<std::mutex> lock(mu_);
  return Load{in_flight_, stats_.kv_pages_free + stats_.kv_pages_cached_idle, failure_};
}

SchedStats Scheduler::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  SchedStats s = stats_;
  s.requests_in_flight = in_flight_;
  // Generated tokens per second over the last 10 s, measured from the newest sample at least 10 s old
  // (or the oldest one) to now, so that an idle server reads 0.
  if (!rate_.empty()) {
    const auto now = clock::now();
    auto base = rate_.front();
    for (auto& r : rate_)
      if (r.first <= now - std::chrono::seconds(10)) base = r;
    const double dt = seconds(now - base.first);
    if (dt > 0) s.tokens_per_second = static_cast<double>(rate_.back().second - base.second) / dt;
  }
  return s;
}

std::shared_ptr<RequestStream> Scheduler::submit(std::vector<GenerationRequest>&& reqs) {
  const int64_t vocab = model_.vocab_size(), max_len = model_.max_seq_len(), ps = model_.page_size();
  if (reqs.empty()) throw Error("no prompt", "send at least one prompt");
  std::vector<std::unique_ptr<Seq>> seqs;
  const int32_t n = reqs[0].n;
  auto stream = std::make_shared<RequestStream>(static_cast<int32_t>(reqs.size()) * std::max(n, 1));
  for (auto& g : reqs) {
    if (g.n != n) throw Error("every prompt of a request must ask for the same n", "this is a bug in the server");
    if (g.prompt.empty()) throw Error("the prompt is empty", "send at least one token");
    for (int32_t t : g.prompt)
      if (t < 0 || t >= vocab)
        throw Error("token id " + std::to_string(t) + " is outside the vocabulary [0, " + std::to_string(vocab) + ")", "send ids produced by this model's tokenizer");
    if (g.n < 1 || g.n > opt_.max_running)
      throw Error("n must be in [1, " + std::to_string(opt_.max_running) + "], got " + std::to_string(g.n), "ask for fewer choices, or start the server with a larger --max-batch");
    if (g.max_tokens < 0 || (g.max_tokens == 0 && !g.prompt_logprobs))
      throw Error("max_tokens must be at least 1, got " + std::to_string(g.max_tokens), "ask for at least one token (0 only to score an echoed prompt)");
    const int64_t len = static_cast<int64_t>(g.prompt.size());
    if (len + std::max<int64_t>(g.max_tokens, 1) > max_len + (g.max_tokens == 0 ? 1 : 0))
      throw Error("the prompt (" + std::to_string(len) + " tokens) plus max_tokens (" + std::to_string(g.max_tokens) + ") exceeds the context of " + std::to_string(max_len) + " tokens",
                  "shorten the prompt or lower max_tokens");
    if (g.budget < 0) g.budget = model_.top_k_pages();
    if (g.budget == 1 || g.budget > model_.top_k_pages())
      throw Error("top_k_pages must be 0 (dense) or in [2, " + std::to_string(model_.top_k_pages()) + "], got " + std::to_string(g.budget),
                  "ask for a budget the executable was built for, or rebuild with a larger --top-k-pages");
    if (g.select_every < 0) g.select_every = model_.select_every();
    check_select_every(g.select_every, "select_every");
    const int64_t pages = (std::min(len + g.max_tokens, max_len) + ps - 1) / ps;
    if (pages > model_.pool().num_pages())
      throw Error("this request needs " + std::to_string(pages) + " KV pages but the server has " + std::to_string(model_.pool().num_pages()),
                  "start the server with more --kv-memory, or shorten the request");
    auto req = std::make_shared<Req>();
    req->stream = stream;
    req->live = g.n;
    auto s = std::make_unique<Seq>();
    s->req = req;
    s->choice = static_cast<int32_t>(seqs.size()) * n;
    s->tokens = g.prompt;
    s->prompt_len = len;
    s->budget = g.budget;
    s->select_every = g.select_every;
    s->forks = g.n - 1;
    s->prompt_logprobs = g.prompt_logprobs;
    s->sampler = std::make_unique<Sampler>(g.sampling, g.prompt);  // validates the sampling fields
    seqs.push_back(std::move(s));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) throw QueueFull("the server is shutting down", "retry against another server");
    if (!failure_.empty()) throw EngineDown(failure_, "retry: the other engines still serve");
    if (waiting_requests_ + static_cast<int64_t>(seqs.size()) > opt_.max_waiting)
      throw QueueFull("the waiting queue is full (" + std::to_string(waiting_requests_) + " requests)", "retry after a short wait");
    // Accepted: only now are the requests taken, so a refusal above leaves them to the caller (the router's next try).
    for (size_t i = 0; i < seqs.size(); ++i) seqs[i]->req->g = std::move(reqs[i]);
    for (auto& s : seqs) s->req->order = next_order_++;
    for (auto& s : seqs) incoming_.push_back(std::move(s));
    waiting_requests_ += static_cast<int64_t>(seqs.size());
    in_flight_ += static_cast<int64_t>(seqs.size());
  }
  cv_.notify_all();
  return stream;
}

void Scheduler::loop() {
  if (opt_.on_thread_start) {
    try {
      opt_.on_thread_start();
    } catch (const std::exception& e) {
      fail(e.what());
    }
  }
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || abort_all_ || !incoming_.empty() || !running_.empty() || !waiting_.empty(); });
      if (stop_) break;
    }
    if (!iterate()) {
      // Nothing could run (every waiting sequence blocked): wait for news instead of spinning.
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(2), [&] { return stop_ || abort_all_ || !incoming_.empty(); });
    }
  }
  // Shutting down: whatever is left ends with "abort" and gives its pages back.
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& s : incoming_) waiting_.push_back(std::move(s));
    incoming_.clear();
  }
  for (auto& s : running_) finish(*s, FinishReason::kAbort);
  for (auto& s : waiting_) finish(*s, FinishReason::kAbort);
  remove_finished();
  publish();
  flush_events();
}

bool Scheduler::iterate() {
  bool abort = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& s : incoming_) {
      prompt_tokens_ += s->prompt_len;
      waiting_.push_back(std::move(s));
    }
    incoming_.clear();
    std::swap(abort, abort_all_);
  }
  if (abort) {
    for (auto& s : running_) s->req->stream->cancel();
    for (auto& s : waiting_) s->req->stream->cancel();
  }
  reap_cancelled();
  const auto t0 = clock::now();
  std::vector<Work> batch = plan();
  hist_.planning.observe(seconds(clock::now() - t0));
  if (!batch.empty()) run(batch);
  remove_finished();
  publish();  // before the events: a client that saw its last event reads stats that include it
  flush_events();
  return !batch.empty();
}

void Scheduler::reap_cancelled() {
  for (auto& s : running_)
    if (s->req->stream->cancelled(s->choice)) finish(*s, FinishReason::kAbort);
  for (auto& s : waiting_)
    if (s->req->stream->cancelled(s->choice)) finish(*s, FinishReason::kAbort);
  remove_finished();
}

Scheduler::Work Scheduler::next_work(Seq& s, int64_t budget) const {
  if (budget <= 0) return {&s, 0, false};
  if (s.kv.num_tokens < s.prompt_len) {
    int64_t n = std::min(s.prompt_len - s.kv.num_tokens, budget);
    if (s.prompt_logprobs) n = std::min<int64_t>(n, 64);  // every row's logits are kept: [n, vocab]
    return {&s, n, false};
  }
  return {&s, 1, true};  // the newest generated token, or a replayed one after a preemption
}

bool Scheduler::make_room(int64_t need, int64_t& planned, const Seq* keep, size_t first_victim) {
  PagePool& pool = model_.pool();
  while (pool.free_pages() - planned < need) {
    const int64_t short_by = need - (pool.free_pages() - planned);
    if (cache_ && cache_->evict(short_by) > 0) continue;
    size_t j = running_.size();
    while (j > first_victim && !running_[j - 1]) --j;
    if (j <= first_victim) return false;
    Seq& victim = *running_[j - 1];
    if (&victim == keep) return false;
    preempt(victim);
  }
  return true;
}

void Scheduler::preempt(Seq& s) {
  model_.kv().free(s.kv);
  s.cached_upto = 0;
  s.prompt_lp.clear();
  ++preemptions_;
  auto it = std::find_if(running_.begin(), running_.end(), [&](const auto& p) { return p.get() == &s; });
  std::unique_ptr<Seq> owned = std::move(*it);
  auto pos = std::find_if(waiting_.begin(), waiting_.end(), [&](const auto& w) { return s.before(*w); });
  waiting_.insert(pos, std::move(owned));
}

std::vector<Scheduler::Work> Scheduler::plan() {
  std::vector<Work> batch;
  int64_t budget = opt_.max_step_tokens, planned = 0;
  PagePool& pool = model_.pool();
  // 1. Running sequences, oldest first; when pages run short, the newest ones not yet planned go back
  //    to the waiting queue (their pages freed, to be recomputed).
  for (size_t i = 0; i < running_.size(); ++i) {
    if (!running_[i]) continue;
    Seq& s = *running_[i];
    Work w = next_work(s, budget);
    if (w.n == 0) continue;
    const int64_t need = model_.pages_for(s.kv, w.n);
    if (!make_room(need, planned, &s, i + 1)) {
      preempt(s);
      continue;
    }
    planned += need;
    budget -= w.n;
    batch.push_back(w);
  }
  std::erase_if(running_, [](const auto& p) { return !p; });
  // 2. Admissions in arrival order while slots, token budget and pages last (never by preempting).
  int64_t admitted_requests = 0, slots = static_cast<int64_t>(running_.size());
  for (auto& r : running_) slots += r->forks;  // choices still to fork hold their slots
  while (!waiting_.empty() && budget > 0) {
    Seq& s = *waiting_.front();
    if (slots + 1 + s.forks > opt_.max_running) break;
    if (cache_ && s.kv.pages.empty() && !s.prompt_logprobs) {
      // Reuse cached prompt pages; at least one token is left to compute (its logits are needed).
      const int64_t limit = std::min<int64_t>(s.prompt_len, static_cast<int64_t>(s.tokens.size()) - 1) / model_.page_size();
      s.kv.pages = cache_->match(s.tokens, limit);
      s.kv.num_tokens = static_cast<int64_t>(s.kv.pages.size()) * model_.page_size();
      s.cached_upto = static_cast<int64_t>(s.kv.pages.size());
    }
    Work w = next_work(s, budget);
    const int64_t need = model_.pages_for(s.kv, w.n);
    // Forks will soon copy the shared last page: keep a page each in hand before admitting.
    const int64_t want = need + s.forks;
    if (pool.free_pages() - planned < want && cache_) cache_->evict(want - (pool.free_pages() - planned));
    if (pool.free_pages() - planned < want) {
      model_.kv().free(s.kv);
      s.cached_upto = 0;
      break;
    }
    planned += need;
    budget -= w.n;
    slots += 1 + s.forks;
    if (!s.req->admitted) {
      s.req->admitted = true;
      const double q = seconds(clock::now() - s.req->stream->arrival());
      s.req->stream->set_queue_seconds(q);
      hist_.queue_time.observe(q);
      ++admitted_requests;
    }
    std::unique_ptr<Seq> owned = std::move(waiting_.front());
    waiting_.pop_front();
    auto pos = std::find_if(running_.begin(), running_.end(), [&](const auto& r) { return owned->before(*r); });
    running_.insert(pos, std::move(owned));
    batch.push_back(w);
  }
  if (admitted_requests) {
    std::lock_guard<std::mutex> lock(mu_);
    waiting_requests_ -= admitted_requests;
  }
  return batch;
}

void Scheduler::run(std::vector<Work>& batch) {
  std::vector<StepSeq> steps;
  steps.reserve(batch.size());
  int64_t prefill = 0, decode = 0;
  for (auto& w : batch) {
    Seq& s = *w.seq;
    steps.push_back(StepSeq{&s.kv, s.tokens.data() + s.kv.num_tokens, w.n, w.decode, w.decode ? s.budget : 0, !w.decode && s.prompt_logprobs,
                            s.select_every, w.decode ? opt_.select_diag : nullptr});
    (w.decode ? decode : prefill) += w.n;
  }
  const auto t0 = clock::now();
  try {
    model_.step(steps, logits_);
  } catch (const EngineFailure& e) {
    fail(e.what());
    return;
  } catch (const std::exception& e) {
    // The step changed nothing that freeing these sequences does not undo; the server keeps serving.
    for (auto& w : batch) finish(*w.seq, FinishReason::kError, e.what());
    return;
  }
  const auto t1 = clock::now();
  (prefill == 0 ? hist_.step_decode : decode == 0 ? hist_.step_prefill : hist_.step_mixed).observe(seconds(t1 - t0));
  hist_.step_tokens.observe(static_cast<double>(prefill + decode));
  ++steps_;
  prefill_tokens_ += prefill;
  const int64_t vocab = model_.vocab_size();
  int64_t row = 0;
  for (auto& w : batch) {
    Seq& s = *w.seq;
    const bool all = !w.decode && s.prompt_logprobs;
    const int64_t rows = all ? w.n : 1;
    if (all) {
      // Row r predicts the token after position start + r.
      const int64_t start = s.kv.num_tokens - w.n;
      const int32_t top_n = s.req->g.sampling.logprobs ? s.req->g.sampling.top_logprobs : 0;
      for (int64_t r = 0; r < w.n && start + r + 1 < s.prompt_len; ++r)
        s.prompt_lp.push_back(logprob_of(logits_.data() + (row + r) * vocab, vocab, s.tokens[static_cast<size_t>(start + r + 1)], top_n));
    }
    offer_to_cache(s);  // before sampling: a finished sequence's prompt pages are worth keeping
    if (s.kv.num_tokens == static_cast<int64_t>(s.tokens.size())) {
      const float* last = logits_.data() + (row + rows - 1) * vocab;
      if (s.prompt_logprobs) {
        Event e;
        e.kind = Event::Kind::kPromptLogprobs;
        e.choice = s.choice;
        e.prompt = std::move(s.prompt_lp);
        s.req->events.push_back(std::move(e));
        s.prompt_logprobs = false;  // reported once, not again after a preemption
        s.prompt_lp.clear();
      }
      if (s.req->g.max_tokens == 0) {
        finish(s, FinishReason::kLength);
      } else {
        if (s.forks > 0) fork(s, last, t1);
        sample(s, last, t1);
      }
    }
    row += rows;
  }
  hist_.sampling.observe(seconds(clock::now() - t1));
}

void Scheduler::fork(Seq& parent, const float* row, clock::time_point now) {
  const GenerationRequest& g = parent.req->g;
  for (int32_t c = 1; c <= parent.forks; ++c) {
    auto s = std::make_unique<Seq>();
    s->req = parent.req;
    s->choice = parent.choice + c;
    s->tokens = parent.tokens;
    s->prompt_len = parent.prompt_len;
    s->budget = parent.budget;
    s->select_every = parent.select_every;
    s->kv = parent.kv;
    for (int32_t p : s->kv.pages) model_.pool().retain(p);  // shared; the engine copies the last on write
    s->cached_upto = parent.cached_upto;
    SamplingParams sp = g.sampling;
    if (sp.seed) sp.seed = *sp.seed + static_cast<uint64_t>(s->choice);
    s->sampler = std::make_unique<Sampler>(sp, g.prompt);
    Seq& child = *s;
    auto pos = std::find_if(running_.begin(), running_.end(), [&](const auto& r) { return s->before(*r); });
    running_.insert(pos, std::move(s));
    sample(child, row, now);
  }
  parent.forks = 0;
}

void Scheduler::sample(Seq& s, const float* row, clock::time_point now) {
  Req& r = *s.req;
  SampleResult res;
  try {
    res = s.sampler->sample(std::span<const float>(row, static_cast<size_t>(model_.vocab_size())));
  } catch (const std::exception& e) {
    finish(s, FinishReason::kError, e.what());
    return;
  }
  s.tokens.push_back(res.token);
  ++s.generated;
  ++generated_;
  const bool stop = std::find(r.g.stop_ids.begin(), r.g.stop_ids.end(), res.token) != r.g.stop_ids.end();
  Event e;
  e.kind = Event::Kind::kToken;
  e.choice = s.choice;
  e.token = TokenLogprob{res.token, res.logprob, std::move(res.top_logprobs)};
  e.stop_token = stop;
  r.events.push_back(std::move(e));
  if (!r.first_token) {
    r.first_token = true;
    hist_.ttft.observe(seconds(now - r.stream->arrival()));
  } else if (s.generated > 1) {
    hist_.itl.observe(seconds(now - s.last_token));
  }
  s.last_token = now;
  if (stop) finish(s, FinishReason::kStop);
  else if (s.generated >= r.g.max_tokens || static_cast<int64_t>(s.tokens.size()) >= model_.max_seq_len()) finish(s, FinishReason::kLength);
}

void Scheduler::finish(Seq& s, FinishReason why, std::string error) {
  if (s.finished) return;
  s.finished = true;
  model_.kv().free(s.kv);
  Req& r = *s.req;
  // Choices never forked (the prompt was not done) end with their parent.
  for (int32_t c = 0; c <= s.forks; ++c) {
    Event e;
    e.kind = Event::Kind::kFinish;
    e.choice = s.choice + c;
    e.finish = why;
    e.error = error;
    r.events.push_back(std::move(e));
    ++finished_[finish_reason_name(why)];
  }
  r.live -= 1 + s.forks;
  s.forks = 0;
  if (r.live == 0) {
    hist_.e2e.observe(seconds(clock::now() - r.stream->arrival()));
    ++finished_requests_;
    std::lock_guard<std::mutex> lock(mu_);
    if (!r.admitted) --waiting_requests_;
    if (--in_flight_ == 0) idle_cv_.notify_all();
  }
}

void Scheduler::fail(const std::string& why) {
  std::string msg = opt_.name + " failed: " + why;
  {
    std::lock_guard<std::mutex> lock(mu_);
    failure_ = msg;
    for (auto& s : incoming_) waiting_.push_back(std::move(s));
    incoming_.clear();
  }
  for (auto& s : running_) finish(*s, FinishReason::kError, msg);
  for (auto& s : waiting_) finish(*s, FinishReason::kError, msg);
}

void Scheduler::offer_to_cache(Seq& s) {
  if (!cache_) return;
  // Only prompt pages: a prefill wrote them. Generated tokens went through decode, whose page
  // selection may attend differently than a prefill of the same tokens would.
  const int64_t upto = std::min(s.kv.num_tokens, s.prompt_len) / model_.page_size();
  if (upto > s.cached_upto) {
    cache_->insert(s.tokens, s.kv.pages, s.cached_upto, upto);
    s.cached_upto = upto;
  }
}

void Scheduler::remove_finished() {
  auto gone = [&](const std::unique_ptr<Seq>& s) {
    if (!s || !s->finished) return false;
    if (!s->req->events.empty()) outbox_.push_back(s->req);  // its last events go out with the others
    return true;
  };
  std::erase_if(running_, gone);
  std::erase_if(waiting_, gone);
}

void Scheduler::flush_events() {
  for (auto& r : outbox_)
    if (!r->events.empty()) r->stream->push(r->events);
  outbox_.clear();
  for (auto& s : running_)
    if (!s->req->events.empty()) s->req->stream->push(s->req->events);
  for (auto& s : waiting_)
    if (!s->req->events.empty()) s->req->stream->push(s->req->events);
}

void Scheduler::publish() {
  const auto now = clock::now();
  PagePool& pool = model_.pool();
  std::lock_guard<std::mutex> lock(mu_);
  SchedStats& s = stats_;
  s.running = static_cast<int64_t>(running_.size());
  s.waiting = static_cast<int64_t>(waiting_.size() + incoming_.size());
  s.requests_in_flight = in_flight_;
  s.kv_pages_total = pool.num_pages();
  s.kv_pages_free = pool.free_pages();
  if (cache_) {
    // Counting idle cached pages walks the cache: at most every 100 ms while busy, exactly when idle
    // (so that "every page free" reads true the moment the last request ends).
    const bool idle = running_.empty() && waiting_.empty();
    if (idle || rate_.empty() || now - rate_.back().first >= std::chrono::milliseconds(100)) s.kv_pages_cached_idle = cache_->idle();
    s.kv_pages_cached = cache_->size();
    s.prefix_lookup_tokens = cache_->lookups();
    s.prefix_hit_tokens = cache_->hits();
    s.prefix_evictions = cache_->evictions();
  }
  s.prompt_tokens = prompt_tokens_;
  s.generated_tokens = generated_;
  s.prefill_tokens = prefill_tokens_;
  s.preemptions = preemptions_;
  s.steps = steps_;
  s.requests_finished = finished_requests_;
  s.sequences_finished = finished_;
  s.selection = model_.counters();
  s.page_bytes = model_.page_bytes();
  s.bound_bytes = model_.bound_bytes();
  s.num_layers = model_.num_layers();
  if (rate_.empty() || now - rate_.back().first >= std::chrono::milliseconds(100)) rate_.emplace_back(now, generated_);
  else rate_.back().second = generated_;
  while (rate_.size() > 2 && rate_[1].first < now - std::chrono::seconds(11)) rate_.pop_front();
}

}  // namespace tsc
