// `model_server serve`: engines + schedulers (one, one per GPU with --devices, or --replicas N on the CPU)
// behind the router + HTTP server, with SIGTERM/SIGINT handled by a signal thread
// (graceful shutdown: stop taking requests, let running ones finish within a grace period, exit 0).
#include "runtime/app/serve.h"

#include <CLI/CLI.hpp>
#include <omp.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

#include "runtime/app/commands.h"
#include "runtime/app/payload_tokenizer.h"
#include "contract/error.h"
#include "runtime/engine/engine.h"
#include "runtime/sched/fault_injection.h"
#include "runtime/sched/router.h"
#include "runtime/sched/scheduler.h"
#include "runtime/server/http_server.h"
#ifdef TSC_HAVE_CHAT  // defined where runtime/chat is built (runtime/CMakeLists.txt)
#include "runtime/chat/chat_template.h"
#endif

namespace tsc {

void add_serve_options(CLI::App& c, ServeArgs& a) {
  c.add_option("--host", a.host, "address to listen on")->capture_default_str();
  c.add_option("--port", a.port, "port to listen on (0: any free port, printed at start)")->capture_default_str();
  c.add_option("--api-key", a.api_key, "require 'Authorization: Bearer KEY' on every route but /health (default: $TSC_API_KEY)");
  c.add_option("--served-model-name", a.served_model_name, "the model name the API answers to (default: the ONNX model's folder or file name)");
  c.add_option("--max-batch", a.max_batch, "most sequences in the running batch (default: the build's --max-batch)");
  c.add_option("--max-queue", a.max_queue, "most requests waiting for the batch; more get 503 with Retry-After")->capture_default_str();
  c.add_option("--max-step-tokens", a.max_step_tokens, "tokens per engine step, decodes plus prefill chunks (long prompts are chunked)")->capture_default_str();
  c.add_option("--kv-memory", a.kv_memory, "bytes of KV cache, e.g. 512M or 2G (default: 4 GiB on the CPU)")->transform(CLI::AsSizeValue(false));
  c.add_flag("--no-prefix-cache", a.no_prefix_cache, "do not reuse the KV pages of prompt prefixes across requests");
  c.add_option("--log-format", a.log_format, "one line per request on stderr: text, json or off")->check(CLI::IsMember({"text", "json", "off"}))->capture_default_str();
  c.add_flag("--profile", a.profile, "add per-step timings (prefill, decode, sampling, scheduling) to /metrics; CUDA: per-kernel times at exit");
  c.add_option("--shutdown-grace", a.shutdown_grace, "seconds running requests get to finish after SIGTERM/SIGINT before they are cancelled")->capture_default_str();
  c.add_option("--select-score", a.select_score,
               "ablation (CPU target): the page score of every decode step, as in `score --select-score` (e.g. gauss)")
      ->check(CLI::IsMember(select_score_names()))
      ->capture_default_str();
  c.add_option("--devices", a.devices, "CUDA target: GPUs to serve on, one engine (batch, KV cache, CUDA graphs) each: all, or indices like 0,1 (default: GPU 0)");
  c.add_option("--replicas", a.replicas, "CPU target: engines in this process behind one router, the OpenMP threads split among them")->capture_default_str();
  c.add_option("--max-body", a.max_body, "largest request body in bytes; larger ones get 413")->transform(CLI::AsSizeValue(false))->capture_default_str();
}

namespace {

// The name /v1/models reports: "smollm2-135m-instruct" for .../smollm2-135m-instruct/model.onnx.
std::string default_model_name(const BuildOptions& o) {
  namespace fs = std::filesystem;
  const fs::path p(o.source_model);
  if (o.source_model.empty()) return "model";
  const std::string stem = p.stem().string();
  if ((stem == "model" || stem.empty()) && p.has_parent_path() && !p.parent_path().filename().empty()) return p.parent_path().filename().string();
  return stem.empty() ? "model" : stem;
}

// One engine of the router: its engine (on its GPU), the engine as the scheduler sees it (wrapped by the
// test-only fault injection when TSC_TEST_FAIL_ENGINE names it), and its scheduler thread.
struct Replica {
  int gpu = -1;  // the GPU index under --devices, else -1
  std::unique_ptr<Engine> eng;
  std::unique_ptr<EngineModel> model;
  std::unique_ptr<FailingStepModel> faulty;
  std::unique_ptr<Scheduler> sched;

