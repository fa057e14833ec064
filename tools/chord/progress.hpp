// SPDX-License-Identifier: MIT
// A one-line progress counter on stderr, shown only when stderr is a terminal,
// so that logs and pipes stay clean.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace chord::cli {

class Progress {
 public:
  // total 0: the total is unknown, and only the count is shown.
  // only_if_stdout_redirected: stay quiet while stdout is a terminal too, so
  // that the counter never mixes with a command's own output.
  Progress(std::string label, size_t total, bool only_if_stdout_redirected = false);
  ~Progress() { done(); }
  // Reports that `current` of the total are done; redraws at most 10 times a second.
  void update(size_t current);
  // Erases the line. Idempotent.
  void done();

 private:
  std::string label_;
  size_t total_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace chord::cli
