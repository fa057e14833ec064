// SPDX-License-Identifier: MIT
// `chord`: run a node, use the dictionary from a shell, or watch a demo ring.
#include <chord/chord.h>

#include <cstdio>
#include <cstring>

#include "commands.hpp"
#include "exit_status.hpp"

namespace {

struct Subcommand {
  const char *name;
  int (*run)(int, char **);
  const char *summary;
};

const Subcommand kSubcommands[] = {
    {"node", chord::cli::cmd_node, "run a node of the ring in the foreground"},
    {"get", chord::cli::cmd_get, "print a key's value"},
    {"set", chord::cli::cmd_set, "set a key's value"},
    {"del", chord::cli::cmd_del, "delete a key"},
    {"pop", chord::cli::cmd_pop, "delete a key and print the value it had"},
    {"keys", chord::cli::cmd_keys, "list every key in the network"},
    {"items", chord::cli::cmd_items, "list every key and value"},
    {"watch", chord::cli::cmd_watch, "print keys as they are added and deleted"},
    {"demo", chord::cli::cmd_demo, "start a ring of 8 nodes here and show what it does"},
};

void print_usage(FILE *to) {
  std::fprintf(to,
               "usage: chord COMMAND [options]\n\n"
               "A distributed dictionary over a Chord ring (libchord %s).\n\n"
               "commands:\n",
               chord_version_string());
  for (const Subcommand &s : kSubcommands) std::fprintf(to, "  %-7s %s\n", s.name, s.summary);
  std::fprintf(to,
               "  version print the library's version\n\n"
               "'chord COMMAND --help' tells more about each.\n\n"
               "examples:\n"
               "  chord demo\n"
               "  chord node --listen 127.0.0.1:4000\n"
               "  chord node --listen 127.0.0.1:4001 --join 127.0.0.1:4000\n"
               "  chord set greeting hello --via 127.0.0.1:4000\n"
               "  chord get greeting --via 127.0.0.1:4001\n\n"
               "exit status: 0 ok, 1 not found, 2 bad usage or input, 3 network failure,\n"
               "4 local failure.\n");
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    print_usage(stderr);
    return chord::cli::kExitUsage;
  }
  const char *cmd = argv[1];
  if (!std::strcmp(cmd, "--help") || !std::strcmp(cmd, "-h") || !std::strcmp(cmd, "help")) {
    print_usage(stdout);
    return chord::cli::kExitOk;
  }
  if (!std::strcmp(cmd, "version") || !std::strcmp(cmd, "--version")) {
    std::printf("chord %s (libchord %s)\n", CHORD_VERSION_STRING, chord_version_string());
    return chord::cli::kExitOk;
  }
  for (const Subcommand &s : kSubcommands) {
    if (!std::strcmp(cmd, s.name)) return s.run(argc, argv);
  }
  std::fprintf(stderr, "chord: unknown command '%s' (see 'chord --help')\n", cmd);
  return chord::cli::kExitUsage;
}
