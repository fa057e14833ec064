// SPDX-License-Identifier: MIT
// A driver for the simulator benchmark alone: chord-bench's flags, --sim
// implied. chord-bench --sim calls the same run_sim_bench.
#include "bench_args.hpp"
#include "sim_bench.hpp"

int main(int argc, char **argv) {
  chord::bench::BenchArgs args;
  int stop = chord::bench::parse_bench_args(argc, argv, &args);
  if (stop >= 0) return stop;
  args.sim = true;
  return chord::bench::run_sim_bench(args);
}
