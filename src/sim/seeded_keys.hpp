// SPDX-License-Identifier: MIT
// Ed25519 key pairs derived from ring ids, for hosts whose nodes have no
// identity file: the simulator, the core's unit tests and the node fuzzer.
// The key pair of id is crypto_sign_seed_keypair(seed = id), so anyone may
// sign as anyone: a stand-in for identities, never for a real network. What
// it keeps honest is the core's side: a broadcast whose signature does not
// match its origin's key, or its bytes, is refused there as on a real ring
// (where src/net binds id = BLAKE2b-256(key) instead).
#pragma once

#include <sodium.h>

#include <map>

#include "wire/messages.hpp"

namespace chord::sim {

class SeededKeys {
 public:
  struct Pair {
    wire::PublicKey pk{};
    std::array<uint8_t, 64> sk{};
  };
  const Pair& of(const wire::Id& id) {
    auto [it, fresh] = pairs_.try_emplace(id);
    if (fresh) crypto_sign_seed_keypair(it->second.pk.data(), it->second.sk.data(), id.data());
    return it->second;
  }
  void sign(const wire::Id& as, const wire::Bytes& msg, wire::PublicKey& pk, wire::Signature& sig) {
    const Pair& p = of(as);
    pk = p.pk;
    crypto_sign_detached(sig.data(), nullptr, msg.data(), msg.size(), p.sk.data());
  }
  bool verify(const wire::Id& id, const wire::PublicKey& pk, const wire::Bytes& msg,
              const wire::Signature& sig) {
    return of(id).pk == pk &&
           crypto_sign_verify_detached(sig.data(), msg.data(), msg.size(), pk.data()) == 0;
  }

 private:
  std::map<wire::Id, Pair> pairs_;
};

}  // namespace chord::sim
