// SPDX-License-Identifier: MIT
// `chord`: run a node, use the dictionary from a shell, or watch a demo ring.
#include <chord/chord.h>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "cli_app.hpp"
#include "commands.hpp"
#include "exit_status.hpp"

namespace {

constexpr size_t kHelpColumn = 10;  // after "  version "

const char kFooter[] =
    "'chord COMMAND --help' tells more about each.\n\n"
    "examples:\n"
    "  chord demo\n"
    "  chord node --listen 127.0.0.1:4000\n"
    "  chord node --listen 127.0.0.1:4001 --join 127.0.0.1:4000\n"
    "  chord set greeting hello --via 127.0.0.1:4000\n"
    "  chord get greeting --via 127.0.0.1:4001\n\n"
    "exit status: 0 ok, 1 not found, 2 bad usage or input, 3 network failure,\n"
    "4 local failure.\n";

}  // namespace

int main(int argc, char **argv) {
  using namespace chord::cli;
  CLI::App app(std::string("A distributed dictionary over a Chord ring (libchord ") +
                   chord_version_string() + ").",
               "chord");
  setup_app(&app, kHelpColumn);
  app.footer(kFooter);
  app.require_subcommand(0, 1);
  unsigned proto_lo = 0, proto_hi = 0;
  chord_protocol_versions(&proto_lo, &proto_hi);
  const std::string protocols = proto_lo == proto_hi
                                    ? std::to_string(proto_hi)
                                    : std::to_string(proto_lo) + ".." + std::to_string(proto_hi);
  const std::string version = std::string("chord ") + CHORD_VERSION_STRING + " (libchord " +
                              chord_version_string() + ", protocol " + protocols + ")";
  app.set_version_flag("--version", version);

  std::vector<Command> commands;
  for (Command (*add)(CLI::App *) : {add_node, add_get, add_set, add_del, add_pop, add_keys,
                                     add_items, add_watch, add_demo, add_keygen}) {
    commands.push_back(add(&app));
  }
  // Words after `version` are ignored, as they always were.
  CLI::App *version_cmd =
      app.add_subcommand("version", "print the library's version")->allow_extras();
  setup_app(version_cmd, 27,
            "Prints the versions of this program and of the libchord it runs on.\n");
  version_cmd->footer("examples:\n  chord version\n  chord --version\n");
  // `chord help`: the same as `chord --help`; not listed.
  CLI::App *help_cmd = app.add_subcommand("help", "show this help")->group("")->allow_extras();

  int stop = parse_command_line(&app, argc, argv);
  if (stop >= 0) return stop;
  if (help_cmd->parsed()) {
    std::fputs(help_of(&app).c_str(), stdout);
    return kExitOk;
  }
  if (version_cmd->parsed()) {
    std::printf("%s\n", version.c_str());
    return kExitOk;
  }
  for (const Command &c : commands) {
    if (c.app->parsed()) return c.run();
  }
  // No command at all.
  std::fputs(help_of(&app).c_str(), stderr);
  return kExitUsage;
}
