// SPDX-License-Identifier: MIT
// Members that flood a real node over TCP (the C API), one test per bound of
// what a peer may make a node spend (the README's table): records pushed
// (replicate_rate), anti-entropy digests (digest_rate), range and pull pages
// (serve_rate), broadcasts forged, replayed, past their origin's rate or
// unsigned (forged_origin, stale_broadcast, broadcast_rate, verify_rate),
// popped values kept for retries (retry_cache) and stored bytes
// (store_full). Each shows the resource within its bound, with generous
// margins, and an honest node of the same ring setting and getting keys
// through the attacked one during and after the attack, every call a
// success. The attacker is tests/net/speaker.hpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "chord/chord.h"
#include "core/node.hpp"
#include "core/ring.hpp"
#include "real_node.hpp"
#include "speaker.hpp"
#include "wire/status.hpp"

namespace {

using chord::test::Node;
using chord::test::peak_rss;
using chord::test::reset_peak_rss;
using chord::test::Speaker;
namespace wire = chord::wire;
namespace core = chord::core;
using Clock = std::chrono::steady_clock;

// What the attacker advertises: a member's address (members' messages are
// dropped from a peer without one).
const char* const kMemberAddr = "127.0.0.1:9";

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

wire::Id id_of(chord_node* n) {
  wire::Id id{};
  EXPECT_EQ(chord_node_id(id.data(), n), 0);
  return id;
}

uint64_t keys_stored(chord_node* n) {
  chord_node_stats s{};
  EXPECT_EQ(chord_node_stats_get(&s, n), 0) << chord_error_last();
  return s.keys_stored;
}

const uint8_t* bytes(const std::string& s) {
  return reinterpret_cast<const uint8_t*>(s.data());
}

// Under a sanitizer the node runs several times slower, faster than it
// applies records no attacker can push, and freed memory is held in
// quarantine, so peak RSS says nothing of what the node keeps.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// Honest nodes wait for a hop's reply as long as by default (1 s; Node's
// 300 ms is for tests of failures), o's other options as given.
chord_node_opts honest_opts(const chord_node_opts* o) {
  chord_node_opts x = CHORD_NODE_OPTS_INIT;
  if (o) x = *o;
  if (!x.rpc_timeout_ms) x.rpc_timeout_ms = 1000;
  return x;
}

// Two honest nodes in one ring; the attacker speaks to a.
struct Ring {
  chord_node_opts oa, ob;
  Node a, b;
  explicit Ring(const chord_node_opts* o = nullptr)
      : oa(honest_opts(o)), ob(honest_opts(nullptr)), a(&oa), b(&ob) {
    EXPECT_EQ(chord_node_join(b.n, chord_node_addr(a.n), 5000), 0) << chord_error_last();
  }
};

// Honest operations through both nodes of a Ring, on a thread of their own
// while the attack runs: set a key through one node, get it through the
// other. The keys are a fixed set with values of one size, written before
// the attack, so that a full store (store_full) takes their overwrites.
class HonestLoad {
 public:
  static constexpr unsigned kKeys = 16;
  explicit HonestLoad(Ring& r) : a_(r.a.n), b_(r.b.n) {
    for (unsigned i = 0; i < kKeys; i++) op(i);
  }
  ~HonestLoad() { stop(); }
  void start() {
    thread_ = std::thread([this] {
      for (unsigned i = kKeys; !stop_; i++) {
        op(i);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    });
    wait_ops(2);
  }
  // Waits (up to 20 s) until n more operations have completed.
  void wait_ops(size_t n) {
    const size_t want = ops_ + n;
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while (ops_ < want && Clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_GE(ops_.load(), want) << "honest operations stalled";
  }
  // The attack starts: during() counts the operations completed since.
  void mark() { mark_ = ops_; }
  size_t during() const { return ops_ - mark_; }
  // The attack is over: some operations completed while it ran.
  void attack_over() { EXPECT_GE(during(), 2u) << "honest operations during the attack"; }
  // Stops after a few more operations (the attack is over: these are
  // "after"); every one of them, and every earlier one, succeeded.
  void finish() {
    wait_ops(4);
    stop();
    std::lock_guard<std::mutex> g(mu_);
    EXPECT_EQ(failures_, 0u) << "of " << ops_ << " honest set+get pairs; the first: " << first_;
    EXPECT_GE(ops_.load(), size_t{kKeys + 6});
  }

 private:
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  void op(unsigned i) {
    char key[32], value[32];
    std::snprintf(key, sizeof key, "honest-%02u", i % kKeys);
    std::snprintf(value, sizeof value, "v%08u", i % 100000000);
    chord_node* w = i % 2 ? a_ : b_;
    chord_node* r = i % 2 ? b_ : a_;
    const size_t kl = std::strlen(key), vl = std::strlen(value);
    int rc = chord_set(w, reinterpret_cast<uint8_t*>(key), kl, reinterpret_cast<uint8_t*>(value),
                       vl, 5000);
    if (rc != 0)
      return fail(std::string("set ") + key + ": " + chord_strerror(rc) + ": " +
                  chord_error_last());
    chord_buf got = {nullptr, 0};
    rc = chord_get(&got, r, reinterpret_cast<uint8_t*>(key), kl, 5000);
    const std::string v = rc == 0 ? std::string(reinterpret_cast<char*>(got.data), got.len) : "";
    const std::string why = rc == 0 ? "" : chord_error_last();
    chord_buf_dispose(&got);
    if (rc != 0) return fail(std::string("get ") + key + ": " + chord_strerror(rc) + ": " + why);
    if (v != value) return fail(std::string("get ") + key + " read " + v + ", not " + value);
    ops_++;
  }
  void fail(const std::string& what) {
    std::lock_guard<std::mutex> g(mu_);
    if (!failures_++) first_ = what;
  }
  chord_node *a_, *b_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> ops_{0};
  size_t mark_ = 0;
  std::mutex mu_;
  size_t failures_ = 0;
  std::string first_;
};

// Sends requests make(i), i = 0.., at most `window` unanswered at once, and
// hands each reply to on_reply until it returns false (or `most` were sent
// and all answered). Returns the number of replies; a reply that takes over
// 10 s fails the test.
size_t pipeline(Speaker& s, size_t most, size_t window,
                const std::function<wire::Body(size_t)>& make,
                const std::function<bool(const wire::Message&)>& on_reply) {
  size_t sent = 0, replies = 0;
  bool more = true;
  while (replies < sent || (more && sent < most)) {
    if (more && sent < most && sent - replies < window) {
      if (!s.send(sent + 1, make(sent))) {
        ADD_FAILURE() << "the node closed the link after " << sent << " requests";
        break;
      }
      sent++;
      continue;
    }
    wire::Message m;
    if (!s.recv(m, 10000)) {
      ADD_FAILURE() << "no reply within 10 s, " << replies << " of " << sent << " answered";
      break;
    }
    if (!wire::is_reply(m)) continue;  // a request of the node's own
    replies++;
    if (!on_reply(m)) more = false;
  }
  return replies;
}

// A Ring with its honest load running, and an attacker connected to a that
// advertised `advertise` (a member's address unless told).
struct Attack {
  Ring ring;
  HonestLoad honest{ring};
  Speaker s;
  bool connected = false;
  explicit Attack(const chord_node_opts* oa = nullptr, const char* advertise = kMemberAddr)
      : ring(oa) {
    std::string why;
    connected = s.connect(ring.a.port(), advertise, &why);
    EXPECT_TRUE(connected) << why;
    honest.start();
  }
};

int ack_status(const wire::Message& m) {
  const auto* ack = std::get_if<wire::Ack>(&m.body);
  return ack ? ack->status : 1;
}

// `count` records keyed prefix + i, with `value_bytes` of value each,
// written by `writer` now.
std::vector<wire::Record> records(const std::string& prefix, size_t first, size_t count,
                                  size_t value_bytes, const wire::Id& writer) {
  std::vector<wire::Record> out(count);
  const uint64_t hlc = Speaker::wall_ms() << 16;
  for (size_t i = 0; i < count; i++) {
    const std::string k = prefix + std::to_string(first + i);
    out[i].key.assign(k.begin(), k.end());
    out[i].value.assign(value_bytes, 'x');
    out[i].hlc = hlc;
    out[i].writer = writer;
  }
  return out;
}

// Pushes Replicate batches of `per` records (prefix + n, value_bytes of
// value each), `window` unanswered at once, at most `most` batches; on_ack
// gets each Ack's status and says whether to go on.
void push(Speaker& s, const std::string& prefix, size_t per, size_t value_bytes, size_t most,
          size_t window, const std::function<bool(int)>& on_ack) {
  pipeline(
      s, most, window,
      [&](size_t i) {
        wire::Replicate m;
        m.recs = records(prefix, i * per, per, value_bytes, s.identity.id);
        return wire::Body(std::move(m));
      },
      [&](const wire::Message& m) { return on_ack(ack_status(m)); });
}

TEST(HostileFloods, records_pushed_past_the_replicate_rate_are_refused) {
  if (kSanitized) GTEST_SKIP() << "a sanitized node applies fewer than 100,000 records a second";
  Attack at;  // a member
  ASSERT_TRUE(at.connected);
  const uint64_t before = keys_stored(at.ring.a.n);
  // Batches of 1,000 records: the bucket holds 200,000 (200 batches) and
  // refills 100,000 per second. Pushed until 20 batches were refused and
  // two honest operations completed (or 800,000 records, several seconds'
  // worth, were offered).
  const size_t kBatch = 1000;
  size_t accepted = 0, busy = 0;
  at.honest.mark();
  const auto t0 = Clock::now();
  push(at.s, "flood-", kBatch, 1, 800, 16, [&](int st) {
    EXPECT_TRUE(st == 0 || st == chord::kBusy) << st;
    (st == 0 ? accepted : busy)++;
    return busy < 20 || at.honest.during() < 2;
  });
  const double elapsed = seconds_since(t0);
  at.honest.attack_over();
  at.honest.finish();
  const uint64_t added = keys_stored(at.ring.a.n) - before;
  EXPECT_GE(busy, 20u);
  EXPECT_GE(at.ring.a.counter("refused.replicate_rate"), busy);
  EXPECT_EQ(added, accepted * kBatch);  // a busy batch applied nothing
  // Within the burst plus the rate over the attack, with a margin of half.
  const double bound = (200000 + 100000 * elapsed) * 1.5 + kBatch;
  EXPECT_LE(static_cast<double>(added), bound) << "in " << elapsed << " s";
  EXPECT_GE(added, 200000u);  // the burst itself was taken
}

TEST(HostileFloods, anti_entropy_digests_past_their_rate_are_answered_busy) {
  Attack at;  // a member
  ASSERT_TRUE(at.connected);
  // 6,000 records for each digest to scan (twice: every bucket differs).
  const size_t kRecords = 6000;
  size_t pushed = 0;
  push(at.s, "held-", 1000, 8, 6, 6, [&](int st) {
    pushed += st == 0 ? 1000 : 0;
    return true;
  });
  ASSERT_EQ(pushed, kRecords);
  const double held = static_cast<double>(keys_stored(at.ring.a.n));
  // Digests of the whole ring with every bucket zero, for a second (and
  // until two honest operations completed; at most 200,000). The
  // bucket of a peer holds 4x what the node holds and refills 2x per
  // anti_entropy_ms (5 s); each of these costs 2x what it holds.
  wire::Digest d;
  d.lo = d.hi = id_of(at.ring.a.n);
  d.buckets.assign(64, 0);
  size_t answered = 0, busy = 0;
  at.honest.mark();
  const auto t0 = Clock::now();
  pipeline(
      at.s, 200000, 8, [&](size_t) { return d; },
      [&](const wire::Message& m) {
        if (std::holds_alternative<wire::DigestResp>(m.body)) {
          answered++;
        } else {
          EXPECT_EQ(ack_status(m), chord::kBusy);
          busy++;
        }
        return seconds_since(t0) < 1 || at.honest.during() < 2;
      });
  const double elapsed = seconds_since(t0);
  at.honest.attack_over();
  at.honest.finish();
  EXPECT_GE(busy, 290u);
  EXPECT_GE(at.ring.a.counter("refused.digest_rate"), busy);
  // Answered while the bucket had anything left: its burst plus the refill,
  // each digest costing 2x held; doubled, plus one.
  const double bound = (4 * held + 2 * held * elapsed / 5.0) / (2 * held) * 2 + 1;
  EXPECT_LE(static_cast<double>(answered), bound) << "in " << elapsed << " s";
  EXPECT_GE(answered, 1u);
}

// One position before p: a range that starts there begins with p's key.
wire::Id just_before(wire::Id p) {
  for (int i = 31; i >= 0 && p[i]-- == 0; i--) {
  }
  return p;
}

TEST(HostileFloods, range_and_pull_pages_past_the_serve_rate_are_answered_busy) {
  Attack at;  // a member
  ASSERT_TRUE(at.connected);
  const std::string key = "big";
  const std::string value(1 << 20, 'x');
  ASSERT_EQ(chord_set(at.ring.a.n, bytes(key), key.size(), bytes(value), value.size(), 5000), 0);
  // Every request is answered with the 1 MiB record: a RangeReq starting
  // just before its position (one record past a 256 KiB page goes alone),
  // and a Pull of its key, in turn. 256 MiB of burst, 64 MiB/s after.
  wire::RangeReq range;
  range.lo = range.hi = just_before(core::key_id(bytes(key), key.size()));
  wire::Pull pull;
  pull.keys.emplace_back(key.begin(), key.end());
  size_t served = 0, busy = 0;
  at.honest.mark();
  const auto t0 = Clock::now();
  pipeline(
      at.s, 1500, 4, [&](size_t i) { return i % 2 ? wire::Body(pull) : wire::Body(range); },
      [&](const wire::Message& m) {
        if (const auto* r = std::get_if<wire::Records>(&m.body)) {
          for (const wire::Record& rec : r->recs) served += rec.key.size() + rec.value.size() + 64;
        } else {
          EXPECT_EQ(ack_status(m), chord::kBusy);
          busy++;
        }
        return busy < 16 || at.honest.during() < 2;
      });
  const double elapsed = seconds_since(t0);
  at.honest.attack_over();
  at.honest.finish();
  EXPECT_GE(busy, 16u);
  EXPECT_GE(at.ring.a.counter("refused.serve_rate"), busy);
  const double mib = 1 << 20;
  const double bound = (256 * mib + 64 * mib * elapsed + 2 * mib) * 1.5;
  EXPECT_LE(static_cast<double>(served), bound) << served / mib << " MiB in " << elapsed << " s";
  EXPECT_GE(static_cast<double>(served), 200 * mib);  // the burst was served
}

// A user message from the speaker, signed by it (its own origin) unless the
// caller changes it afterwards.
wire::Broadcast message_of(const Speaker& s, const wire::Id& limit, uint64_t bid,
                           const std::string& data, uint64_t sent_ms) {
  wire::Broadcast m;
  m.bid = bid;
  m.origin = s.self();
  m.limit = limit;
  m.kind = wire::Cast::Message;
  m.data.assign(data.begin(), data.end());
  s.sign(m, sent_ms);
  return m;
}

// The payloads of the messages chord_recv gives, until none came for quiet_ms.
std::vector<std::string> received(chord_node* n, int quiet_ms) {
  std::vector<std::string> out;
  chord_event ev;
  while (chord_recv(&ev, n, quiet_ms) == 0) {
    out.emplace_back(reinterpret_cast<const char*>(ev.data.data), ev.data.len);
    chord_event_dispose(&ev);
  }
  return out;
}

TEST(HostileFloods, broadcasts_forged_changed_or_replayed_are_refused_and_genuine_ones_delivered) {
  Attack at;  // a member
  ASSERT_TRUE(at.connected);
  const wire::Id a_id = id_of(at.ring.a.n), b_id = id_of(at.ring.b.n);
  const uint64_t now = Speaker::wall_ms();
  // In b's name, signed with the speaker's key.
  wire::Broadcast in_b_name = message_of(at.s, a_id, 1, "in b's name", now);
  in_b_name.origin = wire::Peer{b_id, chord_node_addr(at.ring.b.n)};
  at.s.sign(in_b_name, now);
  // The speaker's own, changed after signing (with the bid of the genuine
  // one below: a forged copy must not make it look like a duplicate).
  wire::Broadcast changed = message_of(at.s, a_id, 2, "genuine", now);
  changed.data.assign({'c', 'h', 'a', 'n', 'g', 'e', 'd'});
  // The speaker's own, signed, but sent two minutes ago.
  wire::Broadcast replayed = message_of(at.s, a_id, 3, "replayed", now - 120000);
  wire::Broadcast genuine = message_of(at.s, a_id, 2, "genuine", now);
  int rid = 0;
  for (wire::Broadcast* m : {&in_b_name, &changed, &replayed, &genuine})
    ASSERT_TRUE(at.s.send(++rid, *m));
  std::vector<int> acks;
  wire::Message m;
  while (acks.size() < 4 && at.s.recv(m, 5000))
    if (wire::is_reply(m)) acks.push_back(ack_status(m));
  EXPECT_EQ(acks, (std::vector<int>{chord::kRefused, chord::kRefused, chord::kRefused, 0}));
  EXPECT_EQ(at.ring.a.counter("refused.forged_origin"), 2u);
  EXPECT_EQ(at.ring.a.counter("refused.stale_broadcast"), 1u);
  // Only the genuine one reaches the application, at a and (relayed) at b,
  // in the speaker's name.
  for (chord_node* n : {at.ring.a.n, at.ring.b.n}) {
    chord_event ev;
    ASSERT_EQ(chord_recv(&ev, n, 5000), 0);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(ev.data.data), ev.data.len), "genuine");
    EXPECT_TRUE(std::equal(at.s.identity.id.begin(), at.s.identity.id.end(), ev.peer_id));
    EXPECT_EQ(ev.is_whisper, 0);
    chord_event_dispose(&ev);
    EXPECT_EQ(received(n, 200), std::vector<std::string>{});
  }
  at.honest.finish();
  EXPECT_EQ(at.ring.b.counter("refused.forged_origin"), 0u);  // a relayed none of them
}

TEST(HostileFloods, one_origins_broadcasts_past_its_rate_are_dropped) {
  Attack at;  // a member
  ASSERT_TRUE(at.connected);
  // 1,000 genuine messages at once, one-way (and more, up to 4,000, until
  // two honest operations completed): 200 of burst, 100 per second.
  const wire::Id a_id = id_of(at.ring.a.n);
  size_t sent = 0;
  at.honest.mark();
  const auto t0 = Clock::now();
  while (sent < 1000 || (at.honest.during() < 2 && sent < 4000)) {
    ASSERT_TRUE(at.s.send(
        0, message_of(at.s, a_id, sent + 1, "m" + std::to_string(sent), Speaker::wall_ms())));
    sent++;
  }
  const size_t kSent = sent;
  // Each is delivered or dropped; count until all are accounted for.
  size_t delivered = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (delivered + at.ring.a.counter("refused.broadcast_rate") < kSent && Clock::now() < deadline)
    delivered += received(at.ring.a.n, 20).size();
  const double elapsed = seconds_since(t0);
  at.honest.attack_over();
  EXPECT_EQ(delivered + at.ring.a.counter("refused.broadcast_rate"), kSent);
  EXPECT_GE(delivered, 200u);
  EXPECT_LE(static_cast<double>(delivered), (200 + 100 * elapsed) * 1.5 + 5)
      << "in " << elapsed << " s";
  // b hears only what a let through, and holds the origin to the same rate.
  const size_t at_b = received(at.ring.b.n, 500).size();
  EXPECT_LE(at_b, delivered);
  EXPECT_GE(at_b, 1u);
  at.honest.finish();
}

TEST(HostileFloods, unsigned_broadcasts_past_the_verify_rate_are_dropped_unchecked) {
  Attack at;  // a member
  ASSERT_TRUE(at.connected);
  // 60,000 broadcasts with no signature, one-way (and more, up to 120,000,
  // until two honest operations completed): the speaker may make the node
  // check 10,000 at once and 5,000 per second.
  const wire::Id a_id = id_of(at.ring.a.n);
  wire::Broadcast m;
  m.origin = at.s.self();
  m.limit = a_id;
  m.kind = wire::Cast::Message;
  m.data = {'u'};
  m.origin_key = at.s.identity.public_key;
  size_t sent = 0;
  at.honest.mark();
  const auto t0 = Clock::now();
  while (sent < 60000 || (at.honest.during() < 2 && sent < 120000)) {
    m.bid = ++sent;
    m.sent_ms = Speaker::wall_ms();
    ASSERT_TRUE(at.s.send(0, m));
  }
  const size_t kSent = sent;
  auto checked = [&] { return at.ring.a.counter("refused.forged_origin"); };
  auto unchecked = [&] { return at.ring.a.counter("refused.verify_rate"); };
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (checked() + unchecked() < kSent && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const double elapsed = seconds_since(t0);
  at.honest.attack_over();
  at.honest.finish();
  EXPECT_EQ(checked() + unchecked(), kSent);
  EXPECT_GE(unchecked(), 1u);
  EXPECT_LE(static_cast<double>(checked()), (10000 + 5000 * elapsed) * 1.5)
      << "in " << elapsed << " s";
  EXPECT_EQ(received(at.ring.a.n, 0), std::vector<std::string>{});
  EXPECT_EQ(received(at.ring.b.n, 0), std::vector<std::string>{});
}

TEST(HostileFloods, popped_values_kept_for_retries_stay_within_the_origins_share) {
  Attack at(nullptr, "");  // a light client: it may route operations
  ASSERT_TRUE(at.connected);
  const wire::Id a_id = id_of(at.ring.a.n), b_id = id_of(at.ring.b.n);
  // A key that a owns, in a ring of a and b: its position is in (b, a].
  std::string key;
  for (int i = 0; key.empty(); i++) {
    const std::string k = "pop-" + std::to_string(i);
    if (core::in_open_closed(core::key_id(bytes(k), k.size()), b_id, a_id)) key = k;
  }
  reset_peak_rss();
  const size_t peak_before = peak_rss();
  at.honest.mark();
  // 96 rounds (and more, until two honest operations completed) of: set
  // the key to 1 MiB, pop it. Each pop's reply holds the
  // value; the node may keep 4 MiB of one origin's replies for its retries
  // (before the bound it kept every one, 96 MiB, for 2 minutes).
  const size_t kRounds = 96;
  const std::string value(1 << 20, 'p');
  uint64_t hlc = 0;
  size_t popped = 0, redirects = 0;
  bool pop_next = false;  // one request at a time: set, then pop
  pipeline(
      at.s, 4 * kRounds, 1,
      [&](size_t i) {
        wire::OpReq req;
        req.op = pop_next ? wire::Op::Pop : wire::Op::Set;
        req.opid = i + 1;
        req.key.assign(key.begin(), key.end());
        req.target = core::key_id(req.key.data(), req.key.size());
        if (req.op == wire::Op::Set) req.value.assign(value.begin(), value.end());
        hlc = std::max(hlc + 1, Speaker::wall_ms() << 16);
        req.hlc = hlc;
        req.ttl_ms = 5000;
        return req;
      },
      [&](const wire::Message& m) {
        if (std::holds_alternative<wire::Redirect>(m.body) && ++redirects < 100)
          return true;  // the ring is still settling: asked again
        const auto* r = std::get_if<wire::OpResp>(&m.body);
        EXPECT_NE(r, nullptr);
        if (!r) return false;
        EXPECT_EQ(r->status, 0) << r->detail;
        if (pop_next) {
          EXPECT_EQ(r->value.size(), value.size());
          popped++;
        }
        pop_next = !pop_next;
        return r->status == 0 && (popped < kRounds || at.honest.during() < 2);
      });
  EXPECT_GE(popped, kRounds);
  at.honest.attack_over();
  at.honest.finish();
  // Three of the 1 MiB replies fit in the origin's 4 MiB; the rest were not
  // kept.
  EXPECT_GE(at.ring.a.counter("refused.retry_cache"), kRounds - 4);
  const size_t grew = peak_rss() - peak_before;
  if (!kSanitized) {
    EXPECT_LT(grew, size_t{48} << 20) << "peak RSS grew by " << (grew >> 20) << " MiB";
  }
}

TEST(HostileFloods, records_pushed_past_max_store_bytes_are_refused) {
  chord_node_opts o = CHORD_NODE_OPTS_INIT;
  const size_t kCap = 1 << 20;
  o.max_store_bytes = kCap;
  Attack at(&o);  // a member; the honest keys are written, and only overwritten
  ASSERT_TRUE(at.connected);
  const uint64_t before = keys_stored(at.ring.a.n);
  // 40 batches of 64 records of 4 KiB (and more, up to 200, until two
  // honest operations completed): 10 MiB offered to a 1 MiB store.
  const size_t kValue = 4096;
  size_t full = 0, batches = 0;
  at.honest.mark();
  push(at.s, "fill-", 64, kValue, 200, 4, [&](int st) {
    EXPECT_TRUE(st == 0 || st == chord::kNoMem) << st;
    full += st == chord::kNoMem;
    return ++batches < 40 || at.honest.during() < 2;
  });
  at.honest.attack_over();
  at.honest.finish();
  EXPECT_GE(full, 30u);
  EXPECT_GE(at.ring.a.counter("refused.store_full"), full);
  // What the attacker's records take (key, value and 64 bytes each) stays
  // within the cap.
  const uint64_t added = keys_stored(at.ring.a.n) - before;
  EXPECT_LE(added * (kValue + 64 + 8), kCap);
  EXPECT_GE(added, 1u);
}

}  // namespace
