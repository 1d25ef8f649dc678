// Formatting of user-facing errors.
#include "contract/error.h"

namespace tsc {

std::string format_error(const std::string& prog, const Error& e) {
  std::string s = prog + ": error: " + e.what() + "\n";
  if (!e.hint().empty()) s += "---> HINT: " + e.hint() + "\n";
  return s;
}

}  // namespace tsc
