// SPDX-License-Identifier: MIT
// Loops and nodes: creation, joining, leaving, freeing, introspection.
#include <sodium.h>

#include <chrono>
#include <thread>

#include "capi/handles.hpp"
#include "core/ring.hpp"
#include "crypto/identity.hpp"
#include "net/address.hpp"
#include "store/lmdb_store.hpp"

using chord::capi::fail;
namespace core = chord::core;
namespace net = chord::net;

namespace chord::capi {

void node_unref(chord_node *n) {
  if (n->refs.fetch_sub(1) == 1) delete n;
}

bool run_on_loop(chord_node *n, const std::function<void()> &fn) {
  if (n->loop->on_loop_thread()) {
    fn();
    return true;
  }
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  bool posted = n->loop->post([&] {
    fn();
    std::lock_guard<std::mutex> lk(mu);
    done = true;
    cv.notify_all();
  });
  if (!posted) return false;
  std::unique_lock<std::mutex> lk(mu);
  cv.wait(lk, [&] { return done; });
  return true;
}

namespace {

// Finishes every pending operation with CHORD_ECLOSED, closes the host's
// handles and destroys it. Loop thread. done runs once everything is closed.
void teardown(chord_node *n, bool graceful, std::function<void()> done) {
  n->hub->close();
  auto pending = std::move(n->pending);
  n->pending.clear();
  for (auto &p : pending) p.second();
  if (!n->host) {
    done();
    return;
  }
  net::Loop *loop = n->loop;
  n->host->close(graceful, [n, loop, done]() {
    // Destroy the host outside its own close callback.
    loop->post([n, done] {
      n->host.reset();
      done();
    });
  });
}

void release_loop(chord_node *n) {
  if (n->own_loop) {
    n->own_loop.reset();  // joins the thread
  } else {
    n->loop->users.fetch_sub(1);
  }
}

// The whole shutdown, off the loop thread.
void close_node(chord_node *n, bool graceful) {
  if (n->closed.exchange(true)) return;
  if (graceful && n->host) {
    uint32_t t = std::min<uint32_t>(n->default_timeout_ms, 10000);
    // leave() hands the node's keys over; it is bounded by t.
    std::mutex mu;
    std::condition_variable cv;
    bool left = false;
    bool posted = n->loop->post([&, n] {
      auto finish = [&]() {
        std::lock_guard<std::mutex> lk(mu);
        left = true;
        cv.notify_all();
      };
      if (!n->host) return finish();
      n->host->node().leave(t, [finish](core::Result &&) { finish(); });
    });
    if (posted) {
      std::unique_lock<std::mutex> lk(mu);
      cv.wait_for(lk, std::chrono::milliseconds(t + 2000), [&] { return left; });
      // On a (buggy) missing completion we go on: the references above live
      // until the loop runs the task, so wait for the loop to be past it.
      if (!left) run_on_loop(n, [] {});
    }
  }
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  bool posted = n->loop->post([&, n] {
    teardown(n, graceful, [&] {
      std::lock_guard<std::mutex> lk(mu);
      done = true;
      cv.notify_all();
    });
  });
  if (posted) {
    std::unique_lock<std::mutex> lk(mu);
    cv.wait(lk, [&] { return done; });
  }
  n->inbox->close();
  release_loop(n);
  node_unref(n);
}

// chord_node_free from a callback on the loop thread: nothing may block, so
// the leave and teardown run as loop tasks, and the node's own loop (which is
// this very thread) is joined from a helper thread.
void close_node_deferred(chord_node *n, bool graceful) {
  if (n->closed.exchange(true)) return;
  auto finish = [n] {
    n->inbox->close();
    if (n->own_loop) {
      std::thread([n] {
        release_loop(n);
        node_unref(n);
      }).detach();
    } else {
      release_loop(n);
      node_unref(n);
    }
  };
  n->loop->post([n, graceful, finish] {
    if (graceful && n->host) {
      uint32_t t = std::min<uint32_t>(n->default_timeout_ms, 10000);
      n->host->node().leave(t, [n, finish](core::Result &&) {
        n->loop->post([n, finish] { teardown(n, true, finish); });
      });
    } else {
      teardown(n, graceful, finish);
    }
  });
}

}  // namespace
}  // namespace chord::capi

