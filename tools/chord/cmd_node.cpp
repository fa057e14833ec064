// SPDX-License-Identifier: MIT
// `chord node`: runs one ring member in the foreground until SIGINT or SIGTERM,
// then leaves gracefully, handing its keys over.
#include <chord/chord.h>
#include <sys/time.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <ctime>
#include <string>

#include "cli_args.hpp"
#include "commands.hpp"
#include "exit_status.hpp"
#include "host_port.hpp"
#include "network_options.hpp"
#include "signal_pipe.hpp"

namespace chord::cli {

namespace {

void print_node_help() {
  std::printf(
      "usage: chord node [options]\n\n"
      "Runs one node of the ring in the foreground. It prints its address and id,\n"
      "joins the ring through the first --join address that answers (or starts a\n"
      "new ring without --join), logs joins, leaves and repairs on stderr, and on\n"
      "Ctrl-C or SIGTERM leaves gracefully: its keys go to their next holders\n"
      "before it exits 0. A second Ctrl-C exits at once, without the goodbye.\n\n"
      "options:\n"
      "  --listen HOST:PORT       address to bind (default 127.0.0.1:0, any free port)\n"
      "  --advertise HOST:PORT    address peers should use to reach this node\n"
      "                           (default: the bound address)\n"
      "  --join HOST:PORT         a member of the ring to join; repeat it to list\n"
      "                           fallbacks, tried in order until one works\n"
      "  --network NAME           the network's name; nodes of another are refused\n"
      "                           (default \"chord\")\n"
      "  --network-key-file FILE  only holders of this key may join: 32 raw bytes or\n"
      "                           64 hex digits (e.g. head -c32 /dev/urandom > net.key)\n"
      "  --identity FILE          keep the node's Ed25519 identity (and so its ring\n"
      "                           id) in FILE, created 0600 if absent\n"
      "  --replicas N             copies of each key (default 3)\n"
      "  --max-clock-skew MS      how far hosts' wall clocks may disagree; writes\n"
      "                           stamped further ahead are refused (default 1000)\n"
      "  --sloppy-quorum          acknowledge writes with a majority of the replicas\n"
      "                           reachable now, not of r: in a partition each side\n"
      "                           accepts writes (default: a true majority of r)\n"
      "  --timeout MS             how long one join attempt may take (default 5000)\n"
      "  --log-level LEVEL        error, warn, info (default) or debug\n"
      "  -h, --help               show this help\n\n"
      "output (stdout), one line each:\n"
      "  address HOST:PORT\n"
      "  id HEX\n"
      "  joined via HOST:PORT      (or: started a new ring)\n"
      "  ready\n"
      "  left the ring             (after SIGINT or SIGTERM)\n\n"
      "examples:\n"
      "  chord node --listen 127.0.0.1:4000\n"
      "  chord node --listen 127.0.0.1:4001 --join 127.0.0.1:4000\n"
      "  chord node --listen 0.0.0.0:4000 --advertise 10.0.0.7:4000 \\\n"
      "      --join 10.0.0.5:4000 --join 10.0.0.6:4000 \\\n"
      "      --network prod --network-key-file /etc/chord/net.key --identity /var/lib/chord/id\n");
}

const char *level_name(int level) {
  switch (level) {
    case CHORD_LOG_ERROR:
      return "error";
    case CHORD_LOG_WARN:
      return "warn";
    case CHORD_LOG_INFO:
      return "info";
    default:
      return "debug";
  }
}

// Runs on the loop thread. One fprintf per line keeps lines whole.
void log_line(int level, const char *line, void *) {
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  std::fprintf(stderr, "%02d:%02d:%02d.%03d %s: %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
               static_cast<int>(tv.tv_usec / 1000), level_name(level), line);
}

bool parse_level(const std::string &s, int *level) {
  const char *names[] = {"error", "warn", "info", "debug"};
  for (int i = 0; i < 4; ++i) {
    if (s == names[i]) {
      *level = i;
      return true;
    }
  }
  return false;
}

void say(const std::string &line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

}  // namespace

int cmd_node(int argc, char **argv) {
  std::vector<OptSpec> specs = {{"help", false, false},          {"listen", true, false},
                                {"advertise", true, false},      {"join", true, true},
                                {"identity", true, false},       {"replicas", true, false},
                                {"timeout", true, false},        {"log-level", true, false},
                                {"max-clock-skew", true, false}, {"sloppy-quorum", false, false}};
  add_network_specs(&specs);
  Args args;
  std::string err;
  if (!args.parse(argc, argv, 2, specs, &err)) return report_usage("node", err);
  if (args.has("help")) {
    print_node_help();
    return kExitOk;
  }
  if (!args.positionals().empty()) {
    return report_usage("node", "unexpected argument '" + args.positionals()[0] + "'");
  }
  std::string listen = args.get("listen"), advertise = args.get("advertise");
  if (args.has("listen") && !is_host_port(listen, true)) {
    return report_usage("node", "malformed --listen address '" + listen + "' (want HOST:PORT)");
  }
  if (args.has("advertise") && !is_host_port(advertise, false)) {
    return report_usage("node", "malformed --advertise address '" + advertise + "'");
  }
  std::vector<std::string> joins = args.all("join");
  for (const std::string &j : joins) {
    if (!is_host_port(j, false)) {
      return report_usage("node", "malformed --join address '" + j + "' (want HOST:PORT)");
    }
  }
  unsigned long replicas = 0, timeout = 0;
  if (args.has("replicas") && (!parse_uint(args.get("replicas"), 64, &replicas) || replicas == 0)) {
    return report_usage("node", "--replicas wants a number from 1 to 64");
  }
  if (args.has("timeout") &&
      (!parse_uint(args.get("timeout"), 86400000, &timeout) || timeout == 0)) {
    return report_usage("node", "--timeout wants a positive number of milliseconds");
  }
  unsigned long skew = 0;
  if (args.has("max-clock-skew") &&
      (!parse_uint(args.get("max-clock-skew"), 86400000, &skew) || skew == 0)) {
    return report_usage("node", "--max-clock-skew wants a positive number of milliseconds");
  }
  int level = CHORD_LOG_INFO;
  if (args.has("log-level") && !parse_level(args.get("log-level"), &level)) {
    return report_usage("node", "--log-level wants error, warn, info or debug");
  }
  NetworkOptions net;
  if (!net.load(args, &err)) return report_usage("node", err);
  if (!signal_pipe_install(true)) {
    std::fprintf(stderr, "chord node: cannot set up signal handling\n");
    return kExitLocal;
  }

  chord_node_opts opts = CHORD_NODE_OPTS_INIT;
  opts.listen = args.has("listen") ? listen.c_str() : nullptr;
  opts.advertise = args.has("advertise") ? advertise.c_str() : nullptr;
  std::string identity = args.get("identity");
  opts.identity_file = args.has("identity") ? identity.c_str() : nullptr;
  opts.replicas = static_cast<unsigned>(replicas);
  opts.max_clock_skew_ms = static_cast<unsigned>(skew);
  if (args.has("sloppy-quorum")) opts.flags |= CHORD_NODE_SLOPPY_QUORUM;
  net.apply(&opts);
  opts.log_cb = log_line;
  opts.log_level = level;
  chord_node *node = nullptr;
  int rc = chord_node_new(&node, &opts);
  if (rc != 0) return report_failure("node", "cannot start", rc);
  say(std::string("address ") + chord_node_addr(node));
  say(std::string("id ") + chord_node_id_hex(node));

  if (joins.empty()) {
    say("started a new ring");
  } else {
    bool joined = false;
    for (size_t i = 0; i < joins.size() && !joined && signal_pipe_signo() == 0; ++i) {
      if (isatty(STDERR_FILENO)) std::fprintf(stderr, "joining via %s...\n", joins[i].c_str());
      rc = chord_node_join(node, joins[i].c_str(), static_cast<int>(timeout));
      if (rc == 0) {
        joined = true;
        say("joined via " + joins[i]);
      } else {
        report_failure("node", "cannot join via " + joins[i], rc);
      }
    }
    if (!joined) {
      int code = signal_pipe_signo() != 0 ? kExitOk : exit_code_for(rc);
      if (code != kExitOk) std::fprintf(stderr, "chord node: no --join address worked\n");
      chord_node_free(node);
      return code;
    }
  }
  say("ready");

  signal_pipe_wait(-1);
  std::fprintf(stderr, "chord node: %s received; leaving the ring (Ctrl-C again to quit now)\n",
               signal_pipe_signo() == SIGTERM ? "SIGTERM" : "SIGINT");
  rc = chord_node_leave(node, static_cast<int>(timeout));
  int code = kExitOk;
  if (rc == 0) {
    say("left the ring");
  } else {
    code = report_failure("node", "graceful leave failed; its keys rely on the replicas", rc);
  }
  chord_node_free(node);
  return code;
}

}  // namespace chord::cli
