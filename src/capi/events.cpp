// SPDX-License-Identifier: MIT
// Event delivery: subscriptions (callbacks on the loop thread) and queues
// (a pollable fd and a blocking wait, for bindings that cannot take calls on
// a foreign thread).
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>

#include "capi/handles.hpp"

namespace chord::capi {

namespace {

bool copy_buf(chord_buf& dst, const chord_buf& src) {
  dst.data = nullptr;
  dst.len = 0;
  if (src.len == 0) return true;
  dst.data = static_cast<uint8_t*>(std::malloc(src.len));
  if (!dst.data) return false;
  std::memcpy(dst.data, src.data, src.len);
  dst.len = src.len;
  return true;
}

void efd_set(int fd) {
  uint64_t one = 1;
  ssize_t r = write(fd, &one, sizeof one);
  (void)r;
}

void efd_clear(int fd) {
  uint64_t v;
  ssize_t r = read(fd, &v, sizeof v);
  (void)r;
}

}  // namespace

Queue::Queue(unsigned m, size_t cap, size_t max_b) : mask(m), capacity(cap), max_bytes(max_b) {
  efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

Queue::~Queue() {
  for (auto& e : items) chord_event_dispose(&e);
  if (efd >= 0) ::close(efd);
}

bool Queue::push(const chord_event& ev) {
  chord_event copy = ev;
  if (!copy_buf(copy.key, ev.key) || !copy_buf(copy.data, ev.data)) {
    chord_event_dispose(&copy);
    return false;
  }
  std::lock_guard<std::mutex> lk(mu);
  if (closed) {
    chord_event_dispose(&copy);
    return false;
  }
  const size_t size = copy.key.len + copy.data.len + kEventOverhead;
  while (!items.empty() && (items.size() >= capacity || bytes + size > max_bytes)) {
    // Bounded memory: the oldest event gives way.
    bytes -= items.front().key.len + items.front().data.len + kEventOverhead;
    chord_event_dispose(&items.front());
    items.pop_front();
    ++dropped;
  }
  bool was_empty = items.empty();
  items.push_back(copy);
  bytes += size;
  if (was_empty) efd_set(efd);
  cv.notify_one();
  return true;
}

int Queue::next(chord_event* out, int timeout_ms) {
  std::unique_lock<std::mutex> lk(mu);
  auto ready = [&] { return !items.empty() || closed; };
  if (timeout_ms < 0) {
    cv.wait(lk, ready);
  } else if (!cv.wait_for(lk, std::chrono::milliseconds(timeout_ms), ready)) {
    return fail(kTimedOut, "no event within " + std::to_string(timeout_ms) + " ms");
  }
  if (items.empty()) return fail(kClosed, "the queue is closed");
  *out = items.front();
  bytes -= out->key.len + out->data.len + kEventOverhead;
  items.pop_front();
  if (items.empty() && !closed) efd_clear(efd);
  return kOk;
}

void Queue::close() {
  std::lock_guard<std::mutex> lk(mu);
  if (closed) return;
  closed = true;
  efd_set(efd);
  cv.notify_all();
}

void Hub::dispatch(const chord_event& ev) {
  std::vector<std::shared_ptr<Sub>> snap;
  std::vector<std::shared_ptr<Queue>> qs;
  {
    std::lock_guard<std::mutex> lk(mu);
    if (closed) return;
    ++dispatching;
    for (auto& s : subs)
      if (s->mask & static_cast<unsigned>(ev.type)) snap.push_back(s);
    for (auto& q : queues)
      if (q->mask & static_cast<unsigned>(ev.type)) qs.push_back(q);
  }
  for (auto& q : qs) q->push(ev);
  for (auto& s : snap) {
    if (!s->dead.load()) s->cb(&ev, s->ud);
  }
  std::lock_guard<std::mutex> lk(mu);
  --dispatching;
  cv.notify_all();
}

void Hub::close() {
  std::vector<std::shared_ptr<Queue>> qs;
  {
    std::lock_guard<std::mutex> lk(mu);
    closed = true;
    qs = queues;
  }
  for (auto& q : qs) q->close();
}

void Hub::remove_sub(const std::shared_ptr<Sub>& s, bool on_loop_thread) {
  std::unique_lock<std::mutex> lk(mu);
  s->dead.store(true);
  subs.erase(std::remove(subs.begin(), subs.end(), s), subs.end());
  // Off the loop thread, wait until no callback of this hub is running, so
  // that after chord_sub_free returns the callback is not running.
  if (!on_loop_thread) cv.wait(lk, [&] { return dispatching == 0; });
}

// A subscription or queue taking add/delete events makes the node a
// listener: the first one announces it to the ring and, off the loop thread,
// waits until every member knows (bounded by the default timeout), so that
// writes started after the call returns are reported. On the loop thread the
// announcement goes out without waiting.
void start_listening(chord_node* n) {
  if (n->hub->key_listeners.fetch_add(1) != 0) return;
  auto start = [](core::Node& cn, std::function<void(core::Result &&)> d) {
    cn.listen(std::move(d));
  };
  if (n->loop->on_loop_thread()) {
    submit<core::Result>(n, start, [](core::Result&&) {});
    return;
  }
  run_blocking<core::Result>(n, n->default_timeout_ms, start);
}

}  // namespace chord::capi

using chord::capi::fail;

namespace {
constexpr unsigned kKeyEvents = CHORD_EV_ADD | CHORD_EV_DELETE;
}

extern "C" {

int chord_subscribe(chord_sub** out, chord_node* node, unsigned mask, chord_event_cb cb, void* ud,
                    chord_release_cb ud_release) {
  return chord::capi::guarded([&]() -> int {
    if (!out) return fail(CHORD_EINVAL, "out is NULL");
    *out = nullptr;
    if (!node || !cb) return fail(CHORD_EINVAL, node ? "cb is NULL" : "node is NULL");
    if ((mask & CHORD_EV_ALL) == 0) return fail(CHORD_EINVAL, "mask selects no event type");
    if (node->closed.load()) return fail(CHORD_ECLOSED, "the node is closed");
    auto* h = new (std::nothrow) chord_sub_s;
    if (!h) return fail(CHORD_ENOMEM, "cannot allocate a subscription");
    h->hub = node->hub;
    h->loop_thread = node->loop->thread_id();
    h->sub = std::make_shared<chord::capi::Sub>();
    h->sub->cb = cb;
    h->sub->ud = ud;
    h->sub->release = ud_release;
    h->sub->mask = mask;
    {
      std::lock_guard<std::mutex> lk(h->hub->mu);
      h->hub->subs.push_back(h->sub);
    }
    if (mask & kKeyEvents) {
      h->keys = true;
      chord::capi::start_listening(node);
    }
    *out = h;
    chord::capi::clear_error();
    return CHORD_OK;
  });
}

void chord_sub_free(chord_sub* sub) {
  chord::capi::guarded_void([&] {
    if (!sub) return;
    bool on_loop = std::this_thread::get_id() == sub->loop_thread;
    if (sub->keys) sub->hub->key_listeners.fetch_sub(1);
    sub->hub->remove_sub(sub->sub, on_loop);
    if (sub->sub->release) sub->sub->release(sub->sub->ud);
    delete sub;
  });
}

int chord_queue_new(chord_queue** out, chord_node* node, unsigned mask) {
  return chord::capi::guarded([&]() -> int {
    if (!out) return fail(CHORD_EINVAL, "out is NULL");
    *out = nullptr;
    if (!node) return fail(CHORD_EINVAL, "node is NULL");
    if ((mask & CHORD_EV_ALL) == 0) return fail(CHORD_EINVAL, "mask selects no event type");
    if (node->closed.load()) return fail(CHORD_ECLOSED, "the node is closed");
    auto* h = new (std::nothrow) chord_queue_s;
    if (!h) return fail(CHORD_ENOMEM, "cannot allocate a queue");
    h->hub = node->hub;
    h->q = std::make_shared<chord::capi::Queue>(mask, 1u << 20);
    if (h->q->efd < 0) {
      delete h;
      return fail(CHORD_EIO, "eventfd failed");
    }
    {
      std::lock_guard<std::mutex> lk(h->hub->mu);
      if (h->hub->closed) {
        delete h;
        return fail(CHORD_ECLOSED, "the node is closed");
      }
      h->hub->queues.push_back(h->q);
    }
    if (mask & kKeyEvents) {
      h->keys = true;
      chord::capi::start_listening(node);
    }
    *out = h;
    chord::capi::clear_error();
    return CHORD_OK;
  });
}

int chord_queue_fd(const chord_queue* q) {
  return chord::capi::guarded([&]() -> int { return q ? q->q->efd : -1; });
}

int chord_queue_next(chord_event* out, chord_queue* q, int timeout_ms) {
  return chord::capi::guarded([&]() -> int {
    if (!out || !q) return fail(CHORD_EINVAL, out ? "queue is NULL" : "out is NULL");
    std::memset(out, 0, sizeof *out);
    return q->q->next(out, timeout_ms);
  });
}

void chord_queue_close(chord_queue* q) {
  chord::capi::guarded_void([&] {
    if (q) q->q->close();
  });
}

void chord_queue_free(chord_queue* q) {
  chord::capi::guarded_void([&] {
    if (!q) return;
    q->q->close();
    if (q->keys) q->hub->key_listeners.fetch_sub(1);
    {
      std::lock_guard<std::mutex> lk(q->hub->mu);
      auto& v = q->hub->queues;
      v.erase(std::remove(v.begin(), v.end(), q->q), v.end());
    }
    delete q;
  });
}

}  // extern "C"
