// SPDX-License-Identifier: MIT
// Parsing "host:port" addresses. Hosts are numeric IPv4, bracketed IPv6
// ("[::1]:4444") or "localhost"; names that need DNS are refused with a clear
// error rather than resolved on the loop thread.
#pragma once

#include <sys/socket.h>

#include <string>

namespace chord::net {

struct Address {
  sockaddr_storage ss{};
  std::string text;  // canonical "host:port" / "[v6]:port"
  int port = 0;
};

// Returns 0 or kInval with a one-line why. allow_port_zero: a listen address.
int parse_address(const std::string& s, bool allow_port_zero, Address& out, std::string& why);

// "host:port" of a socket address.
std::string format_address(const sockaddr* sa);

// True for unspecified hosts (0.0.0.0, ::): not something a peer can dial.
bool is_unspecified(const Address& a);

}  // namespace chord::net
