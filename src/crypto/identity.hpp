// SPDX-License-Identifier: MIT
// A node's long-term Ed25519 identity, and its ring id.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace chord::crypto {

using Id = std::array<uint8_t, 32>;

// sodium_init, idempotent and thread-safe. Returns 0 or kInternal.
int init();

struct Identity {
  std::array<uint8_t, 32> public_key{};
  std::array<uint8_t, 64> secret_key{};  // libsodium's Ed25519 secret key (seed || pk)
  Id id{};                               // BLAKE2b-256 of public_key
  ~Identity();                           // wipes secret_key
};

// A fresh key pair. Returns 0 or kInternal.
int identity_generate(Identity &out);

// The key pair whose Ed25519 seed is seed (deterministic). Returns 0 or kInternal.
int identity_from_seed(const std::array<uint8_t, 32> &seed, Identity &out);

// Loads the identity stored at path, or creates it there (mode 0600) if the file
// does not exist. The file is "CHORDID1" || seed (32) || public key (32): 72
// bytes, written to a temporary file and linked into place, so a reader never
// sees a partial file and two creators agree on one key. Returns 0, kIo (cannot read/write, or the
// file is not a valid identity; err says which) or kInternal.
// *warning (if given) is set when the file exists but its mode lets group or
// others access it: it is used anyway (mounted secrets are often 0644), and
// the caller says so.
int identity_load_or_create(const std::string &path, Identity &out, std::string &err,
                            std::string *warning = nullptr);

// The ring id of a public key: BLAKE2b-256 (crypto_generichash, no key).
Id id_of_public_key(const std::array<uint8_t, 32> &pk);

// Ed25519 detached signatures (crypto_sign_detached): by who, of msg[0..n);
// and whether sig is pk's signature of it.
void sign(const Identity &who, const uint8_t *msg, size_t n, std::array<uint8_t, 64> &sig);
bool verify(const std::array<uint8_t, 32> &pk, const uint8_t *msg, size_t n,
            const std::array<uint8_t, 64> &sig);

}  // namespace chord::crypto
