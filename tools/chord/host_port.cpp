// SPDX-License-Identifier: MIT
#include "host_port.hpp"

#include "cli_args.hpp"

namespace chord::cli {

bool is_host_port(const std::string &addr, bool allow_port_zero) {
  size_t colon = addr.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string host = addr.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return false;
  } else if (host.find(':') != std::string::npos) {
    return false;  // an IPv6 address must be bracketed
  }
  for (char c : host) {
    if (c <= ' ' || c == '/' || c == '@') return false;
  }
  unsigned long port = 0;
  if (!parse_uint(addr.substr(colon + 1), 65535, &port)) return false;
  return port != 0 || allow_port_zero;
}

}  // namespace chord::cli
