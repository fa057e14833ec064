// SPDX-License-Identifier: MIT
#include "host_port.hpp"

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
  // The port: 1 to 20 decimal digits (leading zeros allowed), at most 65535.
  std::string digits = addr.substr(colon + 1);
  if (digits.empty() || digits.size() > 20) return false;
  unsigned long port = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    port = port * 10 + static_cast<unsigned long>(c - '0');
    if (port > 65535) return false;
  }
  return port != 0 || allow_port_zero;
}

CLI::Validator host_port(bool allow_port_zero) {
  return CLI::Validator(
      [allow_port_zero](std::string &addr) -> std::string {
        if (is_host_port(addr, allow_port_zero)) return "";
        return "malformed address '" + addr + "' (want HOST:PORT)";
      },
      "", "HOST:PORT");
}

}  // namespace chord::cli
