// SPDX-License-Identifier: MIT
#include "async_window.hpp"

namespace chord::bench {

void AsyncWindow::acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return in_flight_ < limit_; });
  ++in_flight_;
}

void AsyncWindow::release() {
  std::lock_guard<std::mutex> lock(mu_);
  --in_flight_;
  cv_.notify_all();
}

void AsyncWindow::drain() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return in_flight_ == 0; });
}

}  // namespace chord::bench
