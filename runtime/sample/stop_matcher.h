// Stop strings over streamed text: releases only text that cannot be the start of a stop string, and
// reports the stop with the text before it (the stop string itself is not part of the output).
#pragma once
#include <string>
#include <vector>

namespace tsc {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops);
  // Appends streamed text; returns what may be shown now.
  std::string push(const std::string& text);
  // End of stream: what is still held back (no stop matched).
  std::string flush();
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string pending_;
  bool stopped_ = false;
};

}  // namespace tsc
