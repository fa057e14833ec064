// SPDX-License-Identifier: MIT
// A libuv loop on its own thread, with a thread-safe task queue.
//
// uv_async_send is the only way in from other threads: post() queues a task
// and wakes the loop, which runs the queued tasks in order on its thread.
#pragma once

#include <uv.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace chord::net {

class Loop {
 public:
  using Task = std::function<void()>;

  Loop();
  ~Loop();  // stops and joins the thread; runs remaining tasks first
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Starts the thread. Returns 0 or kIo.
  int start();
  // Queues fn to run on the loop thread. Returns false once the loop stopped.
  bool post(Task fn);
  // True on the loop's own thread.
  bool on_loop_thread() const;
  std::thread::id thread_id() const { return thread_id_; }
  uv_loop_t* uv() { return &loop_; }

  // Nodes hosted on this loop; chord_loop_free refuses while any remain.
  std::atomic<int> users{0};

 private:
  static void on_async(uv_async_t* h);
  void drain();

  uv_loop_t loop_{};
  uv_async_t async_{};
  std::thread thread_;
  std::thread::id thread_id_;
  std::mutex mu_;
  std::vector<Task> tasks_;
  bool stopping_ = false;
  bool started_ = false;
};

}  // namespace chord::net
