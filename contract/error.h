// User-facing errors: one line naming the culprit, plus a hint of what to do (llm.c's ---> HINT: style).
#pragma once
#include <stdexcept>
#include <string>

namespace tsc {

class Error : public std::runtime_error {
 public:
  Error(std::string message, std::string hint = {})
      : std::runtime_error(std::move(message)), hint_(std::move(hint)) {}
  const std::string& hint() const { return hint_; }

 private:
  std::string hint_;
};

// Formats "<prog>: error: <what>\n---> HINT: <hint>" for stderr.
std::string format_error(const std::string& prog, const Error& e);

}  // namespace tsc
