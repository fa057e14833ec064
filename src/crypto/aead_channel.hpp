// SPDX-License-Identifier: MIT
// The Channel made by the handshake: ChaCha20-Poly1305 (IETF) frames with a
// per-direction key and a 64-bit frame counter as the nonce.
//
// A frame is a sealed 4-byte length header (20 bytes) followed by the sealed
// body (length + 16 bytes). The header is authenticated on its own, so a length
// is known authentic, and checked against max_frame, before any of the body is
// buffered. docs/protocol.md has the byte layout.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "crypto/channel.hpp"

namespace chord::crypto {

using ChannelKey = std::array<uint8_t, 32>;

constexpr size_t kFrameTagBytes = 16;                     // Poly1305
constexpr size_t kFrameHeaderBytes = 4 + kFrameTagBytes;  // sealed u32 length
constexpr size_t kFrameOverhead = kFrameHeaderBytes + kFrameTagBytes;
constexpr size_t kFrameLengthMax = 0xffffffffu;  // what the header can say

class AeadChannel final : public Channel {
 public:
  // send seals our frames, recv opens the peer's. max_frame bounds both
  // directions' plaintext (clamped to kFrameLengthMax).
  AeadChannel(const ChannelKey &send, const ChannelKey &recv, size_t max_frame);
  ~AeadChannel() override;
  AeadChannel(const AeadChannel &) = delete;
  AeadChannel &operator=(const AeadChannel &) = delete;

  // p must not point into out.
  int seal(const uint8_t *p, size_t n, std::vector<uint8_t> &out) override;
  // on_frame's pointer is valid during the call only. on_frame may call seal()
  // but must not destroy the channel or call open().
  int open(const uint8_t *p, size_t n, const std::function<void(const uint8_t *, size_t)> &on_frame,
           std::string &why) override;

 private:
  int fail(int rc, std::string msg, std::string &why);
  bool open_body(const uint8_t *c, const std::function<void(const uint8_t *, size_t)> &on_frame);

  ChannelKey send_key_;
  ChannelKey recv_key_;
  size_t max_frame_;
  uint64_t send_ctr_ = 0;
  uint64_t recv_ctr_ = 0;
  // Receive state: a header being assembled, or a body of body_len_ bytes.
  std::array<uint8_t, kFrameHeaderBytes> hdr_{};
  size_t hdr_have_ = 0;
  bool in_body_ = false;
  size_t body_len_ = 0;
  std::vector<uint8_t> body_;  // a body split across reads; capacity reused
  int dead_rc_ = 0;
  std::string dead_why_;
};

// The wire form of the header of frame number counter announcing len bytes,
// sealed under key. seal() is built on it; tests use it to forge lengths that a
// sender would refuse to seal.
void seal_frame_header(const ChannelKey &key, uint64_t counter, uint32_t len,
                       uint8_t out[kFrameHeaderBytes]);

}  // namespace chord::crypto
