// SPDX-License-Identifier: MIT
// `chord watch`: prints add and delete events of the whole network as they
// happen, until SIGINT or SIGTERM.
#include <chord/chord.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "cli_app.hpp"
#include "commands.hpp"
#include "exit_status.hpp"
#include "host_port.hpp"
#include "output.hpp"
#include "ring_session.hpp"
#include "signal_pipe.hpp"

namespace chord::cli {

namespace {

constexpr size_t kHelpColumn = 27;  // after "  --network-key-file FILE  "

const char kAbout[] =
    "Prints one line per event as keys are added to and deleted from the network:\n"
    "  add KEY\n"
    "  delete KEY\n"
    "KEY is raw, or hex with --hex. Runs until interrupted (Ctrl-C or SIGTERM),\n"
    "then exits 0. The line is flushed as each event arrives.\n\n"
    "By default watch connects as a light client, which stores nothing. Events\n"
    "are broadcast to the ring's members, and with --listen watch takes part as\n"
    "a member to receive them: it then holds keys like any node for as long as\n"
    "it runs, and leaves gracefully (handing them over) when interrupted.\n";

const char kFooter[] =
    "examples:\n"
    "  chord watch --via 127.0.0.1:4000\n"
    "  chord watch --listen 127.0.0.1:0 --via 127.0.0.1:4000\n"
    "  chord watch --hex --via 127.0.0.1:4000 | grep '^delete'\n";

struct WatchArgs {
  ClientOptions client;
  std::optional<std::string> listen;  // --listen HOST:PORT: take part as a member
};

int run_watch(const WatchArgs &args) {
  if (!signal_pipe_install(true)) {
    std::fprintf(stderr, "chord watch: cannot set up signal handling\n");
    return kExitLocal;
  }
  RingSession client;
  if (int rc = client.connect("watch", args.client, args.listen ? args.listen->c_str() : nullptr)) {
    return rc;
  }
  chord_queue *q = nullptr;
  int rc = chord_queue_new(&q, client.node(), CHORD_EV_ADD | CHORD_EV_DELETE);
  if (rc != 0) return report_failure("watch", "cannot subscribe", rc);
  if (isatty(STDERR_FILENO)) std::fprintf(stderr, "watching; Ctrl-C to stop\n");

  bool hex = args.client.hex;
  int code = kExitOk;
  struct pollfd fds[2] = {{signal_pipe_fd(), POLLIN, 0}, {chord_queue_fd(q), POLLIN, 0}};
  while (signal_pipe_signo() == 0) {
    int n = poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::perror("chord watch: poll");
      code = kExitLocal;
      break;
    }
    if (fds[0].revents) break;
    chord_event ev;
    rc = chord_queue_next(&ev, q, 0);
    if (rc == CHORD_ETIMEDOUT) continue;
    if (rc != 0) {
      code = report_failure("watch", "the event queue ended", rc);
      break;
    }
    const char *type = ev.type == CHORD_EV_ADD      ? "add "
                       : ev.type == CHORD_EV_DELETE ? "delete "
                                                    : nullptr;
    bool ok = true;
    if (type) {
      ok = std::fputs(type, stdout) >= 0 && write_field(ev.key.data, ev.key.len, hex, '\n') &&
           flush_stdout();
    }
    chord_event_dispose(&ev);
    if (!ok) {
      code = kExitLocal;  // stdout is gone (e.g. the reader of a pipe quit)
      break;
    }
  }
  chord_queue_free(q);
  return code;
}

}  // namespace

Command add_watch(CLI::App *chord) {
  auto args = std::make_shared<WatchArgs>();
  CLI::App *app = chord->add_subcommand("watch", "print keys as they are added and deleted");
  setup_app(app, kHelpColumn, kAbout);
  app->footer(kFooter);
  args->client.add_to(app);
  app->add_option("--listen", args->listen,
                  "take part as a full member listening here; peers\n"
                  "must be able to reach this address")
      ->option_text("HOST:PORT")
      ->check(host_port(true));
  return {app, [args] { return run_watch(*args); }};
}

}  // namespace chord::cli
