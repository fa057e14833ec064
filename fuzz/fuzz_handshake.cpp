// SPDX-License-Identifier: MIT
// Fuzzes the handshake. The first input byte picks a scenario; the rest is the
// data. No input may crash it, and no input may complete a handshake that
// the peer did not honestly take part in.
//   mode 0  the bytes, fed to a responder
//   mode 1  the bytes, fed to an initiator after its hello
//   mode 2  the bytes, fed to a responder after an honest hello
//   mode 3  the bytes are the initiator's payload; it must arrive intact
//   mode 4  the bytes are XORed over an honest three-message transcript; any
//           change must fail the handshake
// Bits 3..7 of the first byte set the chunk size of the feeding (1..32).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "wire/status.hpp"
#include "crypto/handshake.hpp"

using namespace chord;
using namespace chord::crypto;

namespace {

const Identity &identity(uint8_t which) {
  static Identity ids[2];
  static bool made = [] {
    for (uint8_t i = 0; i < 2; ++i) {
      std::array<uint8_t, 32> seed{};
      seed.fill(static_cast<uint8_t>(i + 1));
      if (identity_from_seed(seed, ids[i]) != kOk) std::abort();
    }
    return true;
  }();
  (void)made;
  return ids[which];
}

HandshakeConfig config(uint8_t which, std::vector<uint8_t> payload = {}) {
  HandshakeConfig c;
  c.self = &identity(which);
  c.network = "fuzz";
  c.network_key = std::array<uint8_t, 32>{};
  c.payload = std::move(payload);
  return c;
}

void check(bool ok) {
  if (!ok) std::abort();
}

// Feeds p in chunks; returns the first error (0 if none).
int feed(Handshake &h, const uint8_t *p, size_t n, size_t chunk) {
  std::string why;
  for (size_t off = 0; off < n; off += chunk) {
    int rc = h.feed(p + off, std::min(chunk, n - off), why);
    if (rc != kOk) {
      check(rc == kRefused || rc == kProto);
      check(h.state() == Handshake::State::Failed);
      check(!why.empty());
      return rc;
    }
  }
  return kOk;
}

void feed_garbage(bool initiator, const uint8_t *p, size_t n, size_t chunk, bool hello_first) {
  Handshake victim(initiator, config(initiator ? 0 : 1));
  victim.take_output();
  if (hello_first) {
    Handshake honest(true, config(0));
    std::vector<uint8_t> hello = honest.take_output();
    check(feed(victim, hello.data(), hello.size(), chunk) == kOk);
  }
  feed(victim, p, n, chunk);
  // Completing would mean forging a MAC, an AEAD tag or a signature.
  check(victim.state() != Handshake::State::Done);
}

// Runs an honest handshake; mask (may be empty) is XORed over the transcript.
void honest_pair(const std::vector<uint8_t> &payload, const uint8_t *mask, size_t mask_len,
                 size_t chunk) {
  Handshake i(true, config(0, payload));
  Handshake r(false, config(1));
  size_t pos = 0;
  bool changed = false;
  bool failed = false;
  for (int msg = 0; msg < 3 && !failed; ++msg) {
    Handshake &from = msg == 1 ? r : i;
    Handshake &to = msg == 1 ? i : r;
    std::vector<uint8_t> m = from.take_output();
    check(!m.empty());
    for (size_t k = 0; k < m.size(); ++k, ++pos) {
      if (pos < mask_len && mask[pos] != 0) {
        m[k] ^= mask[pos];
        changed = true;
      }
    }
    failed = feed(to, m.data(), m.size(), chunk) != kOk;
  }
  bool both_done = i.state() == Handshake::State::Done && r.state() == Handshake::State::Done;
  check(both_done == !changed);
  if (both_done) {
    check(r.peer_payload() == payload);
    check(r.peer_id() == identity(0).id && i.peer_id() == identity(1).id);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  uint8_t mode = data[0] & 7;
  size_t chunk = static_cast<size_t>(data[0] >> 3) + 1;
  const uint8_t *p = data + 1;
  size_t n = size - 1;
  switch (mode) {
    case 0:
      feed_garbage(false, p, n, chunk, false);
      break;
    case 1:
      feed_garbage(true, p, n, chunk, false);
      break;
    case 2:
      feed_garbage(false, p, n, chunk, true);
      break;
    case 3:
      honest_pair(std::vector<uint8_t>(p, p + std::min(n, kMaxHandshakePayload)), nullptr, 0,
                  chunk);
      break;
    case 4:
      honest_pair({}, p, n, chunk);
      break;
    default:
      break;
  }
  return 0;
}
