// SPDX-License-Identifier: MIT
// The connection handshake, sans-IO: bytes in, bytes out.
//
// It proves that each side holds the Ed25519 key of the id it presents, agrees
// fresh session keys (forward secrecy), and binds the network name and the
// optional 32-byte network key, so that a peer of another network, or without
// the key, cannot complete it. docs/protocol.md gives the exact message flow.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crypto/channel.hpp"
#include "crypto/identity.hpp"

namespace chord::crypto {

// The largest HandshakeConfig::payload. Payloads are padded to this size on
// the wire, so their length is not visible either.
constexpr size_t kMaxHandshakePayload = 1024;
// The handshake's three messages have fixed sizes (docs/protocol.md).
constexpr size_t kHandshakeHelloBytes = 64;    // initiator -> responder
constexpr size_t kHandshakeReplyBytes = 1170;  // responder -> initiator
constexpr size_t kHandshakeProofBytes = 1138;  // initiator -> responder

// The one-line why of a refusal, for when the peer gives none: a responder
// that cannot authenticate our hello closes the connection without a word, so
// an initiator that sees the connection close during the handshake reports this
// (with kRefused). network and has_key are our own settings.
std::string refusal_reason(const std::string &network, bool has_key);

struct HandshakeConfig {
  const Identity *self = nullptr;  // borrowed; outlives the handshake
  std::string network;             // network name
  std::optional<std::array<uint8_t, 32>> network_key;
  std::vector<uint8_t> payload;     // sent to the peer once it is authenticated
                                    // (the advertised address); <= 1024 bytes
  std::optional<Id> expected_peer;  // initiator: fail unless the responder has this id
  size_t max_frame = 1 << 21;       // for the Channel made at the end
};

class Handshake {
 public:
  enum class State { InProgress, Done, Failed };

  Handshake(bool initiator, HandshakeConfig cfg);
  ~Handshake();

  // A config that cannot work (no identity, payload over kMaxHandshakePayload)
  // makes a handshake that is Failed from the start: feed returns kInval.
  //
  // Bytes to write to the peer now (the initiator has its first message ready
  // right after construction). Moves them out.
  std::vector<uint8_t> take_output();

  // Feeds bytes read from the peer, in any chunking. Returns 0 (progress, or
  // done), or kRefused (the peer is of another network, lacks the network key,
  // or is not expected_peer), kProto (malformed) or kInval (unusable config)
  // with a one-line why. After a failure the handshake is dead. Bytes past the
  // end of the handshake are kept and handed to the channel.
  int feed(const uint8_t *p, size_t n, std::string &why);

  State state() const;
  // After Done:
  const Id &peer_id() const;
  const std::vector<uint8_t> &peer_payload() const;
  // The encrypted channel, made once (nullptr before Done, or the second time); feed it the
  // leftover bytes returned in leftover (bytes already received after the handshake's last
  // message).
  std::unique_ptr<Channel> make_channel(std::vector<uint8_t> &leftover);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chord::crypto
