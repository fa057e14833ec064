// SPDX-License-Identifier: MIT
#include "bench_args.hpp"

#include <cstdio>
#include <cstdlib>

#include "cli_args.hpp"

namespace chord::bench {

namespace {

const char kUsage[] =
    "usage: chord-bench [options]\n\n"
    "Runs N real nodes in this process on 127.0.0.1 (real TCP, full handshake and\n"
    "encryption), stores K keys and measures bootstrap time, put and get latency,\n"
    "get throughput, routing hops, memory, idle CPU, and how many keys survive\n"
    "crashing a fraction of the nodes. Prints one JSON object on stdout; progress\n"
    "goes to stderr.\n\n"
    "options:\n"
    "  --nodes N               nodes in the ring (default 32)\n"
    "  --keys K                keys stored (default 1000)\n"
    "  --value-bytes B         bytes per value (default 100)\n"
    "  --concurrency C         async gets in flight for throughput (default 64)\n"
    "  --kill F                fraction of nodes to crash, 0 to <1 (default 0.25)\n"
    "  --seed S                random seed (default 1)\n"
    "  --loops L               loop threads shared by the nodes (default 2)\n"
    "  --replicas R            copies of each key (default 3)\n"
    "  --samples S             one-at-a-time puts and gets timed (default 500)\n"
    "  --idle-ms MS            idle interval for the CPU figure (default 2000)\n"
    "  --repair-deadline-ms MS give up waiting for repair after MS (default 20000)\n"
    "  --stabilize-ms MS       stabilize period (default 100)\n"
    "  --fix-fingers-ms MS     fix_fingers period (default 100)\n"
    "  --check-predecessor-ms MS  check_predecessor period (default 100)\n"
    "  --rpc-timeout-ms MS     one hop's timeout (default 500)\n"
    "  --anti-entropy-ms MS    replica reconciliation period (default 1000)\n"
    "  --sim                   run on the simulated network instead\n"
    "  --calm-max-ms MS        with --sim: quiet-ring backoff cap (default 0: off;\n"
    "                          real nodes use the library's 8000)\n"
    "  --owner-cache 0|1       with --sim: cache owners' ranges (default 1; 0 measures\n"
    "                          plain Chord routing)\n"
    "  -h, --help              show this help\n\n"
    "examples:\n"
    "  chord-bench --nodes 128 --keys 10000\n"
    "  chord-bench --nodes 32 --keys 10000 --concurrency 64 --kill 0.25 --seed 7\n";

struct UintFlag {
  const char *name;
  unsigned BenchArgs::*field;
  unsigned long min, max;
};

const UintFlag kUintFlags[] = {
    {"nodes", &BenchArgs::nodes, 1, 100000},
    {"keys", &BenchArgs::keys, 1, 100000000},
    {"value-bytes", &BenchArgs::value_bytes, 0, 1u << 20},
    {"concurrency", &BenchArgs::concurrency, 1, 100000},
    {"loops", &BenchArgs::loops, 1, 64},
    {"replicas", &BenchArgs::replicas, 1, 64},
    {"samples", &BenchArgs::latency_samples, 1, 100000000},
    {"idle-ms", &BenchArgs::idle_ms, 1, 3600000},
    {"repair-deadline-ms", &BenchArgs::repair_deadline_ms, 1, 3600000},
    {"stabilize-ms", &BenchArgs::stabilize_ms, 1, 3600000},
    {"fix-fingers-ms", &BenchArgs::fix_fingers_ms, 1, 3600000},
    {"check-predecessor-ms", &BenchArgs::check_predecessor_ms, 1, 3600000},
    {"rpc-timeout-ms", &BenchArgs::rpc_timeout_ms, 1, 3600000},
    {"anti-entropy-ms", &BenchArgs::anti_entropy_ms, 1, 3600000},
    {"calm-max-ms", &BenchArgs::calm_max_ms, 0, 3600000},
    {"owner-cache", &BenchArgs::owner_cache, 0, 1},
};

int usage_error(const std::string &msg) {
  std::fprintf(stderr, "chord-bench: %s (see 'chord-bench --help')\n", msg.c_str());
  return 2;
}

}  // namespace

int parse_bench_args(int argc, char **argv, BenchArgs *out) {
  std::vector<cli::OptSpec> specs = {
      {"help", false, false}, {"sim", false, false}, {"kill", true, false}, {"seed", true, false}};
  for (const UintFlag &f : kUintFlags) specs.push_back({f.name, true, false});
  cli::Args args;
  std::string err;
  if (!args.parse(argc, argv, 1, specs, &err)) return usage_error(err);
  if (args.has("help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (!args.positionals().empty()) {
    return usage_error("unexpected argument '" + args.positionals()[0] + "'");
  }
  for (const UintFlag &f : kUintFlags) {
    if (!args.has(f.name)) continue;
    unsigned long v = 0;
    if (!cli::parse_uint(args.get(f.name), f.max, &v) || v < f.min) {
      return usage_error("--" + std::string(f.name) + " wants a number from " +
                         std::to_string(f.min) + " to " + std::to_string(f.max));
    }
    out->*(f.field) = static_cast<unsigned>(v);
  }
  if (args.has("seed")) {
    unsigned long v = 0;
    if (!cli::parse_uint(args.get("seed"), ~0ul, &v)) return usage_error("--seed wants a number");
    out->seed = v;
  }
  if (args.has("kill")) {
    std::string s = args.get("kill");
    char *end = nullptr;
    double f = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || !(f >= 0 && f < 1)) {
      return usage_error("--kill wants a fraction from 0 to below 1");
    }
    out->kill = f;
  }
  out->sim = args.has("sim");
  if (args.has("calm-max-ms") && !out->sim)
    return usage_error("--calm-max-ms needs --sim (real nodes use the library's 8000 ms)");
  if (args.has("owner-cache") && !out->sim)
    return usage_error("--owner-cache needs --sim (real nodes always cache owners)");
  return -1;
}

}  // namespace chord::bench
