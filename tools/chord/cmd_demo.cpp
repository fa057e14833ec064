// SPDX-License-Identifier: MIT
// `chord demo`: the README's first command. It starts a ring of nodes in this
// process on 127.0.0.1 (real TCP, real handshakes, encrypted links), uses the
// dictionary through different nodes, shows an event, crashes a node and
// shows that every key survived.
#include <chord/chord.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cli_app.hpp"
#include "commands.hpp"
#include "exit_status.hpp"
#include "latency_stats.hpp"
#include "progress.hpp"
#include "ring_stability.hpp"

namespace chord::cli {

namespace {

using Clock = std::chrono::steady_clock;

// Short maintenance periods, so that joins and repairs finish in a blink.
constexpr unsigned kStabilizeMs = 100;
constexpr unsigned kFixFingersMs = 100;
constexpr unsigned kCheckPredecessorMs = 100;
constexpr unsigned kRpcTimeoutMs = 300;
constexpr unsigned kAntiEntropyMs = 1000;
constexpr int kOpTimeoutMs = 5000;
constexpr int kJoinTimeoutMs = 10000;
constexpr int kSettleDeadlineMs = 20000;

constexpr size_t kHelpColumn = 15;  // after "  --nodes N    "

const char kAbout[] =
    "Starts a ring of N nodes (default 8) inside this process on 127.0.0.1, each\n"
    "with its own port, identity and encrypted links, and then:\n"
    "  1. waits until the ring is stable (every successor is the next id);\n"
    "  2. stores K keys (default 200), each through a different node, and reads\n"
    "     them back through others, printing routing hops and latencies;\n"
    "  3. subscribes one node to 'add' events and shows one arriving;\n"
    "  4. crashes a node without a goodbye, waits for the ring to repair, and\n"
    "     checks that every key is still there with its value.\n"
    "Exit status: 0 when every key survived, 1 when some were lost, 2+ errors.\n";

const char kFooter[] =
    "examples:\n"
    "  chord demo\n"
    "  chord demo --nodes 16 --keys 1000\n";

struct DemoArgs {
  unsigned nodes = 8;   // --nodes N
  unsigned keys = 200;  // --keys K
};

double micros_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

long millis_since(Clock::time_point t0) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());
}

std::string key_of(size_t i) {
  char b[32];
  std::snprintf(b, sizeof b, "key-%05zu", i);
  return b;
}

std::string value_of(size_t i) {
  char b[48];
  std::snprintf(b, sizeof b, "value of key %zu", i);
  return b;
}

const uint8_t *bytes_of(const std::string &s) {
  return reinterpret_cast<const uint8_t *>(s.data());
}

std::string short_id(chord_node *n) {
  return std::string(chord_node_id_hex(n)).substr(0, 8);
}

// Waits for an add event of one key, delivered on the loop thread.
struct AddWaiter {
  std::string key;
  std::mutex mu;
  std::condition_variable cv;
  bool seen = false;

  static void on_event(const chord_event *ev, void *ud) {
    auto *w = static_cast<AddWaiter *>(ud);
    if (ev->type != CHORD_EV_ADD || ev->key.len != w->key.size() ||
        std::memcmp(ev->key.data, w->key.data(), ev->key.len) != 0) {
      return;
    }
    std::lock_guard<std::mutex> lock(w->mu);
    w->seen = true;
    w->cv.notify_all();
  }
};

// The demo ring and its teardown.
struct DemoRing {
  chord_loop *loop = nullptr;
  std::vector<chord_node *> nodes;  // NULL once crashed
  ~DemoRing() {
    for (chord_node *n : nodes) chord_node_free(n);
    chord_loop_free(loop);
  }
  std::vector<chord_node *> alive() const {
    std::vector<chord_node *> a;
    for (chord_node *n : nodes) {
      if (n) a.push_back(n);
    }
    return a;
  }
};

