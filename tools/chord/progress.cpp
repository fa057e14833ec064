// SPDX-License-Identifier: MIT
#include "progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace chord::cli {

Progress::Progress(std::string label, size_t total, bool only_if_stdout_redirected)
    : label_(std::move(label)),
      total_(total),
      enabled_(isatty(STDERR_FILENO) == 1 &&
               !(only_if_stdout_redirected && isatty(STDOUT_FILENO) == 1)) {}

void Progress::update(size_t current) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (drawn_ && (total_ == 0 || current < total_) && now - last_ < std::chrono::milliseconds(100)) {
    return;
  }
  last_ = now;
  drawn_ = true;
  if (total_ == 0) {
    std::fprintf(stderr, "\r\033[K%s %zu", label_.c_str(), current);
  } else {
    std::fprintf(stderr, "\r\033[K%s %zu/%zu", label_.c_str(), current, total_);
  }
  std::fflush(stderr);
}

void Progress::done() {
  if (!drawn_) return;
  drawn_ = false;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
}

}  // namespace chord::cli
