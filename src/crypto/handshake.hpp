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

struct HandshakeConfig {
  const Identity* self = nullptr;      // borrowed; outlives the handshake
  std::string network;                 // network name
  std::optional<std::array<uint8_t, 32>> network_key;
  std::vector<uint8_t> payload;        // sent to the peer once it is authenticated
                                       // (the advertised address); <= 1024 bytes
  std::optional<Id> expected_peer;     // initiator: fail unless the responder has this id
  size_t max_frame = 1 << 21;          // for the Channel made at the end
};

class Handshake {
 public:
  enum class State { InProgress, Done, Failed };

  Handshake(bool initiator, HandshakeConfig cfg);
  ~Handshake();

  // Bytes to write to the peer now (the initiator has its first message ready
  // right after construction). Moves them out.
  std::vector<uint8_t> take_output();

  // Feeds bytes read from the peer, in any chunking. Returns 0 (progress, or
  // done), or kRefused (the peer is of another network, lacks the network key,
  // or is not expected_peer) or kProto (malformed) with a one-line why. After a
  // failure the handshake is dead. Bytes past the end of the handshake are
  // kept and handed to the channel.
  int feed(const uint8_t* p, size_t n, std::string& why);

  State state() const;
  // After Done:
  const Id& peer_id() const;
  const std::vector<uint8_t>& peer_payload() const;
  // The encrypted channel, made once; feed it the leftover bytes returned in
  // leftover (bytes already received after the handshake's last message).
  std::unique_ptr<Channel> make_channel(std::vector<uint8_t>& leftover);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chord::crypto
