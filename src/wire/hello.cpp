// SPDX-License-Identifier: MIT
// The handshake's hello payload: versions, features, address (hello.hpp).
#include "wire/hello.hpp"

#include <algorithm>

#include "wire/messages.hpp"

namespace chord::wire {

namespace {
constexpr uint8_t kHelloMagic = 0xCD;
constexpr uint8_t kHelloFormat = 1;
constexpr size_t kHelloFixed = 2 + 2 + 2 + 8 + 1;

std::string range(uint16_t lo, uint16_t hi) {
  return lo == hi ? std::to_string(lo) : std::to_string(lo) + ".." + std::to_string(hi);
}
}  // namespace

std::vector<uint8_t> encode_hello(const Hello& h) {
  std::vector<uint8_t> out;
  out.reserve(kHelloFixed + h.addr.size());
  out.push_back(kHelloMagic);
  out.push_back(kHelloFormat);
  for (int i = 0; i < 2; i++) out.push_back(static_cast<uint8_t>(h.proto_min >> (8 * i)));
  for (int i = 0; i < 2; i++) out.push_back(static_cast<uint8_t>(h.proto_max >> (8 * i)));
  for (int i = 0; i < 8; i++) out.push_back(static_cast<uint8_t>(h.features >> (8 * i)));
  const size_t n = std::min(h.addr.size(), kMaxAddr);
  out.push_back(static_cast<uint8_t>(n));
  out.insert(out.end(), h.addr.begin(), h.addr.begin() + static_cast<ptrdiff_t>(n));
  return out;
}

bool decode_hello(const std::vector<uint8_t>& p, Hello& out, std::string& why) {
  if (p.empty() || p[0] != kHelloMagic) {
    why =
        "the peer announced no protocol versions (a node built before them, which speaks only "
        "its own)";
    return false;
  }
  if (p.size() < kHelloFixed || p[1] == 0) {
    why = "a malformed hello (" + std::to_string(p.size()) + " bytes)";
    return false;
  }
  // Formats after 1 only append fields: read the ones format 1 has.
  Hello h;
  h.proto_min = static_cast<uint16_t>(p[2] | (p[3] << 8));
  h.proto_max = static_cast<uint16_t>(p[4] | (p[5] << 8));
  h.features = 0;
  for (int i = 0; i < 8; i++) h.features |= static_cast<uint64_t>(p[6 + i]) << (8 * i);
  const size_t n = p[14];
  if (p.size() < kHelloFixed + n) {
    why = "a hello whose address is cut short";
    return false;
  }
  if (h.proto_min == 0 || h.proto_min > h.proto_max) {
    why = "a hello with protocol range " + std::to_string(h.proto_min) + ".." +
          std::to_string(h.proto_max);
    return false;
  }
  h.addr.assign(p.begin() + kHelloFixed, p.begin() + static_cast<ptrdiff_t>(kHelloFixed + n));
  out = std::move(h);
  return true;
}

std::optional<uint16_t> negotiate(const Hello& ours, const Hello& theirs) {
  const uint16_t hi = std::min(ours.proto_max, theirs.proto_max);
  const uint16_t lo = std::max(ours.proto_min, theirs.proto_min);
  if (hi < lo) return std::nullopt;
  return hi;
}

std::string version_mismatch(const Hello& ours, const Hello& theirs) {
  return "peer speaks protocol " + range(theirs.proto_min, theirs.proto_max) + ", we speak " +
         range(ours.proto_min, ours.proto_max);
}

}  // namespace chord::wire
