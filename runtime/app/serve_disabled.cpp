// `model_server serve` in a build without the HTTP server (TSC_WITH_SERVER=OFF): a clear error.
#include <CLI/CLI.hpp>

#include "runtime/app/serve.h"
#include "contract/error.h"

namespace tsc {

void add_serve_options(CLI::App& cmd, ServeArgs& a) {
  cmd.allow_extras();  // accept and ignore serve's flags: the command fails with a clear message anyway
  (void)a;
}

int cmd_serve(const ServeArgs&) {
  throw Error("this model_server was built without the HTTP server",
              "rebuild tsc with cpp-httplib installed (apt-get install libcpp-httplib-dev) and -DTSC_WITH_SERVER=ON; "
              "score, generate, bench and info work in this build");
}

}  // namespace tsc
