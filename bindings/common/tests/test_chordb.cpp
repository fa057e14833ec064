// SPDX-License-Identifier: MIT
// Tests of chordb, the C layer under every binding, on real nodes on 127.0.0.1:
// close wakes blocked waiters, later calls fail with CHORD_ECLOSED, queues outlive
// their node, bytes round-trip, options are checked. Prints "N passed, N failed".
#include <poll.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "chordb.h"

namespace {

int passed = 0, failed = 0;

struct Failure {
  std::string what;
};

void check(bool cond, const std::string &what) {
  if (!cond) throw Failure{what};
}

void test(const char *name, const std::function<void()> &body) {
  try {
    body();
    ++passed;
    std::printf("ok   %s\n", name);
  } catch (const Failure &f) {
    ++failed;
    std::printf("FAIL %s: %s\n", name, f.what.c_str());
  }
}

// A node with short maintenance timers; released by the caller.
chordb_node *new_node() {
  chordb_opts *o = chordb_opts_new();
  chordb_opts_set_uint(o, "stabilize_ms", 50);
  chordb_opts_set_uint(o, "rpc_timeout_ms", 300);
  chordb_slot *st = chordb_slot_new();
  chordb_node *n = chordb_node_new(o, st);
  std::string detail = chordb_slot_detail(st);
  chordb_slot_free(st);
  chordb_opts_free(o);
  check(n != nullptr, "chordb_node_new: " + detail);
  return n;
}

std::string str(chordb_bytes b) {
  return std::string(reinterpret_cast<const char *>(b.data), b.len);
}

const uint8_t *u8(const std::string &s) {
  return reinterpret_cast<const uint8_t *>(s.data());
}

}  // namespace

