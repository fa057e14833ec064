// SPDX-License-Identifier: MIT
#include "ring_session.hpp"

#include "cli_app.hpp"
#include "exit_status.hpp"
#include "host_port.hpp"

namespace chord::cli {

void ClientOptions::add_to(CLI::App *app) {
  app->add_option("--via", via, "any member of the ring (required)")
      ->option_text("HOST:PORT")
      ->required()
      ->check(host_port(false));
  net.add_to(app, "the network's name (default \"chord\")",
             "the network key: 32 raw bytes or 64 hex digits");
  app->add_option("--timeout", timeout, "give up after MS milliseconds (default 5000)")
      ->option_text("MS")
      ->transform(decimal_number())
      ->check(CLI::Range(1u, 86400000u));
  app->add_flag("--hex", hex, "print values (and keys) as hex instead of raw bytes")
      ->disable_flag_override();
}

RingSession::~RingSession() {
  chord_node_free(node_);
}

int RingSession::connect(const char *cmd, const ClientOptions &options, const char *member_listen) {
  timeout_ms_ = static_cast<int>(options.timeout);
  net_ = options.net;
  std::string err;
  if (!net_.load(&err)) return report_usage(cmd, err);

  chord_node_opts opts = CHORD_NODE_OPTS_INIT;
  opts.flags = member_listen ? 0 : CHORD_NODE_CLIENT;
  opts.listen = member_listen;
  net_.apply(&opts);
  if (timeout_ms_ > 0) opts.default_timeout_ms = static_cast<unsigned>(timeout_ms_);
  int rc = chord_node_new(&node_, &opts);
  if (rc != 0)
    return report_failure(
        cmd, member_listen ? "cannot start a member node" : "cannot start a client", rc);
  rc = chord_node_join(node_, options.via.c_str(), timeout_ms_);
  if (rc != 0) return report_failure(cmd, "cannot join via " + options.via, rc);
  return kExitOk;
}

}  // namespace chord::cli
