// SPDX-License-Identifier: MIT
// The subcommands of the `chord` program. Each takes the whole argv with
// argv[1] its own name, and returns the process exit code (exit_status.hpp).
#pragma once

namespace chord::cli {

int cmd_node(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_set(int argc, char **argv);
int cmd_del(int argc, char **argv);
int cmd_pop(int argc, char **argv);
int cmd_keys(int argc, char **argv);
int cmd_items(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_demo(int argc, char **argv);

}  // namespace chord::cli
