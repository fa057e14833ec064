// SPDX-License-Identifier: MIT
// Peers that complete the handshake and then misbehave, against real nodes
// over TCP (the C API): an advertised address that no message could carry,
// and a peer that asks for more than it reads. Each is cut off and counted;
// the node keeps serving. The peer is tests/net/speaker.hpp.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "chord/chord.h"
#include "core/node.hpp"
#include "real_node.hpp"
#include "speaker.hpp"

namespace {

using chord::test::Node;
using chord::test::peak_rss;
using chord::test::reset_peak_rss;
using chord::test::Speaker;
namespace wire = chord::wire;

TEST(HostileMembers, a_peer_advertising_an_address_no_message_can_carry_is_cut_off) {
  Node a, b;
  ASSERT_EQ(chord_node_join(b.n, chord_node_addr(a.n), 5000), 0) << chord_error_last();
  ASSERT_EQ(chord_set(a.n, reinterpret_cast<const uint8_t*>("k"), 1,
                      reinterpret_cast<const uint8_t*>("v"), 1, 5000),
            0);
  // An address that is no HOST:PORT, or one that needs DNS. (Over 255
  // bytes, which no message naming the peer could carry, a hello cannot
  // even say: its address has a one-byte length.)
  const std::string bad[] = {std::string(250, 'h') + ":7000", "not an address"};
  uint64_t refused = 0;
  for (const std::string& addr : bad) {
    Speaker s;
    std::string why;
    ASSERT_TRUE(s.connect(a.port(), addr, &why)) << why;
    s.send(0, wire::Notify{});
    EXPECT_TRUE(s.wait_closed(5000))
        << "the link to a peer advertising '" << addr.substr(0, 20) << "...' stayed open";
    EXPECT_EQ(a.counter("net.bad_addresses"), ++refused);
  }
  // A well-formed address is taken: the link answers.
  Speaker good;
  std::string why;
  ASSERT_TRUE(good.connect(a.port(), "127.0.0.1:9", &why)) << why;
  ASSERT_TRUE(good.send(77, wire::Ping{}));
  wire::Message m;
  bool pong = false;
  while (!pong && good.recv(m, 3000))
    pong = m.rid == 77 && std::holds_alternative<wire::Pong>(m.body);
  EXPECT_TRUE(pong);
  EXPECT_EQ(a.counter("net.bad_addresses"), refused);
  // The ring serves through both nodes.
  for (chord_node* n : {a.n, b.n}) {
    chord_buf v = {nullptr, 0};
    ASSERT_EQ(chord_get(&v, n, reinterpret_cast<const uint8_t*>("k"), 1, 5000), 0)
        << chord_error_last();
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(v.data), v.len), "v");
    chord_buf_dispose(&v);
  }
}

// Sets key = value through node a.
bool store(const Node& a, const std::string& key, const std::string& value) {
  return chord_set(a.n, reinterpret_cast<const uint8_t*>(key.data()), key.size(),
                   reinterpret_cast<const uint8_t*>(value.data()), value.size(), 5000) == 0;
}

// A node holding a 1 MiB value, a speaker, and a get of that value.
struct BigValue : ::testing::Test {
  Node a;
  const std::string key = "big";
  const std::string value = std::string(1 << 20, 'x');
  Speaker s;
  std::string why;
  wire::OpReq get;
  void SetUp() override {
    ASSERT_TRUE(store(a, key, value));
    get.op = wire::Op::Get;
    get.key.assign(key.begin(), key.end());
    get.target = chord::core::key_id(get.key.data(), get.key.size());
  }
};

// A peer that asks for far more than it reads: the node stops reading it
// at half its cap (backpressure), so what it queues stays bounded, keeps
// serving others, and cuts the link once it took nothing for kStalledMs.
TEST_F(BigValue, a_peer_that_asks_for_more_than_it_reads_is_cut_off) {
  ASSERT_TRUE(s.connect(a.port(), "", &why)) << why;  // a light client
  s.shrink_receive_buffer();
  reset_peak_rss();  // an earlier test's peak would hide this one's growth
  const size_t peak_before = peak_rss();
  // 200 gets of a 1 MiB value, about 6 kB of requests in one write: 200 MiB
  // of replies if the node queued them all. It may queue 32 MiB for one
  // link, and stops reading it at 16.
  for (uint64_t i = 1; i <= 200; i++) {
    get.opid = i;
    if (!s.send(i, get)) break;  // cut off already
  }
  for (int i = 0; i < 100 && !a.counter("net.reads_paused"); i++) usleep(50 * 1000);
  EXPECT_EQ(a.counter("net.reads_paused"), 1u);
  // The node keeps serving meanwhile.
  chord_buf v = {nullptr, 0};
  ASSERT_EQ(chord_get(&v, a.n, reinterpret_cast<const uint8_t*>(key.data()), key.size(), 5000), 0);
  EXPECT_EQ(v.len, value.size());
  chord_buf_dispose(&v);
  // Paused with nothing taken for kStalledMs (30 s): cut.
  uint64_t cut = 0;
  for (int i = 0; i < 900 && !cut; i++) {
    cut = a.counter("net.stalled_links_cut");
    if (!cut) usleep(50 * 1000);
  }
  EXPECT_EQ(cut, 1u);
  EXPECT_EQ(a.counter("net.slow_links_cut"), 0u);  // never near the hard cap
  EXPECT_TRUE(s.wait_closed(5000));
  // What the node queued for it stayed near half the 32 MiB cap (generous
  // margin; before the cap the peak grew by about 200 MiB).
  const size_t grew = peak_rss() - peak_before;
  EXPECT_LT(grew, size_t{64} << 20) << "peak RSS grew by " << (grew >> 20) << " MiB";
}

