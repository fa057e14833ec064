// SPDX-License-Identifier: MIT
// chord-bench's command line, shared by every mode (real sockets today, the
// simulator later) so that they take the same flags.
#pragma once

#include <cstdint>
#include <string>

namespace chord::bench {

struct BenchArgs {
  unsigned nodes = 32;                  // --nodes N
  unsigned keys = 1000;                 // --keys K
  unsigned value_bytes = 100;           // --value-bytes B
  unsigned concurrency = 64;            // --concurrency C: async gets in flight
  double kill = 0.25;                   // --kill F: fraction of nodes crashed
  uint64_t seed = 1;                    // --seed S: node choice, key order, victims
  unsigned loops = 2;                   // --loops L: loop threads the nodes share
  unsigned replicas = 3;                // --replicas R
  unsigned latency_samples = 500;       // --samples: one-at-a-time ops measured
  unsigned idle_ms = 2000;              // --idle-ms: idle interval for the CPU figure
  unsigned repair_deadline_ms = 20000;  // --repair-deadline-ms
  // Maintenance timers of the bench nodes: short, so that bootstrap and repair
  // are quick to measure. Reported in the JSON.
  unsigned stabilize_ms = 100;
  unsigned fix_fingers_ms = 100;
  unsigned check_predecessor_ms = 100;
  unsigned rpc_timeout_ms = 500;
  unsigned anti_entropy_ms = 1000;
  // --calm-max-ms: the quiet-ring backoff cap in the simulator (0: off, as in
  // the sim tests). Real nodes use the C API's, 8000 ms.
  unsigned calm_max_ms = 0;
  // --owner-cache: 0 turns the owner cache off in the simulator, for plain
  // Chord routing figures.
  unsigned owner_cache = 1;
  bool sim = false;  // --sim: the simulator mode
};

// Parses argv. Returns -1 to run with *out, or an exit code to stop with
// (0 after --help, 2 after a usage error, which is printed on stderr).
int parse_bench_args(int argc, char **argv, BenchArgs *out);

}  // namespace chord::bench
