// SPDX-License-Identifier: MIT
#include "crypto/handshake.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "wire/status.hpp"
#include "crypto/aead_channel.hpp"
#include "pair.hpp"

namespace chord::crypto {
namespace {

using testing::run_pair;

const Identity &alice() {
  static Identity id = [] {
    Identity i;
    identity_generate(i);
    return i;
  }();
  return id;
}
const Identity &bob() {
  static Identity id = [] {
    Identity i;
    identity_generate(i);
    return i;
  }();
  return id;
}

std::array<uint8_t, 32> key_of(uint8_t b) {
  std::array<uint8_t, 32> k;
  k.fill(b);
  return k;
}

HandshakeConfig config(const Identity &self, std::string network = "net",
                       std::optional<std::array<uint8_t, 32>> key = std::nullopt,
                       std::string payload = "") {
  HandshakeConfig c;
  c.self = &self;
  c.network = std::move(network);
  c.network_key = key;
  c.payload.assign(payload.begin(), payload.end());
  return c;
}

std::vector<uint8_t> bytes_of(const std::string &s) {
  return {s.begin(), s.end()};
}

// Sends count frames each way over the two channels and checks each arrives
// intact and in order.
void expect_channels_agree(Channel &a, Channel &b, int count) {
  for (int dir = 0; dir < 2; ++dir) {
    Channel &from = dir == 0 ? a : b;
    Channel &to = dir == 0 ? b : a;
    std::vector<uint8_t> wire;
    for (int i = 0; i < count; ++i) {
      std::vector<uint8_t> msg(static_cast<size_t>(i * 7 % 300), static_cast<uint8_t>(i));
      ASSERT_EQ(from.seal(msg.data(), msg.size(), wire), kOk);
    }
    int got = 0;
    std::string why;
    int rc = to.open(
        wire.data(), wire.size(),
        [&](const uint8_t *p, size_t n) {
          std::vector<uint8_t> expect(static_cast<size_t>(got * 7 % 300),
                                      static_cast<uint8_t>(got));
          EXPECT_EQ(std::vector<uint8_t>(p, p + n), expect) << "frame " << got;
          ++got;
        },
        why);
    ASSERT_EQ(rc, kOk) << why;
    EXPECT_EQ(got, count);
  }
}

TEST(Handshake, messages_have_the_documented_fixed_sizes) {
  Handshake i(true, config(alice(), "net", std::nullopt, "short"));
  Handshake r(false, config(bob(), "net", std::nullopt, std::string(1000, 'x')));
  std::vector<size_t> sizes;
  auto res = run_pair(i, r, 0, [&](int, std::vector<uint8_t> &m) { sizes.push_back(m.size()); });
  ASSERT_EQ(res.resp_rc, kOk) << res.resp_why;
  ASSERT_EQ(res.init_rc, kOk) << res.init_why;
  EXPECT_EQ(sizes, (std::vector<size_t>{kHandshakeHelloBytes, kHandshakeReplyBytes,
                                        kHandshakeProofBytes}));
}

TEST(Handshake, completes_and_both_sides_agree) {
  Handshake i(true, config(alice(), "net", std::nullopt, "10.0.0.1:4444"));
  Handshake r(false, config(bob(), "net", std::nullopt, "10.0.0.2:5555"));
  auto res = run_pair(i, r);
  ASSERT_EQ(res.init_rc, kOk) << res.init_why;
  ASSERT_EQ(res.resp_rc, kOk) << res.resp_why;
  ASSERT_EQ(i.state(), Handshake::State::Done);
  ASSERT_EQ(r.state(), Handshake::State::Done);
  EXPECT_EQ(i.peer_id(), bob().id);
  EXPECT_EQ(r.peer_id(), alice().id);
  EXPECT_EQ(i.peer_payload(), bytes_of("10.0.0.2:5555"));
  EXPECT_EQ(r.peer_payload(), bytes_of("10.0.0.1:4444"));
  std::vector<uint8_t> li, lr;
  auto ci = i.make_channel(li);
  auto cr = r.make_channel(lr);
  ASSERT_TRUE(ci && cr);
  EXPECT_TRUE(li.empty());
  EXPECT_TRUE(lr.empty());
  expect_channels_agree(*ci, *cr, 500);
  EXPECT_EQ(i.make_channel(li), nullptr) << "the channel is made once";
}

TEST(Handshake, completes_with_a_network_key_and_empty_and_maximal_payloads) {
  Handshake i(true, config(alice(), "net", key_of(7), ""));
  Handshake r(false, config(bob(), "net", key_of(7), std::string(kMaxHandshakePayload, 'p')));
  auto res = run_pair(i, r);
  ASSERT_EQ(res.init_rc, kOk) << res.init_why;
  ASSERT_EQ(res.resp_rc, kOk) << res.resp_why;
  EXPECT_TRUE(r.peer_payload().empty());
  EXPECT_EQ(i.peer_payload(), std::vector<uint8_t>(kMaxHandshakePayload, 'p'));
}

TEST(Handshake, byte_by_byte_and_odd_chunks_complete) {
  for (size_t chunk : {1, 3, 63, 64, 65, 1000}) {
    Handshake i(true, config(alice(), "net", key_of(1), "a"));
    Handshake r(false, config(bob(), "net", key_of(1), "b"));
    auto res = run_pair(i, r, chunk);
    ASSERT_EQ(res.init_rc, kOk) << "chunk " << chunk << ": " << res.init_why;
    ASSERT_EQ(res.resp_rc, kOk) << "chunk " << chunk << ": " << res.resp_why;
    EXPECT_EQ(i.state(), Handshake::State::Done);
    EXPECT_EQ(r.state(), Handshake::State::Done);
    EXPECT_EQ(i.peer_id(), bob().id);
    EXPECT_EQ(r.peer_payload(), bytes_of("a"));
  }
}

TEST(Handshake, wrong_network_name_is_refused_by_the_responder_at_once) {
  Handshake i(true, config(alice(), "net-a"));
  Handshake r(false, config(bob(), "net-b"));
  auto res = run_pair(i, r);
  EXPECT_EQ(res.resp_rc, kRefused);
  EXPECT_EQ(res.resp_why, refusal_reason("net-b", false));
  EXPECT_EQ(r.state(), Handshake::State::Failed);
  EXPECT_TRUE(r.take_output().empty()) << "a refusing responder sends nothing";
  EXPECT_NE(i.state(), Handshake::State::Done);
}

TEST(Handshake, wrong_network_key_is_refused) {
  Handshake i(true, config(alice(), "net", key_of(1)));
  Handshake r(false, config(bob(), "net", key_of(2)));
  auto res = run_pair(i, r);
  EXPECT_EQ(res.resp_rc, kRefused);
  EXPECT_NE(res.resp_why.find("another network key"), std::string::npos) << res.resp_why;
  EXPECT_NE(i.state(), Handshake::State::Done);
  EXPECT_NE(r.state(), Handshake::State::Done);
}

TEST(Handshake, missing_network_key_is_refused_either_way) {
  for (bool initiator_has_key : {false, true}) {
    Handshake i(
        true, config(alice(), "net", initiator_has_key ? std::optional(key_of(3)) : std::nullopt));
    Handshake r(false,
                config(bob(), "net", initiator_has_key ? std::nullopt : std::optional(key_of(3))));
    auto res = run_pair(i, r);
    EXPECT_EQ(res.resp_rc, kRefused);
    EXPECT_NE(i.state(), Handshake::State::Done);
    EXPECT_NE(r.state(), Handshake::State::Done);
  }
}

TEST(Handshake, a_zero_network_key_is_not_the_same_as_no_key) {
  Handshake i(true, config(alice(), "net", key_of(0)));
  Handshake r(false, config(bob(), "net"));
  auto res = run_pair(i, r);
  EXPECT_EQ(res.resp_rc, kRefused);
}

TEST(Handshake, expected_peer_mismatch_is_refused_by_the_initiator) {
  auto c = config(alice());
  c.expected_peer = alice().id;  // not bob
  Handshake i(true, c);
  Handshake r(false, config(bob()));
  auto res = run_pair(i, r);
  EXPECT_EQ(res.init_rc, kRefused);
  EXPECT_NE(res.init_why.find("expected"), std::string::npos) << res.init_why;
  EXPECT_EQ(i.state(), Handshake::State::Failed);
  EXPECT_NE(r.state(), Handshake::State::Done) << "the initiator must not reveal itself";
}

TEST(Handshake, expected_peer_match_completes) {
  auto c = config(alice());
  c.expected_peer = bob().id;
  Handshake i(true, c);
  Handshake r(false, config(bob()));
  auto res = run_pair(i, r);
  EXPECT_EQ(res.init_rc, kOk) << res.init_why;
  EXPECT_EQ(res.resp_rc, kOk) << res.resp_why;
}

// Mallory knows the network and bob's public key, but not bob's secret key.
const Identity &mallory_as_bob() {
  static Identity id = [] {
    Identity i;
    identity_generate(i);
    i.public_key = bob().public_key;
    i.id = bob().id;
    return i;
  }();
  return id;
}

TEST(Handshake, a_responder_without_the_secret_key_of_its_claimed_id_is_refused) {
  auto c = config(alice());
  c.expected_peer = bob().id;
  Handshake i(true, c);
  Handshake r(false, config(mallory_as_bob()));
  auto res = run_pair(i, r);
  EXPECT_EQ(res.init_rc, kRefused);
  EXPECT_NE(res.init_why.find("prove its identity"), std::string::npos) << res.init_why;
  EXPECT_NE(r.state(), Handshake::State::Done);
}

TEST(Handshake, an_initiator_without_the_secret_key_of_its_claimed_id_is_refused) {
  Handshake i(true, config(mallory_as_bob()));
  Handshake r(false, config(alice()));
  auto res = run_pair(i, r);
  EXPECT_EQ(res.resp_rc, kRefused);
  EXPECT_NE(res.resp_why.find("prove its identity"), std::string::npos) << res.resp_why;
  EXPECT_EQ(r.state(), Handshake::State::Failed);
}

TEST(Handshake, flipping_any_byte_of_any_message_fails_the_receiver) {
  const size_t sizes[] = {kHandshakeHelloBytes, kHandshakeReplyBytes, kHandshakeProofBytes};
  int failures = 0;
  for (int msg = 0; msg < 3; ++msg) {
    for (size_t pos = 0; pos < sizes[msg]; ++pos) {
      Handshake i(true, config(alice(), "net", key_of(9), "x"));
      Handshake r(false, config(bob(), "net", key_of(9), "y"));
      auto res = run_pair(i, r, 0, [&](int index, std::vector<uint8_t> &m) {
        if (index == msg) m[pos] ^= static_cast<uint8_t>(1u << (pos % 8));
      });
      int rc = msg == 1 ? res.init_rc : res.resp_rc;
      Handshake &receiver = msg == 1 ? i : r;
      if (rc != kRefused && rc != kProto) {
        ADD_FAILURE() << "message " << msg << " byte " << pos << ": rc " << rc;
        if (++failures > 5) return;
      }
      EXPECT_EQ(receiver.state(), Handshake::State::Failed);
      EXPECT_FALSE(i.state() == Handshake::State::Done && r.state() == Handshake::State::Done);
    }
  }
}

TEST(Handshake, identities_and_payloads_are_never_sent_in_clear) {
  Handshake i(true, config(alice(), "net", std::nullopt, "initiator-address"));
  Handshake r(false, config(bob(), "net", std::nullopt, "responder-address"));
  std::vector<uint8_t> all;
  auto res = run_pair(
      i, r, 0, [&](int, std::vector<uint8_t> &m) { all.insert(all.end(), m.begin(), m.end()); });
  ASSERT_EQ(res.resp_rc, kOk);
  auto contains = [&](const uint8_t *p, size_t n) {
    return std::search(all.begin(), all.end(), p, p + n) != all.end();
  };
  EXPECT_FALSE(contains(alice().public_key.data(), 32));
  EXPECT_FALSE(contains(bob().public_key.data(), 32));
  EXPECT_FALSE(contains(reinterpret_cast<const uint8_t *>("initiator-address"), 17));
  EXPECT_FALSE(contains(reinterpret_cast<const uint8_t *>("responder-address"), 17));
  EXPECT_FALSE(contains(reinterpret_cast<const uint8_t *>("net"), 3));
}

TEST(Handshake, fresh_session_keys_for_every_connection) {
  std::vector<std::vector<uint8_t>> wires;
  std::vector<std::unique_ptr<Channel>> responders;
  for (int conn = 0; conn < 2; ++conn) {
    Handshake i(true, config(alice()));
    Handshake r(false, config(bob()));
    auto res = run_pair(i, r);
    ASSERT_EQ(res.resp_rc, kOk);
    std::vector<uint8_t> left;
    auto ci = i.make_channel(left);
    responders.push_back(r.make_channel(left));
    std::vector<uint8_t> wire;
    const uint8_t same[] = "the same plaintext";
    ASSERT_EQ(ci->seal(same, sizeof same, wire), kOk);
    wires.push_back(wire);
  }
  ASSERT_EQ(wires[0].size(), wires[1].size());
  EXPECT_NE(wires[0], wires[1]);
  // A frame of one connection does not open on the other.
  std::string why;
  int frames = 0;
  EXPECT_EQ(responders[1]->open(
                wires[0].data(), wires[0].size(), [&](const uint8_t *, size_t) { ++frames; }, why),
            kProto);
  EXPECT_EQ(frames, 0);
}

TEST(Handshake, bytes_after_the_last_message_go_to_the_channel) {
  Handshake i(true, config(alice()));
  Handshake r(false, config(bob()));
  std::string why;
  std::vector<uint8_t> hello = i.take_output();
  ASSERT_EQ(r.feed(hello.data(), hello.size(), why), kOk) << why;
  std::vector<uint8_t> reply = r.take_output();
  ASSERT_EQ(i.feed(reply.data(), reply.size(), why), kOk) << why;
  ASSERT_EQ(i.state(), Handshake::State::Done);
  std::vector<uint8_t> wire = i.take_output();
  std::vector<uint8_t> left;
  auto ci = i.make_channel(left);
  const uint8_t early[] = "early frame";
  ASSERT_EQ(ci->seal(early, sizeof early, wire), kOk);  // appended right after message 3
  ASSERT_EQ(r.feed(wire.data(), wire.size(), why), kOk) << why;
  ASSERT_EQ(r.state(), Handshake::State::Done);
  auto cr = r.make_channel(left);
  ASSERT_EQ(left.size(), kFrameOverhead + sizeof early);
  std::vector<uint8_t> got;
  ASSERT_EQ(
      cr->open(
          left.data(), left.size(), [&](const uint8_t *p, size_t n) { got.assign(p, p + n); }, why),
      kOk)
      << why;
  EXPECT_EQ(got, std::vector<uint8_t>(early, early + sizeof early));
}

TEST(Handshake, oversized_payload_or_no_identity_fails_with_kinval) {
  Handshake big(true, config(alice(), "net", std::nullopt, std::string(1025, 'x')));
  EXPECT_EQ(big.state(), Handshake::State::Failed);
  EXPECT_TRUE(big.take_output().empty());
  std::string why;
  uint8_t b = 0;
  EXPECT_EQ(big.feed(&b, 1, why), kInval);
  EXPECT_NE(why.find("1025"), std::string::npos) << why;
  HandshakeConfig none;
  Handshake anon(false, none);
  EXPECT_EQ(anon.feed(&b, 1, why), kInval);
}

TEST(Handshake, refusal_reason_names_the_network_and_the_key) {
  EXPECT_EQ(refusal_reason("x", true),
            "handshake refused: the peer is not of network 'x' or holds another network key");
  EXPECT_EQ(refusal_reason("x", false),
            "handshake refused: the peer is not of network 'x' or requires a network key");
}

}  // namespace
}  // namespace chord::crypto
