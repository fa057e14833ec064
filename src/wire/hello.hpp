// SPDX-License-Identifier: MIT
// What a node says of itself in the handshake (the payload that
// crypto::Handshake carries once the peer is authenticated): the protocol
// versions it speaks, the optional features it supports, and the address it
// advertises. Both sides speak the highest version in common; a peer with
// none in common is refused, naming both ranges (docs/protocol.md,
// "Versions and compatibility").
//
// Layout (little-endian): u8 magic 0xCD | u8 format (1) | u16 proto_min |
// u16 proto_max | u64 features | u8 address length | address bytes. The
// magic is no byte an address starts with: nodes built before versions sent
// the bare address, and are told apart. A newer format may only append
// fields; a reader takes the ones it knows and ignores the rest.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chord::wire {

// The protocol versions this build speaks. A minor change (a field appended
// to a message, a message only sent to peers with a feature bit) raises
// kProtocolMax and keeps kProtocolMin; a change old nodes cannot follow
// raises both.
constexpr uint16_t kProtocolMin = 1;
constexpr uint16_t kProtocolMax = 1;
// Feature bits, announced in the handshake: behaviour a peer may use with us
// only if we announced it. None yet.
constexpr uint64_t kFeaturesKnown = 0;

struct Hello {
  uint16_t proto_min = kProtocolMin;
  uint16_t proto_max = kProtocolMax;
  uint64_t features = kFeaturesKnown;
  std::string addr;  // empty: a light client
};

std::vector<uint8_t> encode_hello(const Hello& h);
// Parses a peer's hello; false with a one-line why if it is not one (too
// short, an unknown format 0, an address over 255 bytes, min > max).
bool decode_hello(const std::vector<uint8_t>& p, Hello& out, std::string& why);
// The version both speak (the highest in common), or nullopt.
std::optional<uint16_t> negotiate(const Hello& ours, const Hello& theirs);
// "peer speaks protocol 3..4, we speak 1..2"
std::string version_mismatch(const Hello& ours, const Hello& theirs);

}  // namespace chord::wire
