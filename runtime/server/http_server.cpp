// HttpServer: cpp-httplib routes for the OpenAI API, health, models and metrics; auth, logs, shutdown.
#include "runtime/server/http_server.h"

#include <httplib.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <ctime>
#include <deque>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "contract/error.h"
#include "runtime/server/prometheus.h"

namespace tsc {

using nlohmann::json;
using clock_type = std::chrono::steady_clock;

namespace {

// httplib runs each connection on a task-queue thread for its whole life (a streaming response holds
// its thread until the last token), so the pool grows with the connections instead of queueing them
// behind a fixed number of threads; idle threads wait for the next connection.
class ElasticPool : public httplib::TaskQueue {
 public:
  explicit ElasticPool(size_t max_threads) : max_(max_threads) {}
  ~ElasticPool() override = default;

  void enqueue(std::function<void()> fn) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      jobs_.push_back(std::move(fn));
      if (idle_ < jobs_.size() && threads_.size() < max_) threads_.emplace_back([this] { work(); });
    }
    cv_.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();  // no enqueue() runs any more: the listener has stopped
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> lock(mu_);
        ++idle_;
        cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
        --idle_;
        if (jobs_.empty()) return;  // stopping
        fn = std::move(jobs_.front());
        jobs_.pop_front();
      }
      fn();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  size_t idle_ = 0, max_;
  bool stop_ = false;
};

// httplib listens with a backlog of 5 (compiled into Debian's library): a burst of clients connecting at
// once would see refused or retried connections. Listening again on the bound socket raises it.
class Listener : public httplib::Server {
 public:
  void raise_backlog() {
    const socket_t fd = svr_sock_;
    if (fd != INVALID_SOCKET) ::listen(fd, SOMAXCONN);
  }
};

// At shutdown, connections idle between keep-alive requests would hold their threads (and so the exit)
// for httplib's keep-alive timeout. Shutting down the sockets accepted on our port (found among this
// process's descriptors) wakes them with end-of-file; the descriptors themselves stay httplib's to close.
void hang_up_connections(int port) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    int fd = -1;
    try {
      fd = std::stoi(e.path().filename().string());
    } catch (const std::exception&) {
      continue;
    }
    sockaddr_storage local{}, peer{};
    socklen_t ll = sizeof local, pl = sizeof peer;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &ll) != 0 || getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &pl) != 0) continue;
    int local_port = -1;
    if (local.ss_family == AF_INET) local_port = ntohs(reinterpret_cast<sockaddr_in*>(&local)->sin_port);
    else if (local.ss_family == AF_INET6) local_port = ntohs(reinterpret_cast<sockaddr_in6*>(&local)->sin6_port);
    if (local_port == port) ::shutdown(fd, SHUT_RDWR);
  }
}

// What the request log and the counters learn about the request this thread is serving: httplib calls
// the pre-routing handler, the route's handler, the content provider and the logger on one thread.
struct ThreadRequest {
  clock_type::time_point start;
  std::optional<CallRecord> call;
  std::string error;
};
thread_local ThreadRequest tl_req;

bool equal_constant_time(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i % std::max<size_t>(1, b.size())]);
  return diff == 0;
}

std::string route_of(const std::string& path) {
  for (const char* r : {"/v1/completions", "/v1/chat/completions", "/v1/models", "/health", "/metrics"})
    if (path == r) return r;
  if (path.rfind("/v1/models/", 0) == 0) return "/v1/models/{model}";
  return "other";
}

// Log lines stay one line of valid UTF-8 whatever a client sent (error messages quote request bytes).
std::string printable(const std::string& s) {
  std::string out = json(s).dump(-1, ' ', false, json::error_handler_t::replace);
  return out.substr(1, out.size() - 2);  // the JSON string's escapes, without its quotes
}

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const int ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, const ApiError& e) {
  tl_req.error = e.message;
  send_json(res, e.status, error_body(e));
  if (e.status == 503) res.set_header("Retry-After", "1");
  if (e.status == 401) res.set_header("WWW-Authenticate", "Bearer");
}

}  // namespace

struct HttpServer::Impl {
  ServeContext& ctx;
  ServerOptions opt;
  Listener svr;
  std::atomic<bool> draining{false}, stopped{false};
  std::atomic<int> active{0};  // generation responses still being written
  int port = 0;
  mutable std::mutex counters_mu, log_mu;
  std::map<std::pair<std::string, int>, int64_t> requests;
  ApiLimits limits;

