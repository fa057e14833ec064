// SPDX-License-Identifier: MIT
// "HOST:PORT" addresses as the command line takes them.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace chord::cli {

// True when addr is HOST:PORT with a non-empty host (a name, an IPv4 address or
// a bracketed IPv6 address) and a decimal port of at most 65535; port 0 only if
// allow_port_zero (an ephemeral listening port).
bool is_host_port(const std::string &addr, bool allow_port_zero);

// A CLI11 check of is_host_port: "malformed address 'X' (want HOST:PORT)".
CLI::Validator host_port(bool allow_port_zero);

}  // namespace chord::cli
