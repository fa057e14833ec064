// SPDX-License-Identifier: MIT
// A real node for the hostile-peer tests, driven through the C API on
// 127.0.0.1 (its port, its counters), and this process's peak resident set,
// where such nodes run.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "chord/chord.h"

namespace chord::test {

struct Node {
  chord_node* n = nullptr;
  // extra's stabilize_ms and rpc_timeout_ms, if zero, are 50 and 300.
  explicit Node(const chord_node_opts* extra = nullptr) {
    chord_node_opts o = CHORD_NODE_OPTS_INIT;
    if (extra) o = *extra;
    if (!o.stabilize_ms) o.stabilize_ms = 50;
    if (!o.rpc_timeout_ms) o.rpc_timeout_ms = 300;
    o.log_level = CHORD_LOG_ERROR;
    EXPECT_EQ(chord_node_new(&n, &o), 0) << chord_error_last();
  }
  ~Node() { chord_node_free(n); }
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  int port() const {
    const std::string a = chord_node_addr(n);
    return std::atoi(a.substr(a.rfind(':') + 1).c_str());
  }
  uint64_t counter(const char* name) const {
    uint64_t v = 0;
    EXPECT_EQ(chord_node_counter(&v, n, name), 0) << chord_error_last();
    return v;
  }
};

// This process's peak resident set (VmHWM), in bytes: the node runs here.
inline size_t peak_rss() {
  FILE* f = std::fopen("/proc/self/status", "r");
  char line[256];
  size_t kb = 0;
  while (f && std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "VmHWM: %zu kB", &kb) == 1) break;
  if (f) std::fclose(f);
  return kb * 1024;
}

// Lowers the peak to what is resident now (Linux 4.0 and later), so that
// a test measures its own peak, not an earlier test's.
inline void reset_peak_rss() {
  FILE* f = std::fopen("/proc/self/clear_refs", "w");
  if (!f) return;
  std::fputs("5", f);
  std::fclose(f);
}

}  // namespace chord::test