  Impl(ServeContext& c, ServerOptions o) : ctx(c), opt(std::move(o)) {
    limits.max_n = ctx.max_n;
    limits.top_k_pages = ctx.top_k_pages;
    const SchedulerOptions& so = ctx.router->options();
    const size_t max_threads = std::clamp<size_t>(4 * ctx.router->size() * static_cast<size_t>(so.max_running + so.max_waiting) + 64, 256, 8192);
    svr.new_task_queue = [max_threads] { return new ElasticPool(max_threads); };
    svr.set_payload_max_length(opt.max_body_bytes);
    svr.set_read_timeout(30, 0);
    svr.set_write_timeout(30, 0);
    svr.set_tcp_nodelay(true);  // SSE chunks are small and latency matters
    svr.set_keep_alive_max_count(1000);  // clients pool connections; httplib's default closes after 5 requests

    svr.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      tl_req = ThreadRequest{clock_type::now(), std::nullopt, {}};
      if (!opt.api_key.empty() && req.path != "/health" &&
          !equal_constant_time(req.get_header_value("Authorization"), "Bearer " + opt.api_key)) {
        send_error(res, ApiError{401, "Incorrect API key provided", "", "send the key given to --api-key as 'Authorization: Bearer KEY'", "invalid_api_key"});
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    svr.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty() || res.is_chunked_content_provider_) return httplib::Server::HandlerResponse::Unhandled;
      ApiError e{res.status, "", "", "", ""};
      switch (res.status) {
        case 404: e.message = "no route " + req.method + " " + req.path; e.hint = "the API is under /v1: POST /v1/completions, POST /v1/chat/completions, GET /v1/models"; break;
        case 413: e.message = "the request body is too large"; e.hint = "send a smaller body (see --max-body)"; e.code = "request_too_large"; break;
        case 414: e.message = "the request URI is too long"; e.hint = "send parameters in the JSON body"; break;
        default: e.message = "the HTTP request could not be handled (status " + std::to_string(res.status) + ")"; e.hint = "check the request line, headers and body"; break;
      }
      send_error(res, e);
      return httplib::Server::HandlerResponse::Handled;
    }));
    svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "unknown exception";
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      send_error(res, ApiError{500, "internal error: " + what, "", "this is a bug in model_server; please report it", ""});
    });
    svr.set_logger([this](const httplib::Request& req, const httplib::Response& res) { log(req, res); });

    svr.Get("/health", [this](const httplib::Request&, httplib::Response& res) { health(res); });
    svr.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics(), "text/plain; version=0.0.4; charset=utf-8");
    });
    svr.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
      send_json(res, 200, {{"object", "list"}, {"data", json::array({model_card()})}});
    });
    svr.Get("/v1/models/(.+)", [this](const httplib::Request& req, httplib::Response& res) {
      const std::string name = req.matches[1];
      if (name != ctx.model_name) {
        send_error(res, ApiError{404, "The model '" + name + "' does not exist", "model", "this server serves '" + ctx.model_name + "'", "model_not_found"});
        return;
      }
      send_json(res, 200, model_card());
    });
    svr.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) { generate(req, res, false); });
    svr.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) { generate(req, res, true); });
  }

  json model_card() const {
    return {{"id", ctx.model_name}, {"object", "model"}, {"created", 0}, {"owned_by", "tsc"}, {"root", ctx.model_name}, {"max_model_len", ctx.max_seq_len}};
  }

  // 200 "ok" while every engine serves, 200 "degraded" while some do (a load balancer keeps sending: the
  // router avoids the failed ones), 503 "failed" when none does, 503 "shutting down" after SIGTERM.
  void health(httplib::Response& res) const {
    json engines = json::array();
    size_t up = 0;
    for (size_t i = 0; i < ctx.router->size(); ++i) {
      const Scheduler::Load l = ctx.router->engine(i).load();
      json e = {{"device", ctx.router->device(i)}, {"status", l.failure.empty() ? "ok" : "failed"}, {"requests_in_flight", l.in_flight}, {"kv_pages_free", l.free_pages}};
      if (!l.failure.empty()) e["error"] = l.failure;
      else ++up;
      engines.push_back(std::move(e));
    }
    const char* status = draining ? "shutting down" : up == 0 ? "failed" : up < ctx.router->size() ? "degraded" : "ok";
    send_json(res, draining || up == 0 ? 503 : 200, {{"status", status}, {"engines", std::move(engines)}});
  }

  std::string metrics() const {
    MetricsInput in;
    for (size_t i = 0; i < ctx.router->size(); ++i) {
      Scheduler& s = ctx.router->engine(i);
      in.engines.push_back(EngineMetrics{ctx.router->device(i), s.stats(), &s.histograms(), s.load().failure.empty(), ctx.router->routed_affine(i),
                                         ctx.router->routed_load(i)});
    }
    {
      std::lock_guard<std::mutex> lock(counters_mu);
      in.requests = requests;
    }
    in.model_name = ctx.model_name;
    in.target = opt.target;
    in.page_size = opt.page_size;
    in.top_k_pages = ctx.top_k_pages;
    in.max_running = ctx.router->options().max_running;
    in.profile = opt.profile;
    return render_metrics(in);
  }

  void generate(const httplib::Request& req, httplib::Response& res, bool chat) {
    if (draining) {
      send_error(res, ApiError{503, "the server is shutting down", "", "retry against another server", "server_shutting_down"});
      return;
    }
    std::shared_ptr<Completion> call;
    try {
      json body;
      try {
        body = json::parse(req.body);
      } catch (const json::parse_error& e) {
        throw bad_request(std::string("the body is not valid JSON: ") + e.what(), "", "send a JSON object (UTF-8) with Content-Type: application/json");
      }
      call = std::make_shared<Completion>(ctx, parse_api_request(body, chat, limits));
    } catch (const ApiError& e) {
      send_error(res, e);
      return;
    } catch (const Error& e) {
      send_error(res, bad_request(e.what(), "", e.hint()));
      return;
    }
    ++active;
    res.status = 200;
    if (ctx.router->size() > 1) res.set_header("X-TSC-Device", ctx.router->device(call->engine()));
    if (call->stream()) {
      res.set_header("Cache-Control", "no-cache");
      res.set_header("X-Accel-Buffering", "no");
    }
    // Chunked for both kinds of response: the provider runs on this connection's thread and can notice
    // a client that went away (sink.is_writable) while the request waits or generates, and cancel it.
    res.set_chunked_content_provider(
        call->stream() ? "text/event-stream" : "application/json",
        [call](size_t, httplib::DataSink& sink) {
          const bool ok = call->run([&](const std::string& s) { return sink.write(s.data(), s.size()); }, [&] { return sink.is_writable(); });
          tl_req.call = call->record();
          if (ok) sink.done();
          return ok;
        },
        [this, call](bool) { --active; });
  }

  void log(const httplib::Request& req, const httplib::Response& res) {
    const std::string route = route_of(req.path);
    {
      std::lock_guard<std::mutex> lock(counters_mu);
      ++requests[{route, res.status}];
    }
    if (opt.log_format == "off") return;
    const double ms = std::chrono::duration<double, std::milli>(clock_type::now() - tl_req.start).count();
    const auto& call = tl_req.call;
    std::string line;
    if (opt.log_format == "json") {
      json j = {{"time", utc_now()}, {"method", req.method}, {"path", req.path}, {"status", res.status}, {"duration_ms", ms}, {"remote", req.remote_addr}};
      if (call) {
        j["id"] = call->id;
        j["stream"] = call->stream;
        j["choices"] = call->choices;
        j["prompt_tokens"] = call->prompt_tokens;
        j["completion_tokens"] = call->completion_tokens;
        j["finish_reasons"] = call->finish;
        j["ttft_ms"] = call->ttft_s >= 0 ? json(call->ttft_s * 1e3) : json(nullptr);
        j["queue_ms"] = call->queue_s >= 0 ? json(call->queue_s * 1e3) : json(nullptr);
      }
      const std::string err = call && !call->error.empty() ? call->error : tl_req.error;
      if (!err.empty()) j["error"] = err;
      line = j.dump(-1, ' ', false, json::error_handler_t::replace);
    } else {
      char head[64];
      std::snprintf(head, sizeof head, " %d %.1fms", res.status, ms);
      line = utc_now() + " " + req.method + " " + printable(req.path) + head;
      if (call) {
        std::string fin;
        for (auto& f : call->finish) fin += (fin.empty() ? "" : ",") + f;
        char t[64] = "";
        if (call->ttft_s >= 0) std::snprintf(t, sizeof t, " ttft_ms=%.1f", call->ttft_s * 1e3);
        line += " id=" + call->id + " stream=" + (call->stream ? "true" : "false") + " prompt_tokens=" + std::to_string(call->prompt_tokens) +
                " completion_tokens=" + std::to_string(call->completion_tokens) + " finish=" + (fin.empty() ? "-" : fin) + t;
      }
      const std::string err = call && !call->error.empty() ? call->error : tl_req.error;
      if (!err.empty()) line += " error=\"" + printable(err) + "\"";
    }
    std::lock_guard<std::mutex> lock(log_mu);
    std::cerr << line << "\n" << std::flush;
  }
};

