// SPDX-License-Identifier: MIT
// `chord node`: runs one ring member in the foreground until SIGINT or SIGTERM,
// then leaves gracefully, handing its keys over.
#include <chord/chord.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli_app.hpp"
#include "commands.hpp"
#include "exit_status.hpp"
#include "host_port.hpp"
#include "network_options.hpp"
#include "signal_pipe.hpp"

namespace chord::cli {

namespace {

constexpr size_t kHelpColumn = 27;  // after "  --network-key-file FILE  "

const char kAbout[] =
    "Runs one node of the ring in the foreground. It prints its address and id,\n"
    "joins the ring through the first --join address that answers (or starts a\n"
    "new ring without --join), logs joins, leaves and repairs on stderr, and on\n"
    "Ctrl-C or SIGTERM leaves gracefully: its keys go to their next holders\n"
    "before it exits 0. A second Ctrl-C exits at once, without the goodbye.\n"
    "With --data DIR the node is durable: its records, identity and the members\n"
    "it knew live in DIR, and without --join a restart rejoins those members\n"
    "(or, when none answers, starts a new ring).\n";

const char kFooter[] =
    "output (stdout), one line each:\n"
    "  address HOST:PORT\n"
    "  id HEX\n"
    "  joined via HOST:PORT      (or: rejoined remembered members, or: started\n"
    "                            a new ring, then join with: chord node --join\n"
    "                            HOST:PORT [--network-key-file FILE] ...)\n"
    "  ready\n"
    "  left the ring             (after SIGINT or SIGTERM)\n\n"
    "examples:\n"
    "  chord node --listen 127.0.0.1:4000\n"
    "  chord node --listen 127.0.0.1:4001 --join 127.0.0.1:4000\n"
    "  chord node --listen 0.0.0.0:4000 --advertise 10.0.0.5:4000 --new-network net.key\n"
    "  chord node --listen 0.0.0.0:4000 --advertise 10.0.0.7:4000 \\\n"
    "      --join 10.0.0.5:4000 --join 10.0.0.6:4000 \\\n"
    "      --network prod --network-key-file /etc/chord/net.key --identity /var/lib/chord/id\n"
    "  chord node --listen 127.0.0.1:4002 --join 127.0.0.1:4000 --data /var/lib/chord/n2\n";

// The log levels by name, in CHORD_LOG_* order.
const std::vector<std::string> kLevels = {"error", "warn", "info", "debug"};
// The sync policies by name, in CHORD_SYNC_* order.
const std::vector<std::string> kSyncs = {"durable", "relaxed"};

struct NodeArgs {
  std::optional<std::string> listen, advertise, identity, data;
  std::vector<std::string> joins;
  unsigned replicas = 0, timeout = 0, skew = 0;
  size_t max_store = 0;
  std::string log_level = "info";
  std::string sync = "durable";
  bool sloppy_quorum = false;
  bool open = false;        // --open: serve anyone, without a network key
  std::string new_network;  // --new-network FILE: a new key there, and a new ring
  NetworkOptions net;
};

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

void say(const std::string &line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

// True for addresses only this host reaches: 127.0.0.0/8, [::1], localhost.
bool loopback_only(const std::string &listen) {
  const size_t colon = listen.rfind(':');
  const std::string host = listen.substr(0, colon == std::string::npos ? 0 : colon);
  return host.rfind("127.", 0) == 0 || host == "[::1]" || host == "localhost";
}

// The command another host runs to join this ring: our address, and the
// network's name and key file if they are not the defaults.
std::string join_command(const std::string &addr, const NetworkOptions &net) {
  std::string c = "chord node --join " + addr;
  if (!net.network.empty()) c += " --network " + net.network;
  if (!net.key_file.empty()) c += " --network-key-file " + net.key_file;
  return c;
}

int run_node(NodeArgs &args) {
  std::string err;
  if (!args.new_network.empty()) {
    // As k3s and Docker Swarm print join tokens: a key for a new network,
    // and (below) the command that joins it.
    const int rc = write_network_key("node", args.new_network);
    if (rc != kExitOk) return rc;
    std::fprintf(stderr, "chord node: wrote a new network key to %s; give it to every node\n",
                 args.new_network.c_str());
    args.net.key_file = args.new_network;
  }
  if (!args.net.load(&err)) return report_usage("node", err);
  // Secure by default: on an address other hosts reach, a node without a key
  // lets anyone who reaches the port join, read and write every key.
  const std::string listen = args.listen ? *args.listen : "127.0.0.1:0";
  if (args.net.key.empty() && !args.open && !loopback_only(listen))
    return report_usage("node", "listening on " + listen +
                                    " without a network key lets anyone who reaches it join the "
                                    "ring and read and write every key; give --network-key-file "
                                    "FILE (chord keygen FILE makes one), or --open to allow it");
  if (!signal_pipe_install(true)) {
    std::fprintf(stderr, "chord node: cannot set up signal handling\n");
    return kExitLocal;
  }

  chord_node_opts opts = CHORD_NODE_OPTS_INIT;
  opts.listen = args.listen ? args.listen->c_str() : nullptr;
  opts.advertise = args.advertise ? args.advertise->c_str() : nullptr;
  opts.identity_file = args.identity ? args.identity->c_str() : nullptr;
  opts.data_dir = args.data ? args.data->c_str() : nullptr;
  opts.sync =
      static_cast<unsigned>(std::find(kSyncs.begin(), kSyncs.end(), args.sync) - kSyncs.begin());
  opts.replicas = args.replicas;
  opts.max_clock_skew_ms = args.skew;
  opts.max_store_bytes = args.max_store;
  if (args.sloppy_quorum) opts.flags |= CHORD_NODE_SLOPPY_QUORUM;
  args.net.apply(&opts);
  opts.log_cb = log_line;
  opts.log_level =
      static_cast<int>(std::find(kLevels.begin(), kLevels.end(), args.log_level) - kLevels.begin());
  chord_node *node = nullptr;
  int rc = chord_node_new(&node, &opts);
  if (rc != 0) return report_failure("node", "cannot start", rc);
  say(std::string("address ") + chord_node_addr(node));
  say(std::string("id ") + chord_node_id_hex(node));

  const std::vector<std::string> &joins = args.joins;
  int timeout = static_cast<int>(args.timeout);
  if (joins.empty() && args.data) {
    // A restart: the members the folder remembers, if any answers.
    rc = chord_node_join(node, nullptr, timeout);
    if (rc == 0) {
      say("rejoined remembered members");
    } else {
      if (rc != CHORD_ENOTFOUND) report_failure("node", "no remembered member answered", rc);
      say("started a new ring");
      say("join with: " + join_command(chord_node_addr(node), args.net));
    }
  } else if (joins.empty()) {
    say("started a new ring");
    say("join with: " + join_command(chord_node_addr(node), args.net));
  } else {
    bool joined = false;
    for (size_t i = 0; i < joins.size() && !joined && signal_pipe_signo() == 0; ++i) {
      if (isatty(STDERR_FILENO)) std::fprintf(stderr, "joining via %s...\n", joins[i].c_str());
      rc = chord_node_join(node, joins[i].c_str(), timeout);
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
  rc = chord_node_leave(node, timeout);
  int code = kExitOk;
  if (rc == 0) {
    say("left the ring");
  } else {
    code = report_failure("node", "graceful leave failed; its keys rely on the replicas", rc);
  }
  chord_node_free(node);
  return code;
}

}  // namespace

Command add_node(CLI::App *chord) {
  auto args = std::make_shared<NodeArgs>();
  CLI::App *app = chord->add_subcommand("node", "run a node of the ring in the foreground");
  setup_app(app, kHelpColumn, kAbout);
  app->footer(kFooter);
  app->add_option("--listen", args->listen, "address to bind (default 127.0.0.1:0, any free port)")
      ->option_text("HOST:PORT")
      ->check(host_port(true));
  app->add_option("--advertise", args->advertise,
                  "address peers should use to reach this node\n(default: the bound address)")
      ->option_text("HOST:PORT")
      ->check(host_port(false));
  app->add_option("--join", args->joins,
                  "a member of the ring to join; repeat it to list\n"
                  "fallbacks, tried in order until one works")
      ->option_text("HOST:PORT")
      ->allow_extra_args(false)
      ->check(host_port(false));
  args->net.add_to(app, "the network's name; nodes of another are refused\n(default \"chord\")",
                   "only holders of this key may join: 32 raw bytes or\n"
                   "64 hex digits (e.g. head -c32 /dev/urandom > net.key)");
  app->add_option("--identity", args->identity,
                  "keep the node's Ed25519 identity (and so its ring\n"
                  "id) in FILE, created 0600 if absent")
      ->option_text("FILE");
  app->add_option("--data", args->data,
                  "keep the records, the identity (unless --identity)\n"
                  "and the members known in DIR, created 0700 if absent:\n"
                  "the node is durable and may restart")
      ->option_text("DIR");
  app->add_option("--sync", args->sync,
                  "with --data: durable (default; a write is on disk\n"
                  "before it is acknowledged) or relaxed (a power loss\n"
                  "may undo the last commit)")
      ->option_text("POLICY")
      ->check(CLI::IsMember(kSyncs));
  app->add_option("--replicas", args->replicas, "copies of each key (default 3)")
      ->option_text("N")
      ->transform(decimal_number())
      ->check(CLI::Range(1u, 64u));
  app->add_option("--max-clock-skew", args->skew,
                  "how far hosts' wall clocks may disagree; writes\n"
                  "stamped further ahead are refused (default 1000)")
      ->option_text("MS")
      ->transform(decimal_number())
      ->check(CLI::Range(1u, 86400000u));
  app->add_option("--max-store-bytes", args->max_store,
                  "bound on what the node's records take; past it\n"
                  "writes it owns fail (default: none)")
      ->option_text("BYTES")
      ->transform(decimal_number())
      ->check(CLI::Range(size_t{1}, SIZE_MAX));
  CLI::Option *fresh = app->add_option("--new-network", args->new_network,
                                       "start a new ring on a new network key, written to\n"
                                       "FILE (0600, must not exist); prints how to join")
                           ->option_text("FILE");
  fresh->excludes("--network-key-file")->excludes("--join");
  app->add_flag("--open", args->open,
                "serve on a non-loopback address without a network\n"
                "key: anyone who reaches it may join, read and write")
      ->disable_flag_override();
  app->add_flag("--sloppy-quorum", args->sloppy_quorum,
                "acknowledge writes with a majority of the replicas\n"
                "reachable now, not of r: in a partition each side\n"
                "accepts writes (default: a true majority of r)")
      ->disable_flag_override();
  app->add_option("--timeout", args->timeout, "how long one join attempt may take (default 5000)")
      ->option_text("MS")
      ->transform(decimal_number())
      ->check(CLI::Range(1u, 86400000u));
  app->add_option("--log-level", args->log_level, "error, warn, info (default) or debug")
      ->option_text("LEVEL")
      ->check(CLI::IsMember(kLevels));
  return {app, [args] { return run_node(*args); }};
}

}  // namespace chord::cli