using namespace chord::capi;

namespace {

// chord_node_opts checked and turned into the transport's configuration,
// the identity loaded or made. 0, or a CHORD_E* code with the detail set.
int config_from_opts(const chord_node_opts *opts, net::HostConfig &cfg,
                     std::string &identity_warning) {
  core::Options &co = cfg.core;
  // Zero fields are defaults; core::Options holds them and their bounds.
  co.replicas = opts->replicas;
  co.successors = opts->successors;
  co.stabilize_ms = opts->stabilize_ms;
  co.fix_fingers_ms = opts->fix_fingers_ms;
  co.check_predecessor_ms = opts->check_predecessor_ms;
  co.rpc_timeout_ms = opts->rpc_timeout_ms;
  co.anti_entropy_ms = opts->anti_entropy_ms;
  co.tombstone_grace_ms = opts->tombstone_grace_ms;
  co.max_key_bytes = opts->max_key_bytes;
  co.max_value_bytes = opts->max_value_bytes;
  co.max_pending = opts->max_pending;
  co.client = (opts->flags & CHORD_NODE_CLIENT) != 0;
  co.sloppy_quorum = (opts->flags & CHORD_NODE_SLOPPY_QUORUM) != 0;
  if (opts->flags & ~static_cast<unsigned>(CHORD_NODE_CLIENT | CHORD_NODE_SLOPPY_QUORUM))
    return fail(CHORD_EINVAL, "unknown bits in flags");
  // Fields of version 2 and later exist only in structs of that version.
  co.max_clock_skew_ms = opts->version >= 2 ? opts->max_clock_skew_ms : 0;
  co.max_store_bytes = opts->version >= 3 ? opts->max_store_bytes : 0;
  cfg.max_output_bytes = opts->version >= 3 ? opts->max_output_bytes : 0;
  const std::string invalid = co.validate();
  if (!invalid.empty()) return fail(CHORD_EINVAL, invalid);
  co = co.with_defaults();
  // A quiet ring slows its maintenance down to one round per 8 s (never
  // below the configured periods): src/net reports a lost connection at once,
  // so a crashed process is noticed without the timers.
  co.calm_max_ms = 8000;
  cfg.limits.max_key = co.max_key_bytes;
  cfg.limits.max_value = co.max_value_bytes;
  cfg.limits.max_frame =
      opts->max_frame_bytes ? opts->max_frame_bytes : co.max_value_bytes + co.max_key_bytes + 65536;
  if (cfg.limits.max_frame < co.max_value_bytes + co.max_key_bytes + 1024)
    return fail(CHORD_EINVAL, "max_frame_bytes must exceed max_key_bytes + max_value_bytes + 1024");
  // The transport's defaults are HostConfig's (src/net/node_host.hpp).
  if (opts->max_connections) cfg.max_connections = opts->max_connections;
  if (opts->handshake_timeout_ms) cfg.handshake_timeout_ms = opts->handshake_timeout_ms;
  cfg.network = opts->network ? opts->network : "chord";
  if (cfg.network.empty() || cfg.network.size() > 255)
    return fail(CHORD_EINVAL, "network name must be 1 to 255 bytes");
  if (opts->network_key || opts->network_key_len) {
    if (!opts->network_key || opts->network_key_len != 32)
      return fail(CHORD_EINVAL, "network_key must be exactly 32 bytes");
    std::array<uint8_t, 32> k;
    std::memcpy(k.data(), opts->network_key, 32);
    cfg.network_key = k;
  }
  cfg.listen = opts->listen ? opts->listen : "127.0.0.1:0";
  std::string why;
  net::Address parsed;
  if (!co.client && net::parse_address(cfg.listen, true, parsed, why) != 0)
    return fail(CHORD_EINVAL, "listen: " + why);
  if (opts->advertise) {
    cfg.advertise = opts->advertise;
    if (cfg.advertise.size() > chord::wire::kMaxAddr)
      return fail(CHORD_EINVAL,
                  "advertise: longer than " + std::to_string(chord::wire::kMaxAddr) + " bytes");
    if (net::parse_address(cfg.advertise, false, parsed, why) != 0)
      return fail(CHORD_EINVAL, "advertise: " + why);
  }
  // Version 4: a data folder. It is opened (and locked) before anything in
  // it is read, so that a second node on it stops here with CHORD_EBUSY.
  const char *data_dir = opts->version >= 4 ? opts->data_dir : nullptr;
  const unsigned sync = opts->version >= 4 ? opts->sync : unsigned{CHORD_SYNC_DURABLE};
  if (sync != CHORD_SYNC_DURABLE && sync != CHORD_SYNC_RELAXED)
    return fail(CHORD_EINVAL, "sync must be CHORD_SYNC_DURABLE or CHORD_SYNC_RELAXED");
  if (data_dir && !*data_dir)
    return fail(CHORD_EINVAL, "data_dir is empty (NULL keeps the records in memory)");
  if (data_dir && co.client)
    return fail(CHORD_EINVAL, "a light client stores nothing: it takes no data_dir");
  if (data_dir) {
    chord::store::LmdbOptions lo;
    // docs/storage.md, "The choice": durable commits with two fdatasyncs,
    // relaxed with one (a power loss may undo the last commit).
    lo.sync =
        sync == CHORD_SYNC_RELAXED ? chord::store::Sync::no_meta_sync : chord::store::Sync::full;
    chord::store::Opened o = chord::store::open_lmdb_store(data_dir, lo);
    if (!o.store) {
      std::string d = o.error;
      if (d.find(data_dir) == std::string::npos)
        d = "data folder " + std::string(data_dir) + ": " + d;
      return fail(o.status == chord::kBusy ? CHORD_EBUSY : CHORD_EIO, d);
    }
    cfg.store = std::move(o.store);
    cfg.data_dir = data_dir;
  }
  // The identity: identity_file if given, else the data folder's own, so
  // that a durable node comes back with its ring id (and its range).
  std::string identity_file = opts->identity_file ? opts->identity_file : "";
  if (identity_file.empty() && data_dir) identity_file = std::string(data_dir) + "/identity";
  cfg.identity = std::make_shared<chord::crypto::Identity>();
  if (!identity_file.empty()) {
    int rc = chord::crypto::identity_load_or_create(identity_file, *cfg.identity, why,
                                                    &identity_warning);
    if (rc != 0) return fail(rc, "identity file " + identity_file + ": " + why);
  } else if (chord::crypto::identity_generate(*cfg.identity) != 0) {
    return fail(CHORD_EINTERNAL, "cannot generate an identity key");
  }
  cfg.log_level = opts->log_level;
  return CHORD_OK;
}

// The transport's hooks into the node's handle: logs to log_cb, events and
// connects to the node's event hub (held weakly: the hub may go first).
void hook_up(chord_node *n, net::HostConfig &cfg) {
  if (n->log_cb) {
    chord_log_cb cb = n->log_cb;
    void *ud = n->log_ud;
    cfg.log = [cb, ud](int level, const std::string &line) { cb(level, line.c_str(), ud); };
  }
  std::weak_ptr<Hub> hubw = n->hub;
  cfg.wants_key_events = [hubw] {
    auto hub = hubw.lock();
    return hub && hub->key_listeners.load() > 0;
  };
  cfg.on_event = [hubw](core::Event &&ev) {
    auto hub = hubw.lock();
    if (!hub) return;
    chord_event ce;
    std::memset(&ce, 0, sizeof ce);
    ce.type = static_cast<int>(ev.type);
    ce.key.data = ev.key.data();
    ce.key.len = ev.key.size();
    ce.data.data = ev.data.data();
    ce.data.len = ev.data.size();
    std::memcpy(ce.peer_id, ev.sender.id.data(), 32);
    std::snprintf(ce.peer_addr, sizeof ce.peer_addr, "%s", ev.sender.addr.c_str());
    ce.is_whisper = ev.whisper ? 1 : 0;
    hub->dispatch(ce);
  };
  cfg.on_connect = [hubw](const core::Peer &p) {
    auto hub = hubw.lock();
    if (!hub) return;
    chord_event ce;
    std::memset(&ce, 0, sizeof ce);
    ce.type = CHORD_EV_CONNECT;
    std::memcpy(ce.peer_id, p.id.data(), 32);
    std::snprintf(ce.peer_addr, sizeof ce.peer_addr, "%s", p.addr.c_str());
    hub->dispatch(ce);
  };
}

// Closes whatever start() opened, waits for it on the loop thread, then
// frees the handle: a node that never started.
void abandon(chord_node *n) {
  // Close whatever start() opened, then free.
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  n->loop->post([&, n] {
    teardown(n, false, [&] {
      std::lock_guard<std::mutex> lk(mu);
      done = true;
      cv.notify_all();
    });
  });
  {
    std::unique_lock<std::mutex> lk(mu);
    cv.wait(lk, [&] { return done; });
  }
  release_loop(n);
  delete n;
}

}  // namespace