HttpServer::HttpServer(ServeContext& ctx, ServerOptions opt) : impl_(std::make_unique<Impl>(ctx, std::move(opt))) {}
HttpServer::~HttpServer() = default;

int HttpServer::bind() {
  auto& o = impl_->opt;
  int port = o.port;
  bool ok;
  if (port == 0) {
    port = impl_->svr.bind_to_any_port(o.host);
    ok = port > 0;
  } else {
    ok = impl_->svr.bind_to_port(o.host, port);
  }
  if (!ok)
    throw Error("cannot listen on " + o.host + ":" + std::to_string(o.port),
                "another process may hold the port: pick another with --port, or check --host");
  impl_->svr.raise_backlog();
  impl_->port = port;
  return port;
}

void HttpServer::serve() {
  if (impl_->stopped) return;
  impl_->svr.listen_after_bind();
}

void HttpServer::shutdown(std::chrono::milliseconds grace) {
  Impl& m = *impl_;
  m.draining = true;
  Router& s = *m.ctx.router;
  if (!s.wait_idle(clock_type::now() + grace)) {
    s.cancel_all();
    s.wait_idle(clock_type::now() + std::chrono::seconds(10));
  }
  // The handlers write their last chunks and [DONE]; then the listener stops.
  const auto deadline = clock_type::now() + std::chrono::seconds(10);
  while (m.active > 0 && clock_type::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  m.stopped = true;
  m.svr.stop();
  hang_up_connections(m.port);
}

std::string HttpServer::metrics_text() const { return impl_->metrics(); }

}  // namespace tsc
