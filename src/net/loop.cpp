// SPDX-License-Identifier: MIT
#include "net/loop.hpp"

#include <pthread.h>
#include <signal.h>

#include "wire/status.hpp"

namespace chord::net {

Loop::Loop() {
  uv_loop_init(&loop_);
  uv_async_init(&loop_, &async_, &Loop::on_async);
  async_.data = this;
}

Loop::~Loop() {
  if (started_) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stopping_ = true;
    }
    uv_async_send(&async_);
    thread_.join();
  } else {
    uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
  }
  uv_loop_close(&loop_);
}

int Loop::start() {
  try {
    thread_ = std::thread([this] {
      // A write to a peer that has just closed raises SIGPIPE in the writing
      // thread, and its default action ends the whole process: the host
      // application's, not ours to end. libuv writes with write(2), which
      // takes no MSG_NOSIGNAL, so the loop thread blocks the signal (the
      // write then fails with EPIPE, which closes that connection only).
      // The application's own threads and handlers are left alone.
      sigset_t pipe;
      sigemptyset(&pipe);
      sigaddset(&pipe, SIGPIPE);
      pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
      uv_run(&loop_, UV_RUN_DEFAULT);
      // uv_run returned: async_ was closed by drain() on stop. Finish closing
      // anything that is left so uv_loop_close succeeds.
      uv_walk(
          &loop_,
          [](uv_handle_t* h, void*) {
            if (!uv_is_closing(h)) uv_close(h, nullptr);
          },
          nullptr);
      uv_run(&loop_, UV_RUN_DEFAULT);
    });
  } catch (...) {
    return kIo;
  }
  thread_id_ = thread_.get_id();
  started_ = true;
  return kOk;
}

bool Loop::post(Task fn) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stopping_) return false;
    tasks_.push_back(std::move(fn));
  }
  uv_async_send(&async_);
  return true;
}

bool Loop::on_loop_thread() const {
  return started_ && std::this_thread::get_id() == thread_id_;
}

void Loop::on_async(uv_async_t* h) {
  static_cast<Loop*>(h->data)->drain();
}

void Loop::drain() {
  std::vector<Task> batch;
  bool stop;
  {
    std::lock_guard<std::mutex> lk(mu_);
    batch.swap(tasks_);
    stop = stopping_;
  }
  for (auto& t : batch) t();
  if (stop) {
    // Tasks posted before stopping_ was set have run; close our handle.
    std::vector<Task> rest;
    {
      std::lock_guard<std::mutex> lk(mu_);
      rest.swap(tasks_);
    }
    for (auto& t : rest) t();
    uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
  }
}

}  // namespace chord::net
