// SPDX-License-Identifier: MIT
// The real-socket benchmark: N nodes over TCP on 127.0.0.1 in this process.
#pragma once

#include "bench_args.hpp"
#include "bench_json.hpp"

namespace chord::bench {

// Runs every phase and fills *report. Returns 0, or an exit code (3) when the
// ring could not be built; the reason is on stderr.
int run_real_bench(const BenchArgs &args, BenchReport *report);

}  // namespace chord::bench