  StepModel& step_model() { return faulty ? static_cast<StepModel&>(*faulty) : *model; }
  ~Replica() {
    sched.reset();  // joins its thread
    // The engine's device memory, streams and graphs are freed with their GPU current.
    if (gpu >= 0 && cuda_select_device) {
      try {
        cuda_select_device(gpu);
      } catch (const std::exception&) {
      }
    }
  }
};

// --devices: "" (GPU 0, today's single engine), "all", or "0,1,...".
std::vector<int> parse_devices(const std::string& s) {
  if (s.empty()) return {0};
  if (s == "all") {
    const int n = cuda_device_count ? cuda_device_count() : 0;
    if (n == 0) throw Error("--devices all: no GPU is visible", "run on a machine with NVIDIA GPUs (check nvidia-smi), or leave --devices out");
    std::vector<int> all(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) all[static_cast<size_t>(i)] = i;
    return all;
  }
  std::vector<int> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    const size_t comma = std::min(s.find(',', pos), s.size());
    const std::string item = s.substr(pos, comma - pos);
    if (item.empty() || item.find_first_not_of("0123456789") != std::string::npos || item.size() > 4)
      throw Error("--devices " + s + ": '" + item + "' is not a GPU index", "give all, or GPU indices separated by commas, e.g. --devices 0,1");
    const int d = std::stoi(item);
    if (std::find(out.begin(), out.end(), d) != out.end()) throw Error("--devices " + s + " names GPU " + item + " twice", "name each GPU once");
    out.push_back(d);
    pos = comma + 1;
  }
  return out;
}

}  // namespace