// Backpressure: a peer that stops reading is read no more once half of the
// cap is queued for it, so its further requests wait in its own socket
// instead of growing the node's queue to the cap; once it reads again, the
// node reads again and answers everything.
TEST_F(BigValue, a_peer_that_stops_reading_is_not_read_until_it_reads_again) {
  // Its receive buffer stays as the kernel sizes it (a few MiB): one far
  // below the segment size stalls loopback TCP itself.
  ASSERT_TRUE(s.connect(a.port(), "", &why)) << why;
  // 64 gets, one at a time: 64 MiB of replies, past the 32 MiB cap and what
  // the kernels' buffers hold if the node took every request while the peer
  // reads nothing.
  const uint64_t kGets = 64;
  for (uint64_t i = 1; i <= kGets; i++) {
    get.opid = i;
    ASSERT_TRUE(s.send(i, get));
    usleep(20 * 1000);
  }
  EXPECT_EQ(a.counter("net.reads_paused"), 1u);
  EXPECT_EQ(a.counter("net.slow_links_cut"), 0u);
  // It reads again: every get is answered, and the link was never cut.
  std::set<uint64_t> answered;
  wire::Message m;
  while (answered.size() < kGets && s.recv(m, 10000)) {
    const auto* r = std::get_if<wire::OpResp>(&m.body);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->status, 0);
    EXPECT_EQ(r->value.size(), value.size());
    answered.insert(m.rid);
  }
  EXPECT_EQ(answered.size(), kGets);
  EXPECT_EQ(a.counter("net.slow_links_cut"), 0u);
  EXPECT_EQ(a.counter("net.stalled_links_cut"), 0u);
}

// Fairness: a peer that pipelines megabytes of requests is read at most
// kReadBudgetPerTurn a loop turn (then the node's other connections), and
// loses nothing by it: every request is answered.
TEST(HostileMembers, a_pipelining_peer_is_read_a_turn_at_a_time_and_answered_in_full) {
  Node a;
  Speaker s;
  std::string why;
  ASSERT_TRUE(s.connect(a.port(), "127.0.0.1:9", &why)) << why;
  // 100,000 pings, about 5 MB in one write: the node, which decrypts and
  // answers each, cannot keep up with a writer that only copies, so its reads
  // find far more than one turn's budget waiting.
  std::vector<wire::Message> pings(100000);
  for (size_t i = 0; i < pings.size(); i++) {
    pings[i].rid = i + 1;
    pings[i].body = wire::Ping{};
  }
  ASSERT_TRUE(s.send_all(pings));
  std::set<uint64_t> answered;
  wire::Message m;
  while (answered.size() < pings.size() && s.recv(m, 5000))
    if (std::holds_alternative<wire::Pong>(m.body)) answered.insert(m.rid);
  EXPECT_EQ(answered.size(), pings.size());
  EXPECT_GE(a.counter("net.read_budget_yields"), 1u);
}

// An honest node refused for a full connection table is told that, not that
// it "holds another network key" (the responder resets before the
// handshake; a wrong key ends it with a hang-up).
TEST(HostileMembers, a_node_at_its_connection_limit_says_so_to_who_it_refuses) {
  chord_node_opts o = CHORD_NODE_OPTS_INIT;
  o.max_connections = 1;
  Node a(&o);
  // An outsider takes the one slot and sits in the handshake.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(a.port()));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  usleep(100 * 1000);
  Node b;
  const int rc = chord_node_join(b.n, chord_node_addr(a.n), 3000);
  const std::string why = chord_error_last();
  ::close(fd);
  EXPECT_EQ(rc, CHORD_EBUSY) << why;
  EXPECT_NE(why.find("connection limit"), std::string::npos) << why;
  EXPECT_EQ(why.find("key"), std::string::npos) << why;
  // With the slot free again, the join works.
  usleep(100 * 1000);
  EXPECT_EQ(chord_node_join(b.n, chord_node_addr(a.n), 5000), 0) << chord_error_last();
}

TEST(HostileMembers, counters_are_named_and_unknown_names_are_refused) {
  Node a;
  unsigned n = 0;
  for (; chord_counter_name(n); n++) EXPECT_EQ(a.counter(chord_counter_name(n)), 0u);
  EXPECT_GE(n, 11u);
  uint64_t v = 5;
  EXPECT_EQ(chord_node_counter(&v, a.n, "no.such.counter"), CHORD_ENOTFOUND);
  EXPECT_NE(std::string(chord_error_last()).find("no.such.counter"), std::string::npos);
  EXPECT_EQ(chord_node_counter(nullptr, a.n, "internal_errors"), CHORD_EINVAL);
}

TEST(HostileMembers, a_node_refuses_to_advertise_an_address_longer_than_the_wire_carries) {
  chord_node_opts o = CHORD_NODE_OPTS_INIT;
  const std::string addr = std::string(300, 'h') + ":7000";
  o.advertise = addr.c_str();
  chord_node* n = nullptr;
  EXPECT_EQ(chord_node_new(&n, &o), CHORD_EINVAL);
  EXPECT_NE(std::string(chord_error_last()).find("255"), std::string::npos);
  EXPECT_EQ(n, nullptr);
}

}  // namespace
