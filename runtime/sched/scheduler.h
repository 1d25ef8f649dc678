// Continuous batching at iteration level: one thread runs the model step after step; each step takes
// one decode token from every running sequence plus prefill chunks (a per-step token budget keeps long
// prompts from stalling decodes), admits waiting sequences by free KV pages, and preempts the newest
// sequence by recomputation when pages run out.
//
// Results are exactly those of the sequence run alone: a step's math per sequence does not depend on
// what else is in the batch (the kernels compute every token's row independently), prompts always go
// through prefill and generated tokens through decode, also when a preempted sequence is recomputed
// (its prompt is prefilled again, its generated tokens replayed one decode step each, and its Sampler,
// kept across the preemption, continues where it was), and the prefix cache only shares pages that a
// prefill wrote.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "contract/error.h"
#include "runtime/kv/prefix_cache.h"
#include "runtime/sched/metrics.h"
#include "runtime/sched/request.h"
#include "runtime/sched/step_model.h"

namespace tsc {

struct SchedulerOptions {
  int64_t max_running = 64;       // sequences in the batch (prefilling or decoding)
  int64_t max_waiting = 256;      // requests accepted but not yet admitted; beyond: QueueFull
  int64_t max_step_tokens = 512;  // tokens per step: decodes + prefill chunks (raised to max_running)
  bool prefix_cache = true;
  SelectDiag* select_diag = nullptr;  // diagnostics of every decode step (serve --select-score: a CPU ablation), or null
  std::string name = "the engine";  // in errors: "engine 1 (GPU 1)" where a router runs several
  std::function<void()> on_thread_start;  // run first on the scheduler thread (its GPU, its OpenMP threads)
};

// submit() when the waiting queue is full (HTTP 503 with Retry-After).
class QueueFull : public Error {
 public:
  using Error::Error;
};

// submit() to an engine that has failed (EngineFailure): the router tries another.
class EngineDown : public Error {
 public:
  using Error::Error;
};

class Scheduler {
 public:
  using clock = std::chrono::steady_clock;
  Scheduler(StepModel& model, SchedulerOptions opt);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues requests (the prompts of one API call), all or none: throws QueueFull when they do not fit
  // in the waiting queue, and tsc::Error (naming the field) for a request the model cannot serve. Their
  // results share one stream; choice c of request r is numbered r * n + c (n of the first request,
  // which all must share). Thread-safe.
  // Takes (moves from) the requests only when it accepts them: after a refusal (Error, QueueFull, EngineDown) the
  // caller still has them, defaults filled in (budget, select_every).
  std::shared_ptr<RequestStream> submit(std::vector<GenerationRequest>&& reqs);

  // Cancels every request in flight (their streams end with finish "abort"). Thread-safe.
  void cancel_all();
  // Blocks until no request is in flight or the deadline passes; true when idle.
  bool wait_idle(clock::time_point deadline);
  // Cancels what is left and joins the thread (the destructor does too).
  void stop();

  SchedStats stats() const;
  // What the router weighs, read under the lock: requests accepted and not finished, KV pages free to
  // allocate (unowned or idle in the prefix cache, as of the last iteration), and the failure that stopped
  // this engine (empty while it serves).
  struct Load {
    int64_t in_flight = 0, free_pages = 0;
    std::string failure;
  };
  Load load() const;
  const SchedHistograms& histograms() const { return hist_; }
  const SchedulerOptions& options() const { return opt_; }
  StepModel& model() { return model_; }

 private:
  struct Req;
  struct Seq;
  struct Work {
    Seq* seq;
    int64_t n;
    bool decode;
  };

  void loop();
  // One iteration: reap cancelled sequences, plan, step, sample, emit. False when nothing ran.
  bool iterate();
  void reap_cancelled();
  std::vector<Work> plan();
  // Tokens seq would compute next within a budget: its prompt by prefill chunks, then one decode token.
  Work next_work(Seq& s, int64_t budget) const;
  bool make_room(int64_t need, int64_t& planned, const Seq* keep, size_t first_victim);
  void preempt(Seq& s);
  void run(std::vector<Work>& batch);
  void sample(Seq& s, const float* row, clock::time_point now);
  void fork(Seq& parent, const float* row, clock::time_point now);
  void finish(Seq& s, FinishReason why, std::string error = {});
  void fail(const std::string& why);  // EngineFailure: end everything, take nothing more
  void offer_to_cache(Seq& s);
  void flush_events();
  void publish();
  void remove_finished();

  StepModel& model_;
  SchedulerOptions opt_;
  std::optional<PrefixCache> cache_;

  // Shared with other threads.
  mutable std::mutex mu_;
  std::condition_variable cv_, idle_cv_;
  std::vector<std::unique_ptr<Seq>> incoming_;
  int64_t waiting_requests_ = 0;  // accepted requests none of whose sequences was admitted yet
  int64_t in_flight_ = 0;
  int64_t next_order_ = 0;
  bool stop_ = false, abort_all_ = false;
  std::string failure_;  // set once by fail()
  SchedStats stats_;
  std::deque<std::pair<clock::time_point, int64_t>> rate_;  // (time, generated tokens) for tokens/s
  SchedHistograms hist_;  // thread-safe itself

  // Scheduler thread only.
  std::vector<std::unique_ptr<Seq>> running_;  // by (order, choice): oldest first
  std::deque<std::unique_ptr<Seq>> waiting_;   // by (order, choice): preempted ones go back in place
  std::vector<std::shared_ptr<Req>> outbox_;    // finished requests' last events, pushed after publish()
  std::vector<float> logits_;
  int64_t prompt_tokens_ = 0, generated_ = 0, prefill_tokens_ = 0, preemptions_ = 0, steps_ = 0, finished_requests_ = 0;
  std::map<std::string, int64_t> finished_;
  std::thread thread_;
};

}  // namespace tsc
