// The OpenAI-compatible HTTP server (cpp-httplib): routes, API-key check, request logs, /metrics, and a
// graceful shutdown that stops taking requests and lets the running ones finish.
#pragma once
#include <chrono>
#include <memory>
#include <string>

#include "runtime/server/completion.h"

namespace tsc {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;                       // 0: any free port (bind() returns it)
  std::string api_key;                   // empty: no authentication
  std::string log_format = "text";       // text | json | off: one line per request on stderr
  bool profile = false;                  // per-step timings in /metrics
  size_t max_body_bytes = 32u << 20;     // larger bodies get 413
  std::string target = "cpu";
  int64_t page_size = 0;
};

class HttpServer {
 public:
  HttpServer(ServeContext& ctx, ServerOptions opt);
  ~HttpServer();
  // Binds the listening socket; throws tsc::Error (with a hint) when it cannot. Returns the port.
  int bind();
  // Serves until shutdown() has stopped the listener and every connection has ended.
  void serve();
  // Stops taking requests (503), waits up to `grace` for the running ones, cancels what is left, then
  // stops the listener. Thread-safe; a second call with a zero grace cancels at once.
  void shutdown(std::chrono::milliseconds grace);
  std::string metrics_text() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tsc
