// SPDX-License-Identifier: MIT
#include "bench_args.hpp"

#include <CLI/CLI.hpp>

#include "cli_app.hpp"

namespace chord::bench {

namespace {

constexpr size_t kHelpColumn = 26;  // after "  --repair-deadline-ms MS "

const char kAbout[] =
    "Runs N real nodes in this process on 127.0.0.1 (real TCP, full handshake and\n"
    "encryption), stores K keys and measures bootstrap time, put and get latency,\n"
    "get throughput, routing hops, memory, idle CPU, and how many keys survive\n"
    "crashing a fraction of the nodes. Prints one JSON object on stdout; progress\n"
    "goes to stderr.\n";

const char kFooter[] =
    "examples:\n"
    "  chord-bench --nodes 128 --keys 10000\n"
    "  chord-bench --nodes 32 --keys 10000 --concurrency 64 --kill 0.25 --seed 7\n";

// Adds --NAME VALUE_NAME, a decimal number from min to max stored in *field.
CLI::Option *add_number(CLI::App *app, const char *name, const char *value_name, unsigned *field,
                        unsigned min, unsigned max, const char *help) {
  return app->add_option(name, *field, help)
      ->option_text(value_name)
      ->transform(cli::decimal_number())
      ->check(CLI::Range(min, max));
}

}  // namespace

int parse_bench_args(int argc, char **argv, BenchArgs *out) {
  CLI::App app(kAbout, "chord-bench");
  cli::setup_app(&app, kHelpColumn);
  app.footer(kFooter);
  add_number(&app, "--nodes", "N", &out->nodes, 1, 100000, "nodes in the ring (default 32)");
  add_number(&app, "--keys", "K", &out->keys, 1, 100000000, "keys stored (default 1000)");
  add_number(&app, "--value-bytes", "B", &out->value_bytes, 0, 1u << 20,
             "bytes per value (default 100)");
  add_number(&app, "--concurrency", "C", &out->concurrency, 1, 100000,
             "async gets in flight for throughput (default 64)");
  app.add_option("--kill", out->kill, "fraction of nodes to crash, 0 to <1 (default 0.25)")
      ->option_text("F")
      ->transform(cli::fraction_below_one());
  app.add_option("--seed", out->seed, "random seed (default 1)")
      ->option_text("S")
      ->transform(cli::decimal_number());
  add_number(&app, "--loops", "L", &out->loops, 1, 64,
             "loop threads shared by the nodes (default 2)");
  add_number(&app, "--replicas", "R", &out->replicas, 1, 64, "copies of each key (default 3)");
  add_number(&app, "--samples", "S", &out->latency_samples, 1, 100000000,
             "one-at-a-time puts and gets timed (default 500)");
  add_number(&app, "--idle-ms", "MS", &out->idle_ms, 1, 3600000,
             "idle interval for the CPU figure (default 2000)");
  add_number(&app, "--repair-deadline-ms", "MS", &out->repair_deadline_ms, 1, 3600000,
             "give up waiting for repair after MS (default 20000)");
  add_number(&app, "--stabilize-ms", "MS", &out->stabilize_ms, 1, 3600000,
             "stabilize period (default 100)");
  add_number(&app, "--fix-fingers-ms", "MS", &out->fix_fingers_ms, 1, 3600000,
             "fix_fingers period (default 100)");
  add_number(&app, "--check-predecessor-ms", "MS", &out->check_predecessor_ms, 1, 3600000,
             "check_predecessor period (default 100)");
  add_number(&app, "--rpc-timeout-ms", "MS", &out->rpc_timeout_ms, 1, 3600000,
             "one hop's timeout (default 500)");
  add_number(&app, "--anti-entropy-ms", "MS", &out->anti_entropy_ms, 1, 3600000,
             "replica reconciliation period (default 1000)");
  CLI::Option *sim = app.add_flag("--sim", out->sim, "run on the simulated network instead")
                         ->disable_flag_override();
  add_number(&app, "--calm-max-ms", "MS", &out->calm_max_ms, 0, 3600000,
             "with --sim: quiet-ring backoff cap (default 0: off;\n"
             "real nodes use the library's 8000)")
      ->needs(sim);
  add_number(&app, "--owner-cache", "0|1", &out->owner_cache, 0, 1,
             "with --sim: cache owners' ranges (default 1; 0 measures\n"
             "plain Chord routing)")
      ->needs(sim);
  return cli::parse_command_line(&app, argc, argv);
}

}  // namespace chord::bench
