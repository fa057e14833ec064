// SPDX-License-Identifier: MIT
// A protocol speaker of our own for hostile-peer tests: it completes the
// real handshake with a node over TCP (with any identity and any advertised
// address), then sends and receives encrypted wire messages as it likes, or
// stops reading. Built from the library's own crypto and wire code
// (chord_proto), so it speaks exactly what a node speaks.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crypto/channel.hpp"
#include "crypto/handshake.hpp"
#include "crypto/identity.hpp"
#include "wire/hello.hpp"
#include "wire/messages.hpp"
#include "wire/status.hpp"

namespace chord::test {

class Speaker {
 public:
  crypto::Identity identity;
  // What it says of itself in the handshake: a hello (wire/hello.hpp) with
  // these versions and features and the advertised address, or, if set,
  // these bytes instead.
  wire::Hello hello;
  std::optional<std::vector<uint8_t>> raw_payload;

  Speaker() { crypto::identity_generate(identity); }
  ~Speaker() { close(); }
  Speaker(const Speaker&) = delete;
  Speaker& operator=(const Speaker&) = delete;

  // Connects to 127.0.0.1:port and completes the handshake, advertising
  // `advertise` (any bytes, up to the handshake's own limit). False, with
  // *why, if the node refused or closed.
  bool connect(int port, const std::string& advertise, std::string* why,
               const std::string& network = "chord") {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      *why = "connect: " + std::string(strerror(errno));
      return false;
    }
    crypto::HandshakeConfig hc;
    hc.self = &identity;
    hc.network = network;
    if (raw_payload) {
      hc.payload = *raw_payload;
    } else {
      wire::Hello h = hello;
      h.addr = advertise;
      hc.payload = wire::encode_hello(h);
    }
    advertised_ = advertise;
    hc.max_frame = 1 << 24;
    crypto::Handshake hs(true, hc);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (hs.state() == crypto::Handshake::State::InProgress) {
      std::vector<uint8_t> out = hs.take_output();
      if (!out.empty() && !write_all(out.data(), out.size())) {
        *why = "closed during the handshake";
        return false;
      }
      if (hs.state() != crypto::Handshake::State::InProgress) break;
      uint8_t buf[4096];
      const ssize_t n = read_some(buf, sizeof buf, deadline);
      if (n <= 0) {
        *why = n == 0 ? "closed during the handshake" : "timed out in the handshake";
        return false;
      }
      std::string w;
      if (hs.feed(buf, static_cast<size_t>(n), w) != kOk) {
        *why = w;
        return false;
      }
    }
    std::vector<uint8_t> out = hs.take_output();
    if (!out.empty() && !write_all(out.data(), out.size())) {
      *why = "closed at the end of the handshake";
      return false;
    }
    if (hs.state() != crypto::Handshake::State::Done) {
      *why = "handshake failed";
      return false;
    }
    peer_id_ = hs.peer_id();
    std::vector<uint8_t> leftover;
    channel_ = hs.make_channel(leftover);
    if (!leftover.empty()) take(leftover.data(), leftover.size());
    return true;
  }

  const wire::Id& peer_id() const { return peer_id_; }
  // The speaker as the node knows it: its id and the address it advertised.
  wire::Peer self() const { return wire::Peer{identity.id, advertised_}; }

  // The wall clock in ms since the Unix epoch, as a node's sent_ms and
  // versions count it.
  static uint64_t wall_ms() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  }
  // Signs m as its origin with this speaker's identity, as sent at sent_ms
  // (origin_key, sent_ms and sig; the origin itself is the caller's).
  void sign(wire::Broadcast& m, uint64_t sent_ms) const {
    m.origin_key = identity.public_key;
    m.sent_ms = sent_ms;
    const wire::Bytes part = wire::signed_part(m);
    crypto::sign(identity, part.data(), part.size(), m.sig);
  }

  // Sends one message; false if the connection is gone.
  bool send(uint64_t rid, wire::Body body) {
    wire::Message m;
    m.rid = rid;
    m.body = std::move(body);
    std::vector<uint8_t> plain;
    wire::encode(m, plain);
    return send_plain(plain);
  }
  // Sends these messages in one write, as a peer that pipelines does.
  bool send_all(const std::vector<wire::Message>& ms) {
    std::vector<uint8_t> plain, sealed;
    for (const wire::Message& m : ms) {
      plain.clear();
      wire::encode(m, plain);
      if (channel_->seal(plain.data(), plain.size(), sealed) != kOk) return false;
    }
    return write_all(sealed.data(), sealed.size());
  }
  // Sends these bytes as one frame's plaintext (an encoded message, or not).
  bool send_plain(const std::vector<uint8_t>& plain) {
    std::vector<uint8_t> sealed;
    if (channel_->seal(plain.data(), plain.size(), sealed) != kOk) return false;
    return write_all(sealed.data(), sealed.size());
  }

  // The next message within timeout_ms; false on timeout or when the node
  // closed the connection (closed() says which).
  bool recv(wire::Message& out, int timeout_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (inbox_.empty()) {
      uint8_t buf[65536];
      const ssize_t n = read_some(buf, sizeof buf, deadline);
      if (n == 0) closed_ = true;
      if (n <= 0) return false;
      take(buf, static_cast<size_t>(n));
    }
    out = std::move(inbox_.front());
    inbox_.pop_front();
    return true;
  }

  // True once a read saw the node close (or reset) the connection. Reads
  // and drops what arrives meanwhile, for up to timeout_ms.
  bool wait_closed(int timeout_ms) {
    wire::Message m;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!closed_ && std::chrono::steady_clock::now() < deadline) {
      recv(m, 50);
      inbox_.clear();
    }
    return closed_;
  }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // The socket's receive buffer, small, so that a speaker that stops
  // reading stops taking bytes soon.
  void shrink_receive_buffer() {
    int small = 4096;
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  }

 private:
  bool write_all(const uint8_t* p, size_t n) {
    while (n) {
      const ssize_t w = ::send(fd_, p, n, MSG_NOSIGNAL);
      if (w <= 0) return false;
      p += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  }
  // >0 bytes read, 0 closed (or reset), -1 timed out.
  ssize_t read_some(uint8_t* buf, size_t cap, std::chrono::steady_clock::time_point deadline) {
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            deadline - std::chrono::steady_clock::now())
                            .count();
      if (left <= 0) return -1;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      const ssize_t n = ::recv(fd_, buf, cap, 0);
      if (n < 0 && errno == EINTR) continue;
      return n < 0 ? 0 : n;  // an error (a reset) is a close too
    }
  }
  void take(const uint8_t* p, size_t n) {
    std::string why;
    const int rc = channel_->open(
        p, n,
        [&](const uint8_t* f, size_t fn) {
          wire::Message m;
          wire::Limits lim;
          lim.max_frame = lim.max_value = 1 << 24;
          std::string w;
          if (wire::decode(f, fn, lim, m, w) == kOk) inbox_.push_back(std::move(m));
        },
        why);
    if (rc != kOk) closed_ = true;
  }

  int fd_ = -1;
  bool closed_ = false;
  std::string advertised_;
  wire::Id peer_id_{};
  std::unique_ptr<crypto::Channel> channel_;
  std::deque<wire::Message> inbox_;
};

}  // namespace chord::test
