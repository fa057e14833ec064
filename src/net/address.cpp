// SPDX-License-Identifier: MIT
#include "net/address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "wire/status.hpp"

namespace chord::net {

int parse_address(const std::string& s, bool allow_port_zero, Address& out, std::string& why) {
  out = Address{};
  if (s.empty()) {
    why = "empty address; expected host:port";
    return kInval;
  }
  std::string host, port;
  if (s[0] == '[') {
    size_t close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      why = "malformed address '" + s + "'; expected [ipv6]:port";
      return kInval;
    }
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    size_t colon = s.find(':');
    if (colon == std::string::npos || s.find(':', colon + 1) != std::string::npos) {
      why = "malformed address '" + s + "'; expected host:port (IPv6 as [addr]:port)";
      return kInval;
    }
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos) {
    why = "malformed port in '" + s + "'";
    return kInval;
  }
  long p = std::strtol(port.c_str(), nullptr, 10);
  if (p > 65535 || (p == 0 && !allow_port_zero)) {
    why = "port out of range in '" + s + "'";
    return kInval;
  }
  if (host == "localhost") host = "127.0.0.1";
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.ss);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(p));
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(p));
  } else {
    why = "host '" + host + "' is not a numeric IPv4/IPv6 address or localhost";
    return kInval;
  }
  out.port = static_cast<int>(p);
  out.text = format_address(reinterpret_cast<sockaddr*>(&out.ss));
  return kOk;
}

std::string format_address(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (sa->sa_family == AF_INET) {
    auto* v4 = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &v4->sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(ntohs(v4->sin_port));
  }
  if (sa->sa_family == AF_INET6) {
    auto* v6 = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &v6->sin6_addr, buf, sizeof buf);
    return "[" + std::string(buf) + "]:" + std::to_string(ntohs(v6->sin6_port));
  }
  return "";
}

bool is_unspecified(const Address& a) {
  if (a.ss.ss_family == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(&a.ss)->sin_addr.s_addr == htonl(INADDR_ANY);
  }
  if (a.ss.ss_family == AF_INET6) {
    auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a.ss);
    return std::memcmp(&v6->sin6_addr, &in6addr_any, sizeof(in6_addr)) == 0;
  }
  return false;
}

}  // namespace chord::net
