// SPDX-License-Identifier: MIT
#include "ring_session.hpp"

#include "exit_status.hpp"
#include "host_port.hpp"

namespace chord::cli {

std::vector<OptSpec> client_specs() {
  std::vector<OptSpec> specs = {{"help", false, false},
                                {"via", true, false},
                                {"timeout", true, false},
                                {"hex", false, false}};
  add_network_specs(&specs);
  return specs;
}

const char kClientOptionsHelp[] =
    "  --via HOST:PORT          any member of the ring (required)\n"
    "  --network NAME           the network's name (default \"chord\")\n"
    "  --network-key-file FILE  the network key: 32 raw bytes or 64 hex digits\n"
    "  --timeout MS             give up after MS milliseconds (default 5000)\n"
    "  --hex                    print values (and keys) as hex instead of raw bytes\n";

RingSession::~RingSession() {
  chord_node_free(node_);
}

int RingSession::connect(const char *cmd, const Args &args, const char *member_listen) {
  std::string via = args.get("via");
  if (via.empty()) return report_usage(cmd, "--via HOST:PORT is required");
  if (!is_host_port(via, false))
    return report_usage(cmd, "malformed address '" + via + "' (want HOST:PORT)");
  if (args.has("timeout")) {
    unsigned long t = 0;
    if (!parse_uint(args.get("timeout"), 86400000, &t) || t == 0) {
      return report_usage(cmd, "--timeout wants a positive number of milliseconds");
    }
    timeout_ms_ = static_cast<int>(t);
  }
  std::string err;
  if (!net_.load(args, &err)) return report_usage(cmd, err);

  chord_node_opts opts = CHORD_NODE_OPTS_INIT;
  opts.flags = member_listen ? 0 : CHORD_NODE_CLIENT;
  opts.listen = member_listen;
  net_.apply(&opts);
  if (timeout_ms_ > 0) opts.default_timeout_ms = static_cast<unsigned>(timeout_ms_);
  int rc = chord_node_new(&node_, &opts);
  if (rc != 0)
    return report_failure(
        cmd, member_listen ? "cannot start a member node" : "cannot start a client", rc);
  rc = chord_node_join(node_, via.c_str(), timeout_ms_);
  if (rc != 0) return report_failure(cmd, "cannot join via " + via, rc);
  return kExitOk;
}

}  // namespace chord::cli