extern "C" {

int chord_loop_new(chord_loop **out) {
  return chord::capi::guarded([&]() -> int {
    if (!out) return fail(CHORD_EINVAL, "out is NULL");
    *out = nullptr;
    auto *l = new (std::nothrow) chord_loop_s;
    if (!l) return fail(CHORD_ENOMEM, "cannot allocate a loop");
    l->loop = std::make_unique<net::Loop>();
    if (l->loop->start() != 0) {
      delete l;
      return fail(CHORD_EIO, "cannot start the loop thread");
    }
    *out = l;
    clear_error();
    return CHORD_OK;
  });
}

int chord_loop_free(chord_loop *loop) {
  return chord::capi::guarded([&]() -> int {
    if (!loop) return CHORD_OK;
    if (loop->loop->on_loop_thread())
      return fail(CHORD_EINVAL, "chord_loop_free called from its own loop thread");
    if (loop->loop->users.load() > 0)
      return fail(CHORD_EBUSY,
                  std::to_string(loop->loop->users.load()) + " node(s) still use this loop");
    delete loop;
    clear_error();
    return CHORD_OK;
  });
}

void chord_node_opts_init(chord_node_opts *opts) {
  chord::capi::guarded_void([&] {
    if (!opts) return;
    chord_node_opts o = CHORD_NODE_OPTS_INIT;
    *opts = o;
  });
}

int chord_node_new(chord_node **out, const chord_node_opts *opts) {
  return chord::capi::guarded([&]() -> int {
    if (!out) return fail(CHORD_EINVAL, "out is NULL");
    *out = nullptr;
    if (!opts) return fail(CHORD_EINVAL, "opts is NULL");
    if (opts->version == 0 || opts->version > CHORD_NODE_OPTS_VERSION)
      return fail(CHORD_EINVAL, "opts->version " + std::to_string(opts->version) +
                                    " is not supported; start from CHORD_NODE_OPTS_INIT");
    if (chord::crypto::init() != 0) return fail(CHORD_EINTERNAL, "libsodium failed to initialize");

    net::HostConfig cfg;
    std::string identity_warning;
    if (int rc = config_from_opts(opts, cfg, identity_warning)) return rc;
    const core::Options &co = cfg.core;

    auto *n = new (std::nothrow) chord_node_s;
    if (!n) return fail(CHORD_ENOMEM, "cannot allocate a node");
    if (opts->default_timeout_ms) n->default_timeout_ms = opts->default_timeout_ms;
    n->max_key = co.max_key_bytes;
    n->max_value = co.max_value_bytes;
    n->client = co.client;
    n->durable = cfg.store != nullptr;
    n->log_cb = opts->log_cb;
    n->log_ud = opts->log_ud;
    std::memcpy(n->id, cfg.identity->id.data(), 32);
    n->id_hex = core::hex(cfg.identity->id);
    n->inbox = std::make_shared<Queue>(CHORD_EV_MESSAGE, 10000);
    n->hub->queues.push_back(n->inbox);
    if (opts->loop) {
      n->loop = opts->loop->loop.get();
      n->loop->users.fetch_add(1);
    } else {
      n->own_loop = std::make_unique<net::Loop>();
      if (n->own_loop->start() != 0) {
        delete n;
        return fail(CHORD_EIO, "cannot start the loop thread");
      }
      n->loop = n->own_loop.get();
    }
    hook_up(n, cfg);

    int rc = CHORD_OK;
    std::string err;
    run_on_loop(n, [&] {
      n->host = std::make_unique<net::NodeHost>(*n->loop, std::move(cfg));
      rc = n->host->start(err);
      if (rc == 0) n->addr = n->host->addr();
      if (rc == 0) n->remembered = n->host->remembered_members();
      if (rc == 0 && !identity_warning.empty()) n->host->log(CHORD_LOG_WARN, identity_warning);
    });
    if (rc != 0) {
      abandon(n);
      return fail(rc, err);
    }
    *out = n;
    clear_error();
    return CHORD_OK;
  });
}

// addr NULL or "": a, the empty string, stands for the remembered members.
static int join_start(chord_node *node, const char *addr, std::string &a) {
  if (!node) return fail(CHORD_EINVAL, "node is NULL");
  if (!addr || !*addr) {
    if (!node->durable)
      return fail(CHORD_EINVAL, "no address to join, and no data_dir whose members to rejoin");
    if (node->remembered.empty())
      return fail(CHORD_ENOTFOUND,
                  "no address to join, and the data folder remembers no member yet");
    if (node->closed.load()) return fail(CHORD_ECLOSED, "the node is closed");
    a.clear();
    return CHORD_OK;
  }
  net::Address parsed;
  std::string why;
  if (net::parse_address(addr, false, parsed, why) != 0) return fail(CHORD_EINVAL, why);
  if (node->closed.load()) return fail(CHORD_ECLOSED, "the node is closed");
  a = parsed.text;
  return CHORD_OK;
}

// Explains a failed join with what the transport saw when dialling.
static std::function<void(core::Node &, std::function<void(core::Result &&)>)> join_op(
    chord_node *node, const std::string &a, uint32_t t) {
  return [node, a, t](core::Node &cn, std::function<void(core::Result &&)> done) {
    cn.join(a, t, [node, a, done](core::Result &&r) {
      if (r.status != 0 && node->host) {
        auto f = node->host->dial_failure(a);
        if (f && (f->first == CHORD_EREFUSED || r.status == CHORD_ETIMEDOUT ||
                  r.status == CHORD_EUNREACHABLE)) {
          r.status = f->first == CHORD_EINVAL ? CHORD_EUNREACHABLE : f->first;
          r.detail = f->second;
        }
      }
      done(std::move(r));
    });
  };
}

// Joins through each remembered member in turn, from the i-th, until one
// works or the deadline passes; reports the last failure. Loop thread.
static void join_remembered(chord_node *node, size_t i, std::chrono::steady_clock::time_point until,
                            core::Result last, std::function<void(core::Result &&)> done) {
  const auto now = std::chrono::steady_clock::now();
  if (i >= node->remembered.size() || now >= until || !node->host) {
    if (last.status == 0) {
      last.status = CHORD_ETIMEDOUT;
      last.detail = "no remembered member answered in time";
    }
    return done(std::move(last));
  }
  // Each member left gets an equal share of the time left: a join through a
  // dead address may wait out its whole timeout rather than fail at once.
  const long long left =
      std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count() /
      static_cast<long long>(node->remembered.size() - i);
  const std::string a = node->remembered[i];
  join_op(node, a, static_cast<uint32_t>(std::max<long long>(1, left)))(
      node->host->node(), [node, i, until, done, a](core::Result &&r) {
        if (r.status == 0 || r.status == CHORD_EBUSY || r.status == CHORD_ECLOSED)
          return done(std::move(r));
        r.detail = "remembered member " + a + ": " + (r.detail.empty() ? "join failed" : r.detail);
        join_remembered(node, i + 1, until, std::move(r), done);
      });
}

// The join of chord_node_join(_async): through a, or the remembered members.
static Start join_any(chord_node *node, const std::string &a, uint32_t t) {
  if (!a.empty()) return join_op(node, a, t);
  return [node, t](core::Node &, std::function<void(core::Result &&)> done) {
    join_remembered(node, 0, std::chrono::steady_clock::now() + std::chrono::milliseconds(t),
                    core::Result{}, std::move(done));
  };
}

int chord_node_join(chord_node *node, const char *addr, int timeout_ms) {
  return chord::capi::guarded([&]() -> int {
    std::string a;
    if (int rc = join_start(node, addr, a)) return rc;
    uint32_t t = timeout_of(node, timeout_ms);
    core::Result r = run_blocking<core::Result>(node, t, join_any(node, a, t));
    if (r.status != 0) return fail(r.status, r.detail.empty() ? "join failed" : r.detail);
    clear_error();
    return CHORD_OK;
  });
}

int chord_node_join_async(chord_node *node, const char *addr, int timeout_ms, chord_result_cb cb,
                          void *ud) {
  return chord::capi::guarded([&]() -> int {
    std::string a;
    if (int rc = join_start(node, addr, a)) return rc;
    return async_call(node, join_any(node, a, timeout_of(node, timeout_ms)), cb, ud);
  });
}

int chord_node_leave(chord_node *node, int timeout_ms) {
  return chord::capi::guarded([&]() -> int {
    if (!node) return fail(CHORD_EINVAL, "node is NULL");
    uint32_t t = timeout_of(node, timeout_ms);
    core::Result r = run_blocking<core::Result>(
        node, t,
        [t](core::Node &cn, std::function<void(core::Result &&)> done) { cn.leave(t, done); });
    if (r.status != 0) return fail(r.status, r.detail.empty() ? "leave failed" : r.detail);
    clear_error();
    return CHORD_OK;
  });
}

// chord_node_free (graceful) and chord_node_abort (as a crash), from any
// thread: on the loop thread the close is deferred past the current callback.
static void close_from_anywhere(chord_node *node, bool graceful) {
  chord::capi::guarded_void([&] {
    if (!node) return;
    if (node->loop->on_loop_thread())
      close_node_deferred(node, graceful);
    else
      close_node(node, graceful);
  });
}

void chord_node_free(chord_node *node) {
  close_from_anywhere(node, true);
}

void chord_node_abort(chord_node *node) {
  close_from_anywhere(node, false);
}

const char *chord_node_addr(const chord_node *node) {
  return node ? node->addr.c_str() : "";
}

int chord_node_id(uint8_t out[32], const chord_node *node) {
  return chord::capi::guarded([&]() -> int {
    if (!out || !node) return fail(CHORD_EINVAL, out ? "node is NULL" : "out is NULL");
    std::memcpy(out, node->id, 32);
    return CHORD_OK;
  });
}

const char *chord_node_id_hex(const chord_node *node) {
  return node ? node->id_hex.c_str() : "";
}

int chord_node_stats_get(chord_node_stats *out, chord_node *node) {
  return chord::capi::guarded([&]() -> int {
    if (!out || !node) return fail(CHORD_EINVAL, out ? "node is NULL" : "out is NULL");
    std::memset(out, 0, sizeof *out);
    if (node->closed.load()) return fail(CHORD_ECLOSED, "the node is closed");
    bool have = false;
    bool ok = run_on_loop(node, [&] {
      if (!node->host) return;
      core::Stats s = node->host->node().stats();
      net::HostStats hs = node->host->stats();
      out->keys_stored = s.keys_stored;
      out->keys_owned = s.keys_owned;
      out->tombstones = s.tombstones;
      out->msgs_sent = s.msgs_sent;
      out->msgs_received = s.msgs_received;
      out->bytes_sent = hs.bytes_sent;
      out->bytes_received = hs.bytes_received;
      out->connections = hs.connections;
      out->successors = static_cast<unsigned>(s.successors.size());
      out->has_predecessor = s.predecessor ? 1 : 0;
      if (!s.successors.empty())
        std::memcpy(out->successor_id, s.successors[0].id.data(), 32);
      else
        std::memcpy(out->successor_id, node->id, 32);
      if (s.predecessor) std::memcpy(out->predecessor_id, s.predecessor->id.data(), 32);
      out->lookups = s.lookups;
      out->lookup_hops = s.lookup_hops;
      have = true;
    });
    if (!ok || !have) return fail(CHORD_ECLOSED, "the node is closed");
    clear_error();
    return CHORD_OK;
  });
}

}  // extern "C"
