// SPDX-License-Identifier: MIT
// The handle structs behind the public C API, and the machinery every call
// uses: error reporting, handing work to the loop thread, blocking waits.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "chord/chord.h"
#include "core/node.hpp"
#include "wire/status.hpp"
#include "net/loop.hpp"
#include "net/node_host.hpp"

namespace chord::capi {

// Records a one-line detail for chord_error_last() and returns rc.
int fail(int rc, const std::string& why);
// Clears the detail (a successful call).
void clear_error();
void set_last_hops(unsigned hops);

// Every int-returning C entry point runs its body in guarded(): no C++
// exception crosses into C. Out of memory (std::bad_alloc, a length_error
// from a size the allocator cannot meet) is CHORD_ENOMEM; anything else is
// CHORD_EINTERNAL with what() as the detail. The void ones use guarded_void
// and drop the exception (a release or free has no code to return).
template <class F>
int guarded(F&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return fail(CHORD_ENOMEM, "out of memory");
  } catch (const std::length_error&) {
    return fail(CHORD_ENOMEM, "out of memory (a size past what can be allocated)");
  } catch (const std::exception& e) {
    return fail(CHORD_EINTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return fail(CHORD_EINTERNAL, "internal error: an unknown exception");
  }
}
template <class F>
void guarded_void(F&& body) noexcept {
  try {
    body();
  } catch (...) {
  }
}

// A queue of owned events with a pollable eventfd (readable while non-empty
// or closed). Shared by the chord_queue handle and the node's event hub.
// Bounded by count (cap) and by the bytes of the keys and data it holds
// (max_bytes): past either the oldest event gives way, and `dropped` counts
// it. A peer that floods broadcasts costs the node at most max_bytes here.
struct Queue {
  Queue(unsigned m, size_t cap, size_t max_bytes = kQueueMaxBytes);
  static constexpr size_t kQueueMaxBytes = 64u << 20;
  ~Queue();
  bool push(const chord_event& borrowed);  // copies; false if closed
  int next(chord_event* out, int timeout_ms);
  void close();

  unsigned mask;
  size_t capacity;
  size_t max_bytes;
  size_t bytes = 0;  // keys and data held, plus kEventOverhead each
  static constexpr size_t kEventOverhead = 64;
  int efd = -1;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<chord_event> items;
  bool closed = false;
  uint64_t dropped = 0;
};

struct Sub {
  chord_event_cb cb = nullptr;
  void* ud = nullptr;
  chord_release_cb release = nullptr;
  unsigned mask = 0;
  std::atomic<bool> dead{false};
};

// Fans events out to subscriptions and queues. Outlives its node while any
// chord_sub or chord_queue handle still refers to it.
struct Hub {
  void dispatch(const chord_event& ev);  // loop thread
  void close();                          // the node is going away
  void remove_sub(const std::shared_ptr<Sub>& s, bool on_loop_thread);

  std::mutex mu;
  std::condition_variable cv;
  int dispatching = 0;
  bool closed = false;
  // Subscriptions and queues that take add or delete events: while there is
  // one, the node is a listener (core::Node::listen).
  std::atomic<int> key_listeners{0};
  std::vector<std::shared_ptr<Sub>> subs;
  std::vector<std::shared_ptr<Queue>> queues;
};

}  // namespace chord::capi

struct chord_loop_s {
  std::unique_ptr<chord::net::Loop> loop;
};

struct chord_node_s {
  chord::net::Loop* loop = nullptr;
  std::unique_ptr<chord::net::Loop> own_loop;  // when no shared loop was given
  std::unique_ptr<chord::net::NodeHost> host;  // loop thread only
  std::shared_ptr<chord::capi::Hub> hub = std::make_shared<chord::capi::Hub>();
  std::shared_ptr<chord::capi::Queue> inbox;  // messages for chord_recv
  std::string addr;
  std::string id_hex;
  uint8_t id[32] = {0};
  unsigned default_timeout_ms = 5000;
  size_t max_key = 1024;
  size_t max_value = 1 << 20;
  bool client = false;
  // A data_dir: the members it remembered at the start (chord_node_join
  // with no address tries them).
  bool durable = false;
  std::vector<std::string> remembered;
  std::atomic<bool> closed{false};
  // The struct outlives chord_node_free while iterators refer to it, so that
  // they report CHORD_ECLOSED instead of touching freed memory.
  std::atomic<int> refs{1};
  // Operations handed to the core and not finished yet (loop thread only):
  // closing the node finishes each with CHORD_ECLOSED, exactly once.
  uint64_t next_op = 1;
  std::unordered_map<uint64_t, std::function<void()>> pending;
  chord_log_cb log_cb = nullptr;
  void* log_ud = nullptr;
};

