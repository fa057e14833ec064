// SPDX-License-Identifier: MIT
// A window of at most `limit` async operations in flight: the issuing thread
// blocks in acquire() while the window is full, and completions (on a loop
// thread) release their slot.
#pragma once

#include <condition_variable>
#include <mutex>

namespace chord::bench {

class AsyncWindow {
 public:
  explicit AsyncWindow(unsigned limit) : limit_(limit ? limit : 1) {}
  // Blocks until fewer than limit operations are in flight, then takes a slot.
  void acquire();
  // Gives a slot back. Safe from any thread.
  void release();
  // Blocks until nothing is in flight.
  void drain();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  unsigned limit_;
  unsigned in_flight_ = 0;
};

}  // namespace chord::bench
