// SPDX-License-Identifier: MIT
#include "crypto/aead_channel.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "wire/status.hpp"

namespace chord::crypto {
namespace {

static_assert(kFrameTagBytes == crypto_aead_chacha20poly1305_ietf_ABYTES);
static_assert(crypto_aead_chacha20poly1305_ietf_NPUBBYTES == 12);
static_assert(crypto_aead_chacha20poly1305_ietf_KEYBYTES == 32);

// Header and body of one frame share the frame's counter and differ in the
// nonce's first byte, so no (key, nonce) pair is ever used twice.
enum : uint8_t { kNonceHeader = 0, kNonceBody = 1 };

using Nonce = std::array<uint8_t, crypto_aead_chacha20poly1305_ietf_NPUBBYTES>;

Nonce make_nonce(uint8_t domain, uint64_t counter) {
  Nonce n{};
  n[0] = domain;
  for (int i = 0; i < 8; ++i) n[4 + i] = static_cast<uint8_t>(counter >> (8 * i));
  return n;
}

void put_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

uint32_t get_u32(const uint8_t *p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

}  // namespace

void seal_frame_header(const ChannelKey &key, uint64_t counter, uint32_t len,
                       uint8_t out[kFrameHeaderBytes]) {
  uint8_t plain[4];
  put_u32(plain, len);
  Nonce n = make_nonce(kNonceHeader, counter);
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(out, out + 4, nullptr, plain, 4, nullptr, 0,
                                                     nullptr, n.data(), key.data());
}

AeadChannel::AeadChannel(const ChannelKey &send, const ChannelKey &recv, size_t max_frame)
    : send_key_(send), recv_key_(recv), max_frame_(std::min(max_frame, kFrameLengthMax)) {}

AeadChannel::~AeadChannel() {
  sodium_memzero(send_key_.data(), send_key_.size());
  sodium_memzero(recv_key_.data(), recv_key_.size());
}

int AeadChannel::seal(const uint8_t *p, size_t n, std::vector<uint8_t> &out) {
  if (n > max_frame_) return kTooBig;
  if (send_ctr_ == UINT64_MAX) return kInternal;  // 2^64 frames: never in practice
  size_t off = out.size();
  out.resize(off + kFrameOverhead + n);
  uint8_t *hdr = out.data() + off;
  seal_frame_header(send_key_, send_ctr_, static_cast<uint32_t>(n), hdr);
  uint8_t *body = hdr + kFrameHeaderBytes;
  Nonce nb = make_nonce(kNonceBody, send_ctr_);
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(body, body + n, nullptr, p, n, nullptr, 0,
                                                     nullptr, nb.data(), send_key_.data());
  ++send_ctr_;
  return kOk;
}

int AeadChannel::fail(int rc, std::string msg, std::string &why) {
  dead_rc_ = rc;
  dead_why_ = std::move(msg);
  why = dead_why_;
  return rc;
}

namespace {

constexpr size_t kKeepBuffer = 16 * 1024;  // larger buffers are released after use

// The plaintext of the frame being delivered. It is needed only while
// on_frame runs, so one buffer per thread serves every channel on it rather
// than one kept by each link: idle memory per node matters when hundreds
// share a process. An open() nested in another channel's on_frame on the
// same thread finds it busy and uses a buffer of its own.
struct PlainScratch {
  std::vector<uint8_t> buf;
  bool busy = false;
};
thread_local PlainScratch t_plain;

// Holds the plaintext buffer for one frame; wipes it afterwards, and lets a
// rare large frame's capacity go.
class PlainLease {
 public:
  explicit PlainLease(size_t n) : n_(n), lent_(!t_plain.busy), buf_(lent_ ? t_plain.buf : own_) {
    if (buf_.size() < n) buf_.resize(n);
    if (lent_) t_plain.busy = true;
  }
  ~PlainLease() {
    sodium_memzero(buf_.data(), n_);
    if (buf_.capacity() > kKeepBuffer) std::vector<uint8_t>().swap(buf_);
    if (lent_) t_plain.busy = false;
  }
  PlainLease(const PlainLease &) = delete;
  PlainLease &operator=(const PlainLease &) = delete;
  uint8_t *data() { return buf_.data(); }

 private:
  size_t n_;
  bool lent_;
  std::vector<uint8_t> own_;
  std::vector<uint8_t> &buf_;
};

}  // namespace

bool AeadChannel::open_body(const uint8_t *c,
                            const std::function<void(const uint8_t *, size_t)> &on_frame) {
  PlainLease plain(std::max<size_t>(body_len_, 1));
  Nonce nb = make_nonce(kNonceBody, recv_ctr_);
  if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(plain.data(), nullptr, c, body_len_,
                                                         c + body_len_, nullptr, 0, nb.data(),
                                                         recv_key_.data()) != 0)
    return false;
  ++recv_ctr_;
  in_body_ = false;
  on_frame(plain.data(), body_len_);
  return true;
}

int AeadChannel::open(const uint8_t *p, size_t n,
                      const std::function<void(const uint8_t *, size_t)> &on_frame,
                      std::string &why) {
  if (dead_rc_ != 0) {
    why = dead_why_;
    return dead_rc_;
  }
  while (n > 0) {
    if (!in_body_) {
      size_t take = std::min(kFrameHeaderBytes - hdr_have_, n);
      std::memcpy(hdr_.data() + hdr_have_, p, take);
      hdr_have_ += take;
      p += take;
      n -= take;
      if (hdr_have_ < kFrameHeaderBytes) break;
      hdr_have_ = 0;
      if (recv_ctr_ == UINT64_MAX) return fail(kProto, "channel: frame counter exhausted", why);
      uint8_t len_bytes[4];
      Nonce nh = make_nonce(kNonceHeader, recv_ctr_);
      if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(len_bytes, nullptr, hdr_.data(), 4,
                                                             hdr_.data() + 4, nullptr, 0, nh.data(),
                                                             recv_key_.data()) != 0)
        return fail(kProto,
                    "channel: frame " + std::to_string(recv_ctr_) +
                        " failed authentication (altered, replayed, reordered or "
                        "sealed with another key)",
                    why);
      uint32_t len = get_u32(len_bytes);
      if (len > max_frame_)
        return fail(kTooBig,
                    "channel: frame of " + std::to_string(len) + " bytes exceeds the limit of " +
                        std::to_string(max_frame_),
                    why);
      body_len_ = len;
      in_body_ = true;
      body_.clear();
      continue;
    }
    size_t need = body_len_ + kFrameTagBytes;
    const uint8_t *sealed = nullptr;
    if (body_.empty() && n >= need) {
      sealed = p;  // the whole body is in this read: open it in place, no copy
      p += need;
      n -= need;
    } else {
      if (body_.capacity() < need) body_.reserve(need);
      size_t take = std::min(need - body_.size(), n);
      body_.insert(body_.end(), p, p + take);
      p += take;
      n -= take;
      if (body_.size() < need) break;
      sealed = body_.data();
    }
    if (!open_body(sealed, on_frame))
      return fail(kProto,
                  "channel: frame " + std::to_string(recv_ctr_) +
                      " body failed authentication (altered or truncated)",
                  why);
    body_.clear();
    if (body_.capacity() > kKeepBuffer) std::vector<uint8_t>().swap(body_);
  }
  return kOk;
}

}  // namespace chord::crypto
