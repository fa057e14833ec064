// SPDX-License-Identifier: MIT
// Key generation and ring ids. The identity file format is in identity_file.cpp.
#include "crypto/identity.hpp"

#include <sodium.h>

#include "wire/status.hpp"

namespace chord::crypto {

int init() {
  // sodium_init returns 1 when already initialised; both are success.
  return sodium_init() < 0 ? kInternal : kOk;
}

Identity::~Identity() {
  sodium_memzero(secret_key.data(), secret_key.size());
}

int identity_generate(Identity &out) {
  if (init() != kOk) return kInternal;
  if (crypto_sign_keypair(out.public_key.data(), out.secret_key.data()) != 0) return kInternal;
  out.id = id_of_public_key(out.public_key);
  return kOk;
}

int identity_from_seed(const std::array<uint8_t, 32> &seed, Identity &out) {
  if (init() != kOk) return kInternal;
  if (crypto_sign_seed_keypair(out.public_key.data(), out.secret_key.data(), seed.data()) != 0)
    return kInternal;
  out.id = id_of_public_key(out.public_key);
  return kOk;
}

void sign(const Identity &who, const uint8_t *msg, size_t n, std::array<uint8_t, 64> &sig) {
  crypto_sign_detached(sig.data(), nullptr, msg, n, who.secret_key.data());
}

bool verify(const std::array<uint8_t, 32> &pk, const uint8_t *msg, size_t n,
            const std::array<uint8_t, 64> &sig) {
  return crypto_sign_verify_detached(sig.data(), msg, n, pk.data()) == 0;
}

Id id_of_public_key(const std::array<uint8_t, 32> &pk) {
  Id id{};
  crypto_generichash(id.data(), id.size(), pk.data(), pk.size(), nullptr, 0);
  return id;
}

}  // namespace chord::crypto