bool wait_stable(const std::vector<chord_node *> &nodes, int deadline_ms) {
  auto t0 = Clock::now();
  while (!ring_is_stable(nodes)) {
    if (millis_since(t0) > deadline_ms) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// Reads every key through the given nodes in turn. Returns how many had the
// right value.
size_t count_intact(const std::vector<chord_node *> &via, size_t keys) {
  size_t ok = 0;
  for (size_t i = 0; i < keys; ++i) {
    chord_buf v = {nullptr, 0};
    std::string want = value_of(i), k = key_of(i);
    if (chord_get(&v, via[i % via.size()], bytes_of(k), k.size(), kOpTimeoutMs) == 0 &&
        v.len == want.size() && std::memcmp(v.data, want.data(), v.len) == 0) {
      ++ok;
    }
    chord_buf_dispose(&v);
  }
  return ok;
}

uint64_t copies_held(const std::vector<chord_node *> &nodes) {
  uint64_t sum = 0;
  for (chord_node *n : nodes) {
    chord_node_stats st;
    if (chord_node_stats_get(&st, n) == 0) sum += st.keys_stored;
  }
  return sum;
}

void print_latency(const char *what, const LatencyStats &lat, double hops) {
  std::printf("   %s latency p50 %.0f µs, p99 %.0f µs; mean routing hops %.2f\n", what,
              lat.percentile(50), lat.percentile(99), hops);
}

int run_demo(const DemoArgs &args) {
  const size_t N = args.nodes, K = args.keys;
  auto demo_start = Clock::now();

  std::printf("chord demo: a ring of %zu nodes in this process, on 127.0.0.1, over encrypted TCP\n",
              N);
  std::printf("(maintenance every %u ms, so that repairs show up quickly)\n\n", kStabilizeMs);
  std::fflush(stdout);

  DemoRing ring;
  int rc = chord_loop_new(&ring.loop);
  if (rc != 0) return report_failure("demo", "cannot start a loop thread", rc);

  // 1. Start the nodes; each joins through the first.
  std::printf("1. Starting %zu nodes; each joins the ring through node 0\n", N);
  auto t_boot = Clock::now();
  for (size_t i = 0; i < N; ++i) {
    chord_node_opts o = CHORD_NODE_OPTS_INIT;
    o.listen = "127.0.0.1:0";
    o.network = "chord-demo";
    o.loop = ring.loop;
    o.stabilize_ms = kStabilizeMs;
    o.fix_fingers_ms = kFixFingersMs;
    o.check_predecessor_ms = kCheckPredecessorMs;
    o.rpc_timeout_ms = kRpcTimeoutMs;
    o.anti_entropy_ms = kAntiEntropyMs;
    chord_node *n = nullptr;
    rc = chord_node_new(&n, &o);
    if (rc != 0) return report_failure("demo", "cannot start node " + std::to_string(i), rc);
    ring.nodes.push_back(n);
    if (i > 0) {
      rc = chord_node_join(n, chord_node_addr(ring.nodes[0]), kJoinTimeoutMs);
      if (rc != 0) return report_failure("demo", "node " + std::to_string(i) + " cannot join", rc);
    }
    std::printf("   node %zu  %-21s id %s…\n", i, chord_node_addr(n), short_id(n).c_str());
  }
  if (!wait_stable(ring.nodes, kSettleDeadlineMs)) {
    std::fprintf(stderr, "chord demo: the ring did not stabilize within %d ms\n",
                 kSettleDeadlineMs);
    return kExitNetwork;
  }
  std::printf("   the ring is stable after %ld ms: every node's successor is the next id\n\n",
              millis_since(t_boot));
  std::fflush(stdout);

  // 2. Store keys, each through a different node.
  std::printf(
      "2. Storing %zu keys (\"key-00000\" = \"value of key 0\", ...), each through\n"
      "   a different node; a key lives on its successor and the next 2 nodes\n",
      K);
  LatencyStats set_lat, get_lat;
  double set_hops = 0, get_hops = 0;
  {
    Progress progress("   storing", K);
    for (size_t i = 0; i < K; ++i) {
      std::string k = key_of(i), v = value_of(i);
      auto t0 = Clock::now();
      rc = chord_set(ring.nodes[i % N], bytes_of(k), k.size(), bytes_of(v), v.size(), kOpTimeoutMs);
      set_lat.add(micros_since(t0));
      set_hops += chord_last_hops();
      if (rc != 0) return report_failure("demo", "set " + k, rc);
      progress.update(i + 1);
    }
  }
  print_latency("set", set_lat, set_hops / K);

  // Read back through other nodes.
  size_t read_ok = 0;
  {
    Progress progress("   reading", K);
    for (size_t i = 0; i < K; ++i) {
      std::string k = key_of(i), want = value_of(i);
      chord_buf v = {nullptr, 0};
      auto t0 = Clock::now();
      rc = chord_get(&v, ring.nodes[(i + N / 2 + 1) % N], bytes_of(k), k.size(), kOpTimeoutMs);
      get_lat.add(micros_since(t0));
      get_hops += chord_last_hops();
      if (rc == 0 && v.len == want.size() && std::memcmp(v.data, want.data(), v.len) == 0) {
        ++read_ok;
      }
      chord_buf_dispose(&v);
      progress.update(i + 1);
    }
  }
  std::printf("   read back through other nodes: %zu/%zu with the right value\n", read_ok, K);
  print_latency("get", get_lat, get_hops / K);
  std::printf("   (Chord needs about ½·log2(N) = %.1f hops on average for N = %zu)\n\n",
              0.5 * std::log2(static_cast<double>(N)), N);
  std::fflush(stdout);

  // 3. An add event reaching a subscriber.
  size_t watcher = N - 1, writer = 1;
  std::printf("3. Node %zu subscribes to 'add' events; node %zu sets \"hello\" = \"world\"\n",
              watcher, writer);
  AddWaiter waiter;
  waiter.key = "hello";
  chord_sub *sub = nullptr;
  rc = chord_subscribe(&sub, ring.nodes[watcher], CHORD_EV_ADD, AddWaiter::on_event, &waiter,
                       nullptr);
  if (rc != 0) return report_failure("demo", "subscribe", rc);
  auto t_event = Clock::now();
  rc = chord_set(ring.nodes[writer], bytes_of("hello"), 5, bytes_of("world"), 5, kOpTimeoutMs);
  if (rc != 0) {
    chord_sub_free(sub);
    return report_failure("demo", "set hello", rc);
  }
  bool seen;
  {
    std::unique_lock<std::mutex> lock(waiter.mu);
    seen = waiter.cv.wait_for(lock, std::chrono::seconds(5), [&] { return waiter.seen; });
  }
  chord_sub_free(sub);
  if (seen) {
    std::printf("   node %zu saw: add \"hello\" (%.1f ms after the set began)\n\n", watcher,
                micros_since(t_event) / 1000.0);
  } else {
    std::printf("   node %zu did not see the add event within 5 s\n\n", watcher);
  }
  std::fflush(stdout);

  // 4. Crash a node.
  size_t victim = N / 2;
  chord_node_stats vst;
  chord_node_stats_get(&vst, ring.nodes[victim]);
  uint64_t copies_before = copies_held(ring.nodes);
  std::printf("4. Crashing node %zu (%s, id %s…) without a goodbye; it held %llu keys\n", victim,
              chord_node_addr(ring.nodes[victim]), short_id(ring.nodes[victim]).c_str(),
              static_cast<unsigned long long>(vst.keys_stored));
  auto t_crash = Clock::now();
  chord_node_abort(ring.nodes[victim]);
  ring.nodes[victim] = nullptr;
  std::vector<chord_node *> alive = ring.alive();
  std::fflush(stdout);

  // 5. Wait for repair: a stable ring of the survivors and every key readable.
  std::printf("5. Waiting for the survivors to repair the ring...\n");
  std::fflush(stdout);
  bool stable = wait_stable(alive, kSettleDeadlineMs);
  long stable_ms = millis_since(t_crash);
  size_t intact = 0;
  while (stable) {
    intact = count_intact(alive, K);
    if (intact == K || millis_since(t_crash) > kSettleDeadlineMs) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (stable) {
    std::printf(
        "   the survivors' ring was whole again %ld ms after the crash; every key\n"
        "   was readable again after %ld ms\n",
        stable_ms, millis_since(t_crash));
  } else {
    std::printf("   the ring did not repair within %d ms\n", kSettleDeadlineMs);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(2 * kAntiEntropyMs));
  std::printf("   copies held across the ring: %llu before the crash, %llu now\n\n",
              static_cast<unsigned long long>(copies_before),
              static_cast<unsigned long long>(copies_held(alive)));

  // 6. The verdict, read through every survivor in turn.
  std::printf("6. Reading every key through the %zu surviving nodes\n", alive.size());
  intact = count_intact(alive, K);
  chord_buf hello = {nullptr, 0};
  bool hello_ok = chord_get(&hello, alive[0], bytes_of("hello"), 5, kOpTimeoutMs) == 0 &&
                  hello.len == 5 && std::memcmp(hello.data, "world", 5) == 0;
  chord_buf_dispose(&hello);
  std::printf("   %zu/%zu keys, and \"hello\", %s\n\n", intact, K,
              intact == K && hello_ok ? "survived with their values" : "were checked");
  bool survived = intact == K && hello_ok;
  if (survived) {
    std::printf("All data survived the crash. Demo finished in %.1f s.\n",
                millis_since(demo_start) / 1000.0);
  } else {
    std::printf("DATA LOST: %zu of %zu keys%s are missing or wrong.\n", K - intact, K,
                hello_ok ? "" : " (and \"hello\")");
  }
  std::fflush(stdout);
  return survived ? kExitOk : kExitNotFound;
}

}  // namespace

Command add_demo(CLI::App *chord) {
  auto args = std::make_shared<DemoArgs>();
  CLI::App *app =
      chord->add_subcommand("demo", "start a ring of 8 nodes here and show what it does");
  setup_app(app, kHelpColumn, kAbout);
  app->footer(kFooter);
  app->add_option("--nodes", args->nodes, "ring size, 4 to 64 (default 8)")
      ->option_text("N")
      ->transform(decimal_number())
      ->check(CLI::Range(4u, 64u));
  app->add_option("--keys", args->keys, "keys to store, 1 to 100000 (default 200)")
      ->option_text("K")
      ->transform(decimal_number())
      ->check(CLI::Range(1u, 100000u));
  return {app, [args] { return run_demo(*args); }};
}

}  // namespace chord::cli
