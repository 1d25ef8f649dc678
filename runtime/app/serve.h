// `model_server serve` (also what a bare `model_server` runs): its options and entry point.
#pragma once
#include <cstdint>
#include <string>

namespace CLI {
class App;
}

namespace tsc {

struct ServeArgs {
  std::string host = "127.0.0.1";
  int port = 8000;
  std::string api_key;            // also read from $TSC_API_KEY
  std::string served_model_name;  // default: the ONNX model's folder or file name
  int64_t max_batch = 0;          // sequences in the running batch; 0 = the build's --max-batch
  int64_t max_queue = 1024;       // requests waiting for the batch; beyond: 503
  int64_t max_step_tokens = 512;  // tokens per engine step (decodes + prefill chunks)
  int64_t kv_memory = 0;          // bytes of KV cache; 0 = the engine's default
  bool no_prefix_cache = false;
  std::string log_format = "text";
  bool profile = false;
  double shutdown_grace = 30;     // seconds in-flight requests get to finish on SIGTERM/SIGINT
  int64_t max_body = 32 << 20;
  std::string devices;            // CUDA target: "all" or "0,1,...": one engine per GPU behind the router ("": GPU 0 only)
  int64_t replicas = 1;           // CPU target: engines in this process, each with 1/N of the OpenMP threads
  std::string select_score = "bound";  // ablation (CPU target): page score of every decode step (score.cpp's table)
};

// Registers serve's flags on `cmd` (the `serve` subcommand).
void add_serve_options(CLI::App& cmd, ServeArgs& a);
int cmd_serve(const ServeArgs& a);

}  // namespace tsc
