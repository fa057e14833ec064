// SPDX-License-Identifier: MIT
// An authenticated, encrypted, framed byte stream (after the handshake).
// Replayed, reordered, truncated or altered frames are detected; the first bad
// frame kills the channel. Lengths are checked before anything is allocated.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace chord::crypto {

class Channel {
 public:
  virtual ~Channel() = default;
  // Encrypts one frame of plaintext and appends its wire bytes to out.
  // Returns 0, or kTooBig when n exceeds the frame limit.
  virtual int seal(const uint8_t *p, size_t n, std::vector<uint8_t> &out) = 0;
  // Feeds bytes read from the socket, in any chunking. Calls on_frame once per
  // complete, authentic frame, in order. Returns 0, or kProto / kTooBig with a
  // one-line why; the channel is then dead and the connection must close.
  virtual int open(const uint8_t *p, size_t n,
                   const std::function<void(const uint8_t *, size_t)> &on_frame,
                   std::string &why) = 0;
};

}  // namespace chord::crypto
