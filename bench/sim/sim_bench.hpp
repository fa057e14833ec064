// SPDX-License-Identifier: MIT
// chord-bench --sim: the same core in the deterministic simulator, at sizes a
// machine cannot run over real sockets (10,000 nodes on one core).
#pragma once

#include "bench_args.hpp"

namespace chord::bench {

// Builds a simulated ring of args.nodes, stores args.keys, measures routing
// hops, lookup failures, message costs and, with args.kill > 0, what survives
// crashing that fraction of the nodes and how long repair takes in simulated
// time. Prints one JSON object on stdout (the field names of the real bench
// where they apply, plus "mode":"sim") and progress on stderr. Returns 0, or
// 1 if the ring could not be built.
int run_sim_bench(const BenchArgs &args);

}  // namespace chord::bench
