// A one-line progress counter on stderr, shown only when stderr is a terminal,
// so that logs and pipes stay clean.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace chord::cli {

class Progress {
 public:
  Progress(std::string label, size_t total);
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
