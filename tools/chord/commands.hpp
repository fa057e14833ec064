// SPDX-License-Identifier: MIT
// The subcommands of the `chord` program. Each add_* adds its subcommand to the
// program's CLI11 app, with its options bound to state that the returned
// Command owns, and returns it; main() calls run() of the one the command line
// chose, once it has parsed.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace chord::cli {

struct Command {
  CLI::App *app;             // the subcommand
  std::function<int()> run;  // returns the process exit code (exit_status.hpp)
};

Command add_node(CLI::App *chord);
Command add_get(CLI::App *chord);
Command add_set(CLI::App *chord);
Command add_del(CLI::App *chord);
Command add_pop(CLI::App *chord);
Command add_keys(CLI::App *chord);
Command add_items(CLI::App *chord);
Command add_watch(CLI::App *chord);
Command add_demo(CLI::App *chord);
Command add_keygen(CLI::App *chord);

// Writes a new network key to path (cmd_keygen.cpp): 64 hex digits, mode
// 0600, never over an existing file. Returns an exit code, having said why
// on stderr as `chord COMMAND: ...`.
int write_network_key(const char *command, const std::string &path);

}  // namespace chord::cli
