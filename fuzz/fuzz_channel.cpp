// SPDX-License-Identifier: MIT
// Fuzzes the encrypted channel. The first input byte picks a scenario; the
// rest is the data. No input may crash it or make it deliver a forged frame.
//   mode 0  the bytes, fed to open() as if read from the socket
//   mode 1  the bytes, cut into frames (each cut's length is a data byte),
//           sealed and opened: every frame must arrive intact and in order
//   mode 2  the bytes are XORed over a few honest frames: only the frames
//           before the first change may be delivered, intact
// Bits 3..7 of the first byte set the chunk size of the feeding (1..32).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "wire/status.hpp"
#include "crypto/aead_channel.hpp"

using namespace chord;
using namespace chord::crypto;

namespace {

constexpr size_t kMaxFrame = 4096;

void check(bool ok) {
  if (!ok) std::abort();
}

ChannelKey key_of(uint8_t b) {
  ChannelKey k;
  k.fill(b);
  return k;
}

// Opens wire in chunks into frames; returns the first error (0 if none).
int open_all(AeadChannel &ch, const std::vector<uint8_t> &wire, size_t chunk,
             std::vector<std::vector<uint8_t>> &frames) {
  std::function<void(const uint8_t *, size_t)> fn = [&](const uint8_t *p, size_t n) {
    check(n <= kMaxFrame);
    frames.emplace_back(p, p + n);
  };
  std::string why;
  for (size_t off = 0; off < wire.size(); off += chunk) {
    int rc = ch.open(wire.data() + off, std::min(chunk, wire.size() - off), fn, why);
    if (rc != kOk) {
      check(rc == kProto || rc == kTooBig);
      check(!why.empty());
      std::string again;
      check(ch.open(wire.data(), 1, fn, again) == rc);  // stays dead
      return rc;
    }
  }
  return kOk;
}

std::vector<std::vector<uint8_t>> cut(const uint8_t *p, size_t n) {
  std::vector<std::vector<uint8_t>> frames;
  size_t off = 0;
  while (off < n) {
    size_t len = std::min<size_t>(p[off], n - off - 1);
    frames.emplace_back(p + off + 1, p + off + 1 + len);
    off += 1 + len;
  }
  return frames;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  uint8_t mode = data[0] & 7;
  size_t chunk = static_cast<size_t>(data[0] >> 3) + 1;
  const uint8_t *p = data + 1;
  size_t n = size - 1;
  AeadChannel tx(key_of(1), key_of(2), kMaxFrame);
  AeadChannel rx(key_of(2), key_of(1), kMaxFrame);
  std::vector<std::vector<uint8_t>> got;
  if (mode == 0) {
    open_all(rx, std::vector<uint8_t>(p, p + n), chunk, got);
    check(got.empty());  // delivering one would mean a forged tag
  } else if (mode == 1) {
    std::vector<std::vector<uint8_t>> sent = cut(p, n);
    std::vector<uint8_t> wire;
    for (const auto &f : sent) check(tx.seal(f.data(), f.size(), wire) == kOk);
    check(open_all(rx, wire, chunk, got) == kOk);
    check(got == sent);
  } else if (mode == 2) {
    static const std::vector<std::vector<uint8_t>> sent = {{},
                                                           std::vector<uint8_t>(1, 'a'),
                                                           std::vector<uint8_t>(100, 'b'),
                                                           std::vector<uint8_t>(kMaxFrame, 'c'),
                                                           std::vector<uint8_t>(7, 'd')};
    std::vector<uint8_t> wire;
    std::vector<size_t> ends;
    for (const auto &f : sent) {
      check(tx.seal(f.data(), f.size(), wire) == kOk);
      ends.push_back(wire.size());
    }
    size_t first_change = wire.size();
    for (size_t k = 0; k < n && k < wire.size(); ++k) {
      if (p[k] != 0 && first_change == wire.size()) first_change = k;
      wire[k] ^= p[k];
    }
    int rc = open_all(rx, wire, chunk, got);
    size_t intact = 0;
    while (intact < ends.size() && ends[intact] <= first_change) ++intact;
    for (size_t k = 0; k < got.size(); ++k) check(got[k] == sent[k]);
    if (first_change == wire.size()) {
      check(rc == kOk && got.size() == sent.size());
    } else {
      check(got.size() == intact);  // every frame before the change, none after
    }
  }
  return 0;
}
