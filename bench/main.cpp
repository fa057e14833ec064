// SPDX-License-Identifier: MIT
// chord-bench: prints one JSON object of figures measured on a real ring.
#include <cstdio>

#include "bench_args.hpp"
#include "bench_json.hpp"
#include "real_bench.hpp"
#ifdef CHORD_BENCH_SIM
#include "sim_bench.hpp"
#endif

int main(int argc, char **argv) {
  chord::bench::BenchArgs args;
  int stop = chord::bench::parse_bench_args(argc, argv, &args);
  if (stop >= 0) return stop;
  if (args.sim) {
#ifdef CHORD_BENCH_SIM
    return chord::bench::run_sim_bench(args);
#else
    std::fprintf(stderr, "chord-bench: --sim is not built in this version\n");
    return 2;
#endif
  }
  chord::bench::BenchReport report;
  int rc = chord::bench::run_real_bench(args, &report);
  if (rc != 0) return rc;
  std::printf("%s\n", chord::bench::bench_report_json(report).c_str());
  return std::fflush(stdout) == 0 ? 0 : 4;
}