struct chord_sub_s {
  std::shared_ptr<chord::capi::Hub> hub;
  std::shared_ptr<chord::capi::Sub> sub;
  std::thread::id loop_thread;  // the node's loop may be gone when this is freed
  bool keys = false;            // counted in hub->key_listeners
};

struct chord_queue_s {
  std::shared_ptr<chord::capi::Hub> hub;
  std::shared_ptr<chord::capi::Queue> q;
  bool keys = false;  // counted in hub->key_listeners
};

struct chord_iter_s {
  chord_node* node = nullptr;
  bool values = false;
  chord::core::IterCursor cursor;
  std::vector<chord::core::Item> page;
  size_t pos = 0;
};

namespace chord::capi {

// Effective timeout for a call given timeout_ms.
inline uint32_t timeout_of(const chord_node* n, int timeout_ms) {
  return timeout_ms > 0 ? static_cast<uint32_t>(timeout_ms) : n->default_timeout_ms;
}

// Runs start(core_node, done) on the loop thread. fin receives the outcome
// exactly once, on the loop thread: from the core, or CHORD_ECLOSED if the
// node closes first. Returns false (and never calls fin) if the node is closed.
template <class R>
bool submit(chord_node* n, std::function<void(core::Node&, std::function<void(R&&)>)> start,
            std::function<void(R&&)> fin) {
  if (n->closed.load()) return false;
  auto state = std::make_shared<std::pair<bool, std::function<void(R &&)>>>(false, std::move(fin));
  auto task = [n, state, start = std::move(start)]() mutable {
    auto finish = [n, state](uint64_t op, R&& r) {
      if (state->first) return;
      state->first = true;
      n->pending.erase(op);
      auto f = std::move(state->second);
      f(std::move(r));
    };
    uint64_t op = n->next_op++;
    if (!n->host) {
      R r;
      r.status = kClosed;
      r.detail = "the node is closed";
      finish(op, std::move(r));
      return;
    }
    n->pending[op] = [finish, op]() {
      R r;
      r.status = kClosed;
      r.detail = "the node was closed before the operation finished";
      finish(op, std::move(r));
    };
    // A durable node acknowledges what its turn wrote only once the turn's
    // batch is committed (net::NodeHost::when_committed); if the commit
    // fails, what completed in that turn reports the failure.
    start(n->host->node(), [n, finish, op](R&& r) {
      net::NodeHost* h = n->host.get();
      if (!h || !h->holding()) return finish(op, std::move(r));
      h->when_committed([finish, op, r = std::move(r)](int rc, const std::string& why) mutable {
        if (rc != 0 && r.status == 0) {
          r.status = rc;
          r.detail = why;
        }
        finish(op, std::move(r));
      });
    });
  };
  return n->loop->post(std::move(task));
}

// The blocking form of submit. Returns the outcome; fails with kInval when
// called on the loop thread (a blocking call there would deadlock).
template <class R>
R run_blocking(chord_node* n, uint32_t timeout_ms,
               std::function<void(core::Node&, std::function<void(R&&)>)> start) {
  R out;
  if (n->loop->on_loop_thread()) {
    out.status = kInval;
    out.detail = "blocking call from a callback on the loop thread; use the _async form";
    return out;
  }
  struct Wait {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    R r;
  };
  auto w = std::make_shared<Wait>();
  bool ok = submit<R>(n, std::move(start), [w](R&& r) {
    std::lock_guard<std::mutex> lk(w->mu);
    w->r = std::move(r);
    w->done = true;
    w->cv.notify_all();
  });
  if (!ok) {
    out.status = kClosed;
    out.detail = "the node is closed";
    return out;
  }
  std::unique_lock<std::mutex> lk(w->mu);
  // The core enforces timeout_ms; the margin only guards against a lost
  // completion, which would be a bug.
  if (!w->cv.wait_for(lk, std::chrono::milliseconds(timeout_ms + 10000), [&] { return w->done; })) {
    out.status = kTimedOut;
    out.detail = "no completion from the loop thread in time";
    return out;
  }
  return std::move(w->r);
}

// An operation's start on the loop thread: it calls done exactly once.
using Start = std::function<void(core::Node&, std::function<void(core::Result&&)>)>;

// The _async form of a call: submits start, and gives its outcome to cb as a
// chord_result (dict.cpp). Returns CHORD_OK, CHORD_EINVAL (no cb) or
// CHORD_ECLOSED, with chord_error_last() set.
int async_call(chord_node* n, Start start, chord_result_cb cb, void* ud);

// Drops one reference to the node struct; the last one frees it.
void node_unref(chord_node* n);

// Runs fn on the loop thread and waits for it (or runs it inline there).
bool run_on_loop(chord_node* n, const std::function<void()>& fn);

}  // namespace chord::capi
