// SPDX-License-Identifier: MIT
// Protocol versions in the handshake (wire/hello.hpp), against real nodes over
// TCP: a peer with no version in common is refused on either side of the
// handshake, with a reason that names both ranges, and one with a range that
// includes ours is served. The peers are tests/net/speaker.hpp (initiator)
// and a responder here.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "chord/chord.h"
#include "speaker.hpp"

namespace {

using chord::test::Speaker;
namespace wire = chord::wire;
namespace crypto = chord::crypto;

struct Node {
  chord_node* n = nullptr;
  std::mutex mu;
  std::vector<std::string> lines;
  static void on_log(int, const char* line, void* ud) {
    auto* self = static_cast<Node*>(ud);
    std::lock_guard<std::mutex> lock(self->mu);
    self->lines.emplace_back(line);
  }
  Node() {
    chord_node_opts o = CHORD_NODE_OPTS_INIT;
    o.stabilize_ms = 50;
    o.rpc_timeout_ms = 300;
    o.log_cb = on_log;
    o.log_ud = this;
    o.log_level = CHORD_LOG_DEBUG;
    EXPECT_EQ(chord_node_new(&n, &o), 0) << chord_error_last();
  }
  ~Node() { chord_node_free(n); }
  int port() const {
    const std::string a = chord_node_addr(n);
    return std::atoi(a.substr(a.rfind(':') + 1).c_str());
  }
  // Whether a log line containing `what` appeared within timeout_ms.
  bool logged(const std::string& what, int timeout_ms = 3000) {
    for (int waited = 0; waited <= timeout_ms; waited += 20) {
      {
        std::lock_guard<std::mutex> lock(mu);
        for (const std::string& l : lines)
          if (l.find(what) != std::string::npos) return true;
      }
      usleep(20 * 1000);
    }
    return false;
  }
};

TEST(Versions, a_peer_with_no_version_in_common_is_refused_naming_both_ranges) {
  Node a;
  Speaker newer;
  newer.hello.proto_min = 5;
  newer.hello.proto_max = 6;
  std::string why;
  ASSERT_TRUE(newer.connect(a.port(), "127.0.0.1:9", &why)) << why;  // its side is done
  EXPECT_TRUE(newer.wait_closed(3000));
  const std::string ours =
      wire::kProtocolMin == wire::kProtocolMax
          ? std::to_string(wire::kProtocolMax)
          : std::to_string(wire::kProtocolMin) + ".." + std::to_string(wire::kProtocolMax);
  EXPECT_TRUE(a.logged("speaks protocol 5..6, we speak " + ours));
}

TEST(Versions, a_node_built_before_versions_is_told_apart) {
  Node a;
  Speaker old;
  const std::string addr = "127.0.0.1:9";
  old.raw_payload = std::vector<uint8_t>(addr.begin(), addr.end());  // the bare address
  std::string why;
  ASSERT_TRUE(old.connect(a.port(), "", &why)) << why;
  EXPECT_TRUE(old.wait_closed(3000));
  EXPECT_TRUE(a.logged("announced no protocol versions"));
}

TEST(Versions, a_peer_whose_range_includes_ours_is_served) {
  Node a;
  Speaker newer;
  newer.hello.proto_min = wire::kProtocolMin;
  newer.hello.proto_max = wire::kProtocolMax + 3;
  newer.hello.features = ~uint64_t{0};  // bits we do not know are ignored
  std::string why;
  ASSERT_TRUE(newer.connect(a.port(), "127.0.0.1:9", &why)) << why;
  ASSERT_TRUE(newer.send(77, wire::Ping{}));
  wire::Message m;
  bool pong = false;
  while (!pong && newer.recv(m, 3000))
    pong = m.rid == 77 && std::holds_alternative<wire::Pong>(m.body);
  EXPECT_TRUE(pong);
}

TEST(Versions, fields_a_newer_peer_appended_are_skipped_and_refused_from_any_other) {
  Node a;
  auto ping_with_tail = [] {
    wire::Message m;
    m.rid = 78;
    m.body = wire::Ping{};
    std::vector<uint8_t> plain;
    wire::encode(m, plain);
    plain.insert(plain.end(), {1, 2, 3});  // a field of a version we do not speak
    return plain;
  };
  Speaker newer;
  newer.hello.proto_max = wire::kProtocolMax + 1;
  std::string why;
  ASSERT_TRUE(newer.connect(a.port(), "127.0.0.1:9", &why)) << why;
  ASSERT_TRUE(newer.send_plain(ping_with_tail()));
  wire::Message m;
  bool pong = false;
  while (!pong && newer.recv(m, 3000))
    pong = m.rid == 78 && std::holds_alternative<wire::Pong>(m.body);
  EXPECT_TRUE(pong);
  // From a peer of our own version the same bytes are malformed.
  Speaker same;
  ASSERT_TRUE(same.connect(a.port(), "127.0.0.1:10", &why)) << why;
  ASSERT_TRUE(same.send_plain(ping_with_tail()));
  EXPECT_TRUE(same.wait_closed(3000));
  EXPECT_TRUE(a.logged("3 trailing bytes"));
}

// A responder that completes the handshake announcing [lo, hi], then keeps
// the connection until the test ends.
class Responder {
 public:
  Responder(uint16_t lo, uint16_t hi) {
    crypto::identity_generate(identity_);
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 4), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this, lo, hi] { serve(lo, hi); });
  }
  ~Responder() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  std::string addr() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  void serve(uint16_t lo, uint16_t hi) {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      crypto::HandshakeConfig hc;
      hc.self = &identity_;
      hc.network = "chord";
      wire::Hello h;
      h.proto_min = lo;
      h.proto_max = hi;
      h.addr = addr();
      hc.payload = wire::encode_hello(h);
      crypto::Handshake hs(false, hc);
      while (!stop_ && hs.state() == crypto::Handshake::State::InProgress) {
        pollfd q{c, POLLIN, 0};
        if (::poll(&q, 1, 100) <= 0) continue;
        uint8_t buf[4096];
        const ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        std::string why;
        hs.feed(buf, static_cast<size_t>(n), why);
        std::vector<uint8_t> out = hs.take_output();
        if (!out.empty()) ::send(c, out.data(), out.size(), MSG_NOSIGNAL);
      }
      conns_.push_back(c);
    }
    for (int c : conns_) ::close(c);
  }
  crypto::Identity identity_;
  int fd_ = -1, port_ = 0;
  std::atomic<bool> stop_{false};
  std::vector<int> conns_;
  std::thread thread_;
};

TEST(Versions, joining_a_node_of_another_protocol_range_says_why) {
  Responder newer(7, 9);
  Node a;
  EXPECT_EQ(chord_node_join(a.n, newer.addr().c_str(), 3000), CHORD_EREFUSED);
  const std::string err = chord_error_last();
  EXPECT_NE(err.find("speaks protocol 7..9, we speak"), std::string::npos) << err;
  EXPECT_EQ(err.find("trailing bytes"), std::string::npos) << err;
}

}  // namespace
