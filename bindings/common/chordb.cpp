// SPDX-License-Identifier: MIT
// The shared C layer under every SWIG binding: see chordb.h for why it exists.
#include "chordb.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <string>
#include <vector>

namespace {
constexpr int kRecvSliceMs = 100;  // how soon a closed node wakes a recv waiter
}

struct chordb_opts_s {
  chord_node_opts o;
  std::string listen = "127.0.0.1:0", advertise, network, identity_file, data_dir;
  std::vector<uint8_t> key;
};

struct chordb_slot_s {
  int rc = 0;
  std::string detail;
  std::string key, value;
  chord_event ev{};
  bool has_ev = false;
  unsigned hops = 0;
  chord_node_stats stats{};

  void reset() {
    rc = 0;
    detail.clear();
    key.clear();
    value.clear();
    hops = 0;
    stats = chord_node_stats{};
    if (has_ev) chord_event_dispose(&ev);
    ev = chord_event{};
    has_ev = false;
  }
  int done(int code) {
    rc = code;
    if (code < 0 && code != CHORD_ITEROVER && detail.empty()) {
      const char *d = chord_error_last();
      detail = d ? d : "";
    }
    return code;
  }
  int fail(int code, const char *d) {
    detail = d;
    return done(code);
  }
  void take_event(const chord_event &e) {
    ev = e;  // owned now: disposed by reset()
    has_ev = true;
    key.assign(reinterpret_cast<const char *>(e.key.data), e.key.len);
    value.assign(reinterpret_cast<const char *>(e.data.data), e.data.len);
  }
};

struct chordb_queue_s {
  chordb_node *n = nullptr;
  chord_queue *q = nullptr;  // closed, never freed, by node close
  int fd = -1;
  int waiters = 0;
};

struct chordb_iter_s {
  chordb_node *n = nullptr;
  chord_iter *it = nullptr;  // nullptr once freed by node close
};

struct chordb_node_s {
  std::mutex mu;
  std::condition_variable cv;
  chord_node *node = nullptr;
  int users = 0;  // calls in flight
  int refs = 1;   // the language object, plus each queue and iterator
  bool closing = false, closed = false;
  std::atomic<bool> stop{false};
  std::string addr, id_hex;
  uint8_t id[32] = {};
  std::vector<chordb_queue *> queues;
  std::vector<chordb_iter *> iters;
};

namespace {

void unref(chordb_node *n) {
  bool last;
  {
    std::lock_guard<std::mutex> g(n->mu);
    last = --n->refs == 0;
  }
  if (last) {
    chordb_node_close(n, 0);
    delete n;
  }
}

// Marks a call in flight, so that close waits for it; false once closing.
bool enter(chordb_node *n, chordb_slot *st) {
  st->reset();
  std::lock_guard<std::mutex> g(n->mu);
  if (n->closing || !n->node) {
    st->fail(CHORD_ECLOSED, "the node is closed");
    return false;
  }
  ++n->users;
  return true;
}

void leave(chordb_node *n) {
  std::lock_guard<std::mutex> g(n->mu);
  if (--n->users == 0) n->cv.notify_all();
}

struct Call {
  chordb_node *n;
  bool ok;
  Call(chordb_node *node, chordb_slot *st) : n(node), ok(enter(node, st)) {}
  ~Call() {
    if (ok) leave(n);
  }
};

const uint8_t kEmpty[1] = {0};
const uint8_t *nz(const uint8_t *p) {
  return p ? p : kEmpty;
}  // empty, not NULL

chordb_bytes view(const std::string &s) {
  return chordb_bytes{reinterpret_cast<const uint8_t *>(s.data()), s.size()};
}

size_t copy_out(const std::string &s, uint8_t *data, size_t len) {
  size_t n = std::min(len, s.size());
  if (n) std::memcpy(data, s.data(), n);
  return n;
}

void take_buf(std::string &dst, chord_buf &b) {
  dst.assign(reinterpret_cast<const char *>(b.data), b.len);
  chord_buf_dispose(&b);
}

}  // namespace