int main() {
  test("err_code lists CHORD_ERRNO_MAP in order, 0 outside", [] {
#define ENTRY(name, value, msg) CHORD_##name,
    const int want[] = {CHORD_ERRNO_MAP(ENTRY)};
#undef ENTRY
    const int n = static_cast<int>(sizeof want / sizeof want[0]);
    check(chordb_err_count() == n, "count " + std::to_string(chordb_err_count()));
    for (int i = 0; i < n; i++) check(chordb_err_code(i) == want[i], "code " + std::to_string(i));
    check(chordb_err_code(-1) == 0 && chordb_err_code(n) == 0, "0 outside the table");
  });

  test("options are checked by name", [] {
    chordb_opts *o = chordb_opts_new();
    check(chordb_opts_set_uint(o, "stabilize_ms", 50) == 0, "known option");
    check(chordb_opts_set_uint(o, "no_such_option", 1) == CHORD_EINVAL, "unknown option");
    check(chordb_opts_set_uint(o, "replicas", -1) == CHORD_EINVAL, "negative value");
    check(chordb_opts_set_str(o, "bogus", "x") == CHORD_EINVAL, "unknown string option");
    check(chordb_opts_set_uint(o, "stabilize_ms", 1ll << 32) == CHORD_EINVAL, "cut short");
    check(chordb_opts_set_uint(o, "max_value_bytes", 1ll << 32) == 0, "a size_t field");
    chordb_opts_free(o);
  });

  test("the option list names every numeric field of chord_node_opts", [] {
    std::ifstream in(CHORD_HEADER);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string h = ss.str();
    const size_t a = h.find("typedef struct chord_node_opts {");
    const size_t b = h.find("} chord_node_opts;", a);
    check(a != std::string::npos && b != std::string::npos, "chord_node_opts in chord.h");
    const std::string body = h.substr(a, b - a);
    std::set<std::string> fields, listed;
    std::regex field(R"((?:^|\n)\s*(?:unsigned|size_t)\s+(\w+);)");
    for (std::sregex_iterator it(body.begin(), body.end(), field), end; it != end; ++it)
      fields.insert((*it)[1]);
    fields.erase("version");          // the struct's own
    fields.erase("network_key_len");  // chordb_opts_set_network_key
    for (int i = 0; chordb_opts_uint_name(i); i++) listed.insert(chordb_opts_uint_name(i));
    check(fields.size() > 10, std::to_string(fields.size()) + " numeric fields found");
    for (const std::string &f : fields) check(listed.count(f) == 1, f + " is not listed");
    for (const std::string &f : listed) check(fields.count(f) == 1, f + " is no field");
  });

  test("bytes round-trip; empty differs from absent", [] {
    chordb_node *n = new_node();
    chordb_slot *st = chordb_slot_new();
    const std::string key("\0k\xff\0", 4), value("\0\x01\xfe\xff", 4);
    check(chordb_set(n, st, u8(key), key.size(), u8(value), value.size(), 5000) == 0, "set");
    check(chordb_get(n, st, u8(key), key.size(), 5000) == 0, "get");
    check(str(chordb_slot_value(st)) == value, "value");
    check(chordb_set(n, st, u8(std::string("e")), 1, nullptr, 0, 5000) == 0, "set empty");
    check(chordb_get(n, st, u8(std::string("e")), 1, 5000) == 0, "get empty");
    check(chordb_slot_value_len(st) == 0, "empty value");
    check(chordb_get(n, st, u8(key), 3, 5000) == CHORD_ENOTFOUND, "a prefix is absent");
    chordb_slot_free(st);
    chordb_node_release(n);
  });

  test("close wakes recv and queue waiters with CHORD_ECLOSED", [] {
    chordb_node *n = new_node();
    chordb_slot *st = chordb_slot_new();
    chordb_queue *q = chordb_queue_new(n, st, CHORD_EV_ALL);
    check(q != nullptr, "queue");
    std::atomic<int> recv_rc{1}, queue_rc{1};
    std::thread a([&] {
      chordb_slot *s = chordb_slot_new();
      recv_rc = chordb_recv(n, s, -1);
      chordb_slot_free(s);
    });
    std::thread b([&] {
      chordb_slot *s = chordb_slot_new();
      queue_rc = chordb_queue_next(q, s, -1);
      chordb_slot_free(s);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(150));  // let them block
    chordb_node_close(n, 0);
    a.join();
    b.join();
    check(recv_rc == CHORD_ECLOSED, "recv returned " + std::to_string(recv_rc.load()));
    check(queue_rc == CHORD_ECLOSED, "queue_next returned " + std::to_string(queue_rc.load()));
    // The queue outlives its node: its fd stays open, and reads as readable (closed).
    int fd = chordb_queue_fd(q);
    check(fd >= 0, "queue fd after close");
    pollfd p{fd, POLLIN, 0};
    check(poll(&p, 1, 0) == 1 && (p.revents & POLLIN), "the closed queue's fd is readable");
    check(chordb_queue_next(q, st, 0) == CHORD_ECLOSED, "queue_next after close");
    chordb_queue_free(q);
    chordb_slot_free(st);
    chordb_node_release(n);
  });

  test("calls after close fail with CHORD_ECLOSED and a detail", [] {
    chordb_node *n = new_node();
    chordb_node_close(n, 1);
    chordb_node_close(n, 0);  // idempotent
    chordb_slot *st = chordb_slot_new();
    check(chordb_get(n, st, u8(std::string("k")), 1, 1000) == CHORD_ECLOSED, "get");
    check(std::strlen(chordb_slot_detail(st)) > 0, "detail");
    check(chordb_iter_new(n, st, CHORD_ITER_KEYS) == nullptr, "iter_new");
    check(chordb_slot_rc(st) == CHORD_ECLOSED, "iter_new code");
    check(chordb_queue_new(n, st, CHORD_EV_ALL) == nullptr, "queue_new");
    check(chordb_node_closed(n) == 1, "closed flag");
    chordb_slot_free(st);
    chordb_node_release(n);
  });

  test("close during concurrent calls: each ends in success or CHORD_ECLOSED", [] {
    chordb_node *n = new_node();
    std::atomic<int> bad{0}, done{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; t++) {
      ts.emplace_back([&, t] {
        chordb_slot *s = chordb_slot_new();
        std::string key = "t" + std::to_string(t);
        for (;;) {
          int rc = chordb_set(n, s, u8(key), key.size(), u8(key), key.size(), 5000);
          if (rc == 0) rc = chordb_get(n, s, u8(key), key.size(), 5000);
          if (rc == CHORD_ECLOSED) break;
          if (rc != 0) {
            ++bad;
            break;
          }
          ++done;
        }
        chordb_slot_free(s);
      });
    }
    while (done < 8) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    chordb_node_close(n, 0);
    for (auto &t : ts) t.join();
    check(bad == 0, std::to_string(bad.load()) + " calls failed otherwise");
    chordb_node_release(n);
  });

  test("an iterator outlives its node's close", [] {
    chordb_node *n = new_node();
    chordb_slot *st = chordb_slot_new();
    check(chordb_set(n, st, u8(std::string("k")), 1, u8(std::string("v")), 1, 5000) == 0, "set");
    chordb_iter *it = chordb_iter_new(n, st, CHORD_ITER_VALUES);
    check(it != nullptr, "iter_new");
    check(chordb_iter_next(it, st) == 0 && str(chordb_slot_key(st)) == "k", "first key");
    chordb_node_close(n, 0);
    check(chordb_iter_next(it, st) == CHORD_ECLOSED, "next after close");
    chordb_iter_free(it);
    chordb_slot_free(st);
    chordb_node_release(n);
  });

  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