int cmd_serve(const ServeArgs& a) {
  // Every thread started from here on (scheduler, HTTP workers, OpenMP) inherits a mask that blocks
  // SIGINT and SIGTERM, so that only the signal thread below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // --profile also turns on the engine's own per-kernel timing (the CUDA backend reads TSC_PROFILE and
  // prints its launch families' times at exit).
  if (a.profile) setenv("TSC_PROFILE", "1", /*overwrite=*/0);
  if (a.max_batch < 0 || a.max_queue < 0 || a.max_step_tokens < 1)
    throw Error("--max-batch, --max-queue and --max-step-tokens must be positive", "e.g. --max-batch 32 --max-queue 256");
  if (a.replicas < 1) throw Error("--replicas must be at least 1, got " + std::to_string(a.replicas), "e.g. --replicas 2");
  if (a.replicas > 1 && !a.devices.empty()) throw Error("--replicas and --devices do not go together", "--devices places one engine per GPU; --replicas N is for the CPU target");
  const std::vector<int> gpus = parse_devices(a.devices);
  const bool on_gpus = !a.devices.empty();
  const size_t n_engines = on_gpus ? gpus.size() : static_cast<size_t>(a.replicas);
  std::vector<std::unique_ptr<Replica>> replicas;
  for (size_t i = 0; i < n_engines; ++i) {
    auto r = std::make_unique<Replica>();
    r->eng = std::make_unique<Engine>(Payload::open(self_exe()), EngineOptions{0, a.kv_memory, on_gpus ? gpus[i] : 0});
    if (on_gpus && r->eng->options().target != Target::kCuda)
      throw Error("--devices needs the CUDA target, but this process runs on the " + target_name(r->eng->options().target), "leave --devices out, or use --replicas N on the CPU");
    if (a.replicas > 1 && r->eng->options().target != Target::kCpu)
      throw Error("--replicas is for the CPU target; this process runs on the " + target_name(r->eng->options().target), "use --devices to serve on several GPUs");
    r->gpu = on_gpus ? gpus[i] : -1;
    r->model = std::make_unique<EngineModel>(*r->eng);
    if (auto at = injected_failure_step(static_cast<int>(i))) r->faulty = std::make_unique<FailingStepModel>(*r->model, *at);
    replicas.push_back(std::move(r));
  }
  Engine& eng = *replicas[0]->eng;
  std::unique_ptr<Tokenizer> tok = tokenizer_from_payload(eng.payload());
  SchedulerOptions so;
  so.max_running = a.max_batch > 0 ? a.max_batch : eng.options().max_batch;
  so.max_waiting = a.max_queue;
  so.max_step_tokens = a.max_step_tokens;
  so.prefix_cache = !a.no_prefix_cache;
  SelectDiag ablation{select_ablation("sum", false, a.select_score)};  // outlives the scheduler
  if (ablation.ablation != 0) so.select_diag = &ablation;
  if (ablation.ablation != 0 && eng.options().target != Target::kCpu)
    throw Error("--select-score " + a.select_score + " is a selection ablation of the CPU target; this executable is built for " + target_name(eng.options().target),
                "leave --select-score at bound, or rebuild with tsc --target cpu");
  // Each engine's scheduler thread runs on its GPU; CPU replicas split the OpenMP threads (the scheduler
  // thread runs the kernels' parallel regions, and OpenMP's thread count is per calling thread).
  const int omp_each = std::max(1, omp_get_max_threads() / static_cast<int>(n_engines));
  std::vector<Router::Member> members;
  for (size_t i = 0; i < n_engines; ++i) {
    Replica& r = *replicas[i];
    SchedulerOptions o = so;
    const std::string dev = std::to_string(on_gpus ? r.gpu : static_cast<int>(i));
    if (n_engines > 1) o.name = "engine " + std::to_string(i) + (on_gpus ? " (GPU " + dev + ")" : " (CPU replica " + dev + ")");
    if (on_gpus && cuda_select_device) o.on_thread_start = [gpu = r.gpu] { cuda_select_device(gpu); };
    else if (n_engines > 1) o.on_thread_start = [omp_each] { omp_set_num_threads(omp_each); };
    r.sched = std::make_unique<Scheduler>(r.step_model(), o);
    members.push_back(Router::Member{dev, r.sched.get()});
  }
  RouterOptions ro;
  ro.page_size = eng.options().page_size;
  ro.affinity = so.prefix_cache;
  Router router(std::move(members), ro);

  ServeContext ctx;
  ctx.router = &router;
  ctx.tok = tok.get();
  ctx.model_name = a.served_model_name.empty() ? default_model_name(eng.options()) : a.served_model_name;
  ctx.max_seq_len = eng.options().max_seq_len;
  ctx.vocab = eng.spec().vocab_size;
  ctx.top_k_pages = eng.options().top_k_pages;
  ctx.max_n = static_cast<int32_t>(std::min<int64_t>(so.max_running, 128));
#ifdef TSC_HAVE_CHAT
  std::unique_ptr<ChatTemplate> chat;
#endif
  if (tok) {
    ctx.eos_ids = tok->eos_ids();
    if (tok->bos_id()) ctx.bos_token = tok->id_to_token(*tok->bos_id());
    if (tok->eos_id()) ctx.eos_token = tok->id_to_token(*tok->eos_id());
    if (tok->chat_template().empty()) {
      ctx.chat_error = "this model has no chat template, so /v1/chat/completions cannot format messages";
    } else {
#ifdef TSC_HAVE_CHAT
      try {
        chat = std::make_unique<ChatTemplate>(tok->chat_template());
        ctx.chat = chat.get();
      } catch (const Error& e) {
        ctx.chat_error = std::string("the model's chat template cannot be used: ") + e.what();
        std::cerr << "model_server: warning: " << ctx.chat_error << "\n";
      }
#else
      ctx.chat_error = "this build of model_server cannot render chat templates";
#endif
    }
  } else {
    ctx.chat_error = "this executable has no tokenizer";
  }

  ServerOptions opt;
  opt.host = a.host;
  opt.port = a.port;
  opt.api_key = a.api_key;
  if (opt.api_key.empty() && std::getenv("TSC_API_KEY")) opt.api_key = std::getenv("TSC_API_KEY");
  opt.log_format = a.log_format;
  opt.profile = a.profile;
  opt.max_body_bytes = static_cast<size_t>(std::max<int64_t>(a.max_body, 1024));
  opt.target = target_name(eng.options().target);
  opt.page_size = eng.options().page_size;
  HttpServer server(ctx, opt);
  const int port = server.bind();
  if (n_engines > 1) {
    std::cerr << "model_server: " << n_engines << " engines behind one router:";
    for (size_t i = 0; i < n_engines; ++i) std::cerr << (i ? ", " : " ") << (on_gpus ? "GPU " : "CPU replica ") << router.device(i);
    std::cerr << (on_gpus ? "" : " (" + std::to_string(omp_each) + " OpenMP threads each)") << "; KV pages and max batch are per engine" << std::endl;
  }
  std::cerr << "model_server: serving '" << ctx.model_name << "' on http://" << a.host << ":" << port << " (target " << target_name(eng.options().target) << ", "
            << eng.pool().num_pages() << " KV pages of " << eng.options().page_size << " tokens, max batch " << so.max_running << ", context "
            << ctx.max_seq_len << (tok ? "" : ", no tokenizer: token-id prompts only") << ")" << std::endl;

  std::atomic<bool> done{false};
  std::thread signal_thread([&] {
    std::thread stopper;
    int received = 0;
    while (!done) {
      timespec wait{0, 200 * 1000 * 1000};
      const int sig = sigtimedwait(&signals, nullptr, &wait);
      if (sig <= 0) continue;
      if (received++ == 0) {
        std::cerr << "model_server: " << (sig == SIGTERM ? "SIGTERM" : "SIGINT") << ": not taking new requests; running ones get "
                  << a.shutdown_grace << " s to finish (signal again to cancel them now)" << std::endl;
        stopper = std::thread([&] { server.shutdown(std::chrono::milliseconds(static_cast<int64_t>(a.shutdown_grace * 1000))); });
      } else {
        std::cerr << "model_server: cancelling running requests" << std::endl;
        router.cancel_all();
      }
    }
    if (stopper.joinable()) stopper.join();
  });
  server.serve();
  done = true;
  signal_thread.join();
  router.stop();
  std::cerr << "model_server: stopped" << std::endl;
  return 0;
}

}  // namespace tsc