extern "C" {

/* options */

chordb_opts *chordb_opts_new(void) {
  auto *o = new chordb_opts_s;
  chord_node_opts_init(&o->o);
  return o;
}

void chordb_opts_free(chordb_opts *o) {
  delete o;
}

int chordb_opts_set_str(chordb_opts *o, const char *name, const char *value) {
  if (!o || !name) return CHORD_EINVAL;
  std::string v = value ? value : "";
  std::string k = name;
  if (k == "listen")
    o->listen = v;
  else if (k == "advertise")
    o->advertise = v;
  else if (k == "network")
    o->network = v;
  else if (k == "identity_file")
    o->identity_file = v;
  else if (k == "data_dir")
    o->data_dir = v;
  else
    return CHORD_EINVAL;
  return 0;
}

namespace {

// Every numeric chord_node_opts field, by name: the one list the bindings
// take options from (chordb_opts_uint_name). A test checks it against the
// fields of chord.h.
struct UintOption {
  const char *name;
  unsigned long long max;  // what the field holds
  void (*set)(chord_node_opts &, unsigned long long);
};

#define CHORDB_UINT(field)                                                        \
  UintOption {                                                                    \
#field, std::numeric_limits < decltype(chord_node_opts::field)> ::max(),      \
        [](chord_node_opts & c,                                                   \
           unsigned long long v) { c.field = static_cast<decltype(c.field)>(v); } \
  }

const UintOption kUintOptions[] = {
    CHORDB_UINT(replicas),
    CHORDB_UINT(successors),
    CHORDB_UINT(stabilize_ms),
    CHORDB_UINT(fix_fingers_ms),
    CHORDB_UINT(check_predecessor_ms),
    CHORDB_UINT(rpc_timeout_ms),
    CHORDB_UINT(anti_entropy_ms),
    CHORDB_UINT(tombstone_grace_ms),
    CHORDB_UINT(default_timeout_ms),
    CHORDB_UINT(handshake_timeout_ms),
    CHORDB_UINT(max_key_bytes),
    CHORDB_UINT(max_value_bytes),
    CHORDB_UINT(max_frame_bytes),
    CHORDB_UINT(max_connections),
    CHORDB_UINT(max_pending),
    CHORDB_UINT(flags),
    CHORDB_UINT(max_clock_skew_ms),
    CHORDB_UINT(max_store_bytes),
    CHORDB_UINT(max_output_bytes),
    CHORDB_UINT(sync),
};

#undef CHORDB_UINT

}  // namespace

const char *chordb_opts_uint_name(int i) {
  const int n = static_cast<int>(sizeof kUintOptions / sizeof kUintOptions[0]);
  return i >= 0 && i < n ? kUintOptions[i].name : nullptr;
}

int chordb_opts_set_uint(chordb_opts *o, const char *name, long long v) {
  if (!o || !name || v < 0) return CHORD_EINVAL;
  for (const UintOption &opt : kUintOptions) {
    if (std::strcmp(opt.name, name) != 0) continue;
    if (static_cast<unsigned long long>(v) > opt.max) return CHORD_EINVAL;  // not cut short
    opt.set(o->o, static_cast<unsigned long long>(v));
    return 0;
  }
  return CHORD_EINVAL;
}

int chordb_opts_set_network_key(chordb_opts *o, const uint8_t *data, size_t len) {
  if (!o || (len && !data)) return CHORD_EINVAL;
  o->key.assign(data, data + len);
  return 0;
}

/* slots */

chordb_slot *chordb_slot_new(void) {
  return new chordb_slot_s;
}
void chordb_slot_free(chordb_slot *s) {
  if (!s) return;
  s->reset();
  delete s;
}
int chordb_slot_rc(const chordb_slot *s) {
  return s->rc;
}
const char *chordb_slot_detail(const chordb_slot *s) {
  return s->detail.c_str();
}
chordb_bytes chordb_slot_value(const chordb_slot *s) {
  return view(s->value);
}
chordb_bytes chordb_slot_key(const chordb_slot *s) {
  return view(s->key);
}
size_t chordb_slot_value_len(const chordb_slot *s) {
  return s->value.size();
}
size_t chordb_slot_key_len(const chordb_slot *s) {
  return s->key.size();
}
size_t chordb_slot_copy_value(const chordb_slot *s, uint8_t *data, size_t len) {
  return copy_out(s->value, data, len);
}
size_t chordb_slot_copy_key(const chordb_slot *s, uint8_t *data, size_t len) {
  return copy_out(s->key, data, len);
}
int chordb_slot_type(const chordb_slot *s) {
  return s->has_ev ? s->ev.type : 0;
}
chordb_bytes chordb_slot_peer_id(const chordb_slot *s) {
  return chordb_bytes{s->ev.peer_id, s->has_ev ? sizeof s->ev.peer_id : 0};
}
size_t chordb_slot_copy_peer_id(const chordb_slot *s, uint8_t *data, size_t len) {
  if (!s->has_ev) return 0;
  size_t n = std::min(len, sizeof s->ev.peer_id);
  std::memcpy(data, s->ev.peer_id, n);
  return n;
}
const char *chordb_slot_peer_addr(const chordb_slot *s) {
  if (!s->has_ev) return "";
  // NUL-terminated by contract; bound it anyway.
  const void *nul = std::memchr(s->ev.peer_addr, 0, sizeof s->ev.peer_addr);
  return nul ? s->ev.peer_addr : "";
}
int chordb_slot_is_whisper(const chordb_slot *s) {
  return s->has_ev ? s->ev.is_whisper : 0;
}
unsigned chordb_slot_hops(const chordb_slot *s) {
  return s->hops;
}

const char *chordb_version(void) {
  return chord_version_string();
}
const char *chordb_err_name(int rc) {
  return chord_err_name(rc);
}
const char *chordb_strerror(int rc) {
  return chord_strerror(rc);
}
#define CHORDB_ERR_CODE(name, value, msg) CHORD_##name,
static const int chordb_err_codes[] = {CHORD_ERRNO_MAP(CHORDB_ERR_CODE)};
#undef CHORDB_ERR_CODE
int chordb_err_count(void) {
  return static_cast<int>(sizeof chordb_err_codes / sizeof chordb_err_codes[0]);
}
int chordb_err_code(int i) {
  return i >= 0 && i < chordb_err_count() ? chordb_err_codes[i] : 0;
}

/* nodes */

chordb_node *chordb_node_new(const chordb_opts *o, chordb_slot *st) {
  st->reset();
  if (!o) {
    st->fail(CHORD_EINVAL, "no options");
    return nullptr;
  }
  chord_node_opts c = o->o;
  c.listen = o->listen.c_str();
  c.advertise = o->advertise.empty() ? nullptr : o->advertise.c_str();
  c.network = o->network.empty() ? nullptr : o->network.c_str();
  c.identity_file = o->identity_file.empty() ? nullptr : o->identity_file.c_str();
  c.data_dir = o->data_dir.empty() ? nullptr : o->data_dir.c_str();
  c.network_key = o->key.empty() ? nullptr : o->key.data();
  c.network_key_len = o->key.size();
  chord_node *node = nullptr;
  int rc = chord_node_new(&node, &c);
  if (rc != 0) {
    st->done(rc);
    return nullptr;
  }
  auto *n = new chordb_node_s;
  n->node = node;
  const char *a = chord_node_addr(node);
  const char *h = chord_node_id_hex(node);
  n->addr = a ? a : "";
  n->id_hex = h ? h : "";
  chord_node_id(n->id, node);
  st->done(0);
  return n;
}

void chordb_node_close(chordb_node *n, int abort) {
  if (!n) return;
  std::unique_lock<std::mutex> g(n->mu);
  if (n->closing) {  // another thread closes it: wait until it is done
    n->cv.wait(g, [n] { return n->closed; });
    return;
  }
  n->closing = true;
  n->stop = true;
  for (chordb_queue *q : n->queues) chord_queue_close(q->q);
  n->cv.wait(g, [n] { return n->users == 0; });
  for (chordb_iter *it : n->iters) {
    chord_iter_free(it->it);
    it->it = nullptr;
  }
  // Queues stay allocated (closed) until chordb_queue_free: their fd stays valid
  // for a binding that still polls it (chord.h: a queue reports CHORD_ECLOSED
  // once its node is closed).
  chord_node *node = n->node;
  n->node = nullptr;
  g.unlock();
  if (abort)
    chord_node_abort(node);
  else
    chord_node_free(node);
  g.lock();
  n->closed = true;
  n->cv.notify_all();
}

void chordb_node_release(chordb_node *n) {
  if (n) unref(n);
}

int chordb_node_closed(const chordb_node *n) {
  return n->stop.load() ? 1 : 0;
}
const char *chordb_node_addr(const chordb_node *n) {
  return n->addr.c_str();
}
chordb_bytes chordb_node_id(const chordb_node *n) {
  return chordb_bytes{n->id, sizeof n->id};
}
const char *chordb_node_id_hex(const chordb_node *n) {
  return n->id_hex.c_str();
}

int chordb_node_stats(chordb_node *n, chordb_slot *st) {
  Call c(n, st);
  if (!c.ok) return st->rc;
  int rc = chord_node_stats_get(&st->stats, n->node);
  if (rc == 0) {
    st->key.assign(reinterpret_cast<const char *>(st->stats.successor_id), 32);
    if (st->stats.has_predecessor)
      st->value.assign(reinterpret_cast<const char *>(st->stats.predecessor_id), 32);
  }
  return st->done(rc);
}

long long chordb_slot_stat(const chordb_slot *s, const char *name) {
  const chord_node_stats &t = s->stats;
  std::string k = name ? name : "";
  auto ll = [](uint64_t v) { return static_cast<long long>(v); };
  if (k == "keys_stored") return ll(t.keys_stored);
  if (k == "keys_owned") return ll(t.keys_owned);
  if (k == "tombstones") return ll(t.tombstones);
  if (k == "msgs_sent") return ll(t.msgs_sent);
  if (k == "msgs_received") return ll(t.msgs_received);
  if (k == "bytes_sent") return ll(t.bytes_sent);
  if (k == "bytes_received") return ll(t.bytes_received);
  if (k == "connections") return t.connections;
  if (k == "successors") return t.successors;
  if (k == "has_predecessor") return t.has_predecessor;
  if (k == "lookups") return ll(t.lookups);
  if (k == "lookup_hops") return ll(t.lookup_hops);
  return -1;
}

int chordb_node_join(chordb_node *n, chordb_slot *st, const char *addr, int timeout_ms) {
  Call c(n, st);
  if (!c.ok) return st->rc;
  return st->done(chord_node_join(n->node, addr, timeout_ms));
}

int chordb_node_leave(chordb_node *n, chordb_slot *st, int timeout_ms) {
  Call c(n, st);
  if (!c.ok) return st->rc;
  return st->done(chord_node_leave(n->node, timeout_ms));
}

int chordb_get(chordb_node *n, chordb_slot *st, const uint8_t *key, size_t key_len,
               int timeout_ms) {
  Call c(n, st);
  if (!c.ok) return st->rc;
  chord_buf b{};
  int rc = chord_get(&b, n->node, nz(key), key_len, timeout_ms);
  st->hops = chord_last_hops();
  if (rc == 0) take_buf(st->value, b);
  return st->done(rc);
}

int chordb_set(chordb_node *n, chordb_slot *st, const uint8_t *key, size_t key_len,
               const uint8_t *value, size_t value_len, int timeout_ms) {
  Call c(n, st);
  if (!c.ok) return st->rc;
  int rc = chord_set(n->node, nz(key), key_len, nz(value), value_len, timeout_ms);
  st->hops = chord_last_hops();
  return st->done(rc);
}

int chordb_delete(chordb_node *n, chordb_slot *st, const uint8_t *key, size_t key_len,
                  int timeout_ms) {
  Call c(n, st);
  if (!c.ok) return st->rc;
  int rc = chord_delete(n->node, nz(key), key_len, timeout_ms);
  st->hops = chord_last_hops();
  return st->done(rc);
}

int chordb_pop(chordb_node *n, chordb_slot *st, const uint8_t *key, size_t key_len,
               int timeout_ms) {
  Call c(n, st);
  if (!c.ok) return st->rc;
  chord_buf b{};
  int rc = chord_pop(&b, n->node, nz(key), key_len, timeout_ms);
  st->hops = chord_last_hops();
  if (rc == 0) take_buf(st->value, b);
  return st->done(rc);
}

int chordb_popitem(chordb_node *n, chordb_slot *st, int timeout_ms) {
  Call c(n, st);
  if (!c.ok) return st->rc;
  chord_buf k{}, v{};
  int rc = chord_popitem(&k, &v, n->node, timeout_ms);
  st->hops = chord_last_hops();
  if (rc == 0) {
    take_buf(st->key, k);
    take_buf(st->value, v);
  }
  return st->done(rc);
}

int chordb_broadcast(chordb_node *n, chordb_slot *st, const uint8_t *data, size_t len,
                     int timeout_ms) {
  Call c(n, st);
  if (!c.ok) return st->rc;
  return st->done(chord_broadcast(n->node, nz(data), len, timeout_ms));
}

int chordb_whisper(chordb_node *n, chordb_slot *st, const uint8_t *to, size_t to_len,
                   const uint8_t *data, size_t len, int timeout_ms) {
  Call c(n, st);
  if (!c.ok) return st->rc;
  if (!to || to_len != 32) return st->fail(CHORD_EINVAL, "a node id is 32 bytes");
  return st->done(chord_whisper(n->node, to, nz(data), len, timeout_ms));
}

int chordb_recv(chordb_node *n, chordb_slot *st, int timeout_ms) {
  Call c(n, st);
  if (!c.ok) return st->rc;
  // Slices, so that close wakes a waiter: chord_recv has no other way to be woken.
  int left = timeout_ms < 0 ? -1 : timeout_ms;
  for (;;) {
    int slice = left < 0 ? kRecvSliceMs : std::max(1, std::min(left, kRecvSliceMs));
    chord_event ev{};
    int rc = chord_recv(&ev, n->node, slice);
    if (rc == 0) {
      st->take_event(ev);
      return st->done(0);
    }
    if (rc != CHORD_ETIMEDOUT) return st->done(rc);
    if (n->stop.load()) return st->fail(CHORD_ECLOSED, "the node was closed while waiting");
    if (left >= 0) {
      left -= slice;
      if (left <= 0) return st->fail(CHORD_ETIMEDOUT, "no message arrived in time");
    }
  }
}

int chordb_reply(chordb_node *n, const chordb_slot *msg, chordb_slot *st, const uint8_t *data,
                 size_t len, int timeout_ms) {
  Call c(n, st);
  if (!c.ok) return st->rc;
  if (!msg || !msg->has_ev || msg->ev.type != CHORD_EV_MESSAGE)
    return st->fail(CHORD_EINVAL, "not a received message");
  return st->done(chord_reply(n->node, &msg->ev, nz(data), len, timeout_ms));
}

/* queues */

chordb_queue *chordb_queue_new(chordb_node *n, chordb_slot *st, unsigned mask) {
  Call c(n, st);
  if (!c.ok) return nullptr;
  chord_queue *q = nullptr;
  int rc = chord_queue_new(&q, n->node, mask);
  if (rc != 0) {
    st->done(rc);
    return nullptr;
  }
  auto *bq = new chordb_queue_s;
  bq->n = n;
  bq->q = q;
  bq->fd = chord_queue_fd(q);
  std::lock_guard<std::mutex> g(n->mu);
  n->queues.push_back(bq);
  ++n->refs;
  st->done(0);
  return bq;
}

int chordb_queue_fd(const chordb_queue *q) {
  std::lock_guard<std::mutex> g(q->n->mu);
  return q->q ? q->fd : -1;
}

int chordb_queue_next(chordb_queue *q, chordb_slot *st, int timeout_ms) {
  chordb_node *n = q->n;
  st->reset();
  {
    std::lock_guard<std::mutex> g(n->mu);
    if (n->closing || !q->q) return st->fail(CHORD_ECLOSED, "the queue is closed");
    ++n->users;
    ++q->waiters;
  }
  chord_event ev{};
  int rc = chord_queue_next(&ev, q->q, timeout_ms);
  if (rc == 0) st->take_event(ev);
  {
    std::lock_guard<std::mutex> g(n->mu);
    --q->waiters;
    --n->users;
    n->cv.notify_all();
  }
  return st->done(rc);
}

void chordb_queue_close(chordb_queue *q) {
  std::lock_guard<std::mutex> g(q->n->mu);
  if (q->q) chord_queue_close(q->q);
}

void chordb_queue_free(chordb_queue *q) {
  if (!q) return;
  chordb_node *n = q->n;
  {
    std::unique_lock<std::mutex> g(n->mu);
    if (q->q) {
      chord_queue_close(q->q);
      n->cv.wait(g, [q] { return q->waiters == 0; });
      chord_queue_free(q->q);
      q->q = nullptr;
    }
    n->queues.erase(std::remove(n->queues.begin(), n->queues.end(), q), n->queues.end());
  }
  delete q;
  unref(n);
}

/* iterators */

chordb_iter *chordb_iter_new(chordb_node *n, chordb_slot *st, unsigned flags) {
  Call c(n, st);
  if (!c.ok) return nullptr;
  chord_iter *it = nullptr;
  int rc = chord_iter_new(&it, n->node, flags);
  if (rc != 0) {
    st->done(rc);
    return nullptr;
  }
  auto *bi = new chordb_iter_s;
  bi->n = n;
  bi->it = it;
  std::lock_guard<std::mutex> g(n->mu);
  n->iters.push_back(bi);
  ++n->refs;
  st->done(0);
  return bi;
}

int chordb_iter_next(chordb_iter *it, chordb_slot *st) {
  Call c(it->n, st);
  if (!c.ok) return st->rc;
  if (!it->it) return st->fail(CHORD_ECLOSED, "the iterator is closed");
  chord_item item{};
  int rc = chord_iter_next(&item, it->it);
  if (rc == 0) {
    st->key.assign(reinterpret_cast<const char *>(item.key), item.key_len);
    if (item.value) st->value.assign(reinterpret_cast<const char *>(item.value), item.value_len);
  }
  return st->done(rc);
}

void chordb_iter_free(chordb_iter *it) {
  if (!it) return;
  chordb_node *n = it->n;
  {
    std::lock_guard<std::mutex> g(n->mu);
    if (it->it) chord_iter_free(it->it);
    it->it = nullptr;
    n->iters.erase(std::remove(n->iters.begin(), n->iters.end(), it), n->iters.end());
  }
  delete it;
  unref(n);
}

}  // extern "C"
