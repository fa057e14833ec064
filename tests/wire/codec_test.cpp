// SPDX-License-Identifier: MIT
// wire::encode / wire::decode: every message round-trips; malformed input is
// refused cleanly.
#include <gtest/gtest.h>

#include "wire/status.hpp"
#include "wire/messages.hpp"
#include "wire/hello.hpp"

namespace chord::wire {
namespace {

Bytes b(const std::string& s) {
  return Bytes(s.begin(), s.end());
}
Id id(uint8_t v) {
  Id x{};
  x.fill(v);
  return x;
}
Peer peer(uint8_t v, const std::string& addr) {
  return Peer{id(v), addr};
}
template <size_t N>
std::array<uint8_t, N> filled(uint8_t v) {
  std::array<uint8_t, N> x{};
  x.fill(v);
  return x;
}
Record record(const std::string& k, const std::string& v, bool tomb) {
  Record r;
  r.key = b(k);
  r.value = tomb ? Bytes{} : b(v);
  r.hlc = 0x0102030405060708ull;
  r.writer = id(3);
  r.tomb = tomb;
  return r;
}

// One populated instance of every message type.
std::vector<Message> samples() {
  std::vector<Message> v;
  v.push_back({1, StateReq{}});
  v.push_back({2, StateResp{true,
                            true,
                            peer(1, "a:1"),
                            {peer(2, "b:2"), peer(3, "c:3")},
                            60000,
                            true,
                            peer(6, "f:6")}});
  v.push_back({0, Notify{true}});
  v.push_back({3, Ping{}});
  v.push_back({3, Pong{}});
  v.push_back({4, Leave{true, true, peer(4, "d:4"), {peer(5, "e:5")}}});
  OpReq op;
  op.op = Op::Iter;
  op.flags = kFlagValues | kFlagHasAfter;
  op.opid = 99;
  op.target = id(6);
  op.key = b("key");
  op.value = b("value");
  op.pos = id(7);
  op.end = id(8);
  op.limit = 256;
  v.push_back({5, op});
  OpResp resp;
  resp.status = -1;
  resp.flags = kFlagDone | kFlagHasPred;
  resp.key = b("k");
  resp.value = b("v");
  resp.detail = "why";
  resp.items = {KeyValue{b("a"), b("1")}, KeyValue{b("b"), {}}};
  resp.peers = {peer(9, "f:9")};
  resp.pred = peer(10, "");
  resp.pos = id(11);
  v.push_back({6, resp});
  v.push_back({7, Redirect{true, {peer(12, "g:12"), peer(13, "h:13")}}});
  v.push_back({8, Replicate{true, {record("x", "1", false), record("y", "", true)}}});
  v.push_back({9, Ack{-6}});
  v.push_back({10, Digest{id(14), id(15), std::vector<uint64_t>(64, 0xdeadbeef)}});
  v.push_back({11, DigestResp{{1, 5, 63}, {record("z", "", false)}}});
  v.push_back({12, Pull{{b("p"), b("q"), Bytes{}}}});
  v.push_back({13, RangeReq{id(16), id(17), true, id(18), b("after")}});
  v.push_back({14, Records{true, {record("r", "2", false)}}});
  v.push_back({15, Broadcast{77,
                             peer(19, "i:19"),
                             id(20),
                             Cast::Keys,
                             {{KeyChange::Add, b("key")}, {KeyChange::Delete, b("k2")}},
                             b("data"),
                             0,
                             1796083200123,
                             filled<32>(0xa5),
                             filled<64>(0x5a)}});
  v.push_back({16, Subscribe{6000, true}});
  return v;
}

Bytes enc(const Message& m) {
  Bytes out;
  encode(m, out);
  return out;
}

TEST(Codec, a_broadcast_signs_everything_but_its_limit) {
  Broadcast a{9, peer(1, "a:1"), id(2),         Cast::Message, {}, b("hello"),
              0, 1234,           filled<32>(3), filled<64>(4)};
  const Bytes part = signed_part(a);
  const std::string tag = "chord.broadcast.1";
  ASSERT_GE(part.size(), tag.size());
  EXPECT_EQ(std::string(part.begin(), part.begin() + tag.size()), tag);
  Broadcast relayed = a;  // a relay sets the limit of each subtree
  relayed.limit = id(7);
  relayed.sig = filled<64>(8);
  relayed.origin_key = filled<32>(9);  // checked by the signature itself
  EXPECT_EQ(signed_part(relayed), part);
  auto changed = [&](auto edit) {
    Broadcast c = a;
    edit(c);
    return signed_part(c) != part;
  };
  EXPECT_TRUE(changed([](Broadcast& c) { c.bid++; }));
  EXPECT_TRUE(changed([](Broadcast& c) { c.origin.id[5] ^= 1; }));
  EXPECT_TRUE(changed([](Broadcast& c) { c.origin.addr = "b:1"; }));
  EXPECT_TRUE(changed([](Broadcast& c) { c.kind = Cast::Listen; }));
  EXPECT_TRUE(changed([](Broadcast& c) { c.data = b("hellp"); }));
  EXPECT_TRUE(changed([](Broadcast& c) { c.events.push_back({KeyChange::Add, b("k")}); }));
  EXPECT_TRUE(changed([](Broadcast& c) { c.lease_ms = 1; }));
  EXPECT_TRUE(changed([](Broadcast& c) { c.sent_ms++; }));
}

TEST(Codec, a_listen_broadcast_round_trips_with_its_lease) {
  Bytes e = enc(Message{3, Broadcast{78, peer(21, "j:21"), id(22), Cast::Listen, {}, {}, 60000}});
  Message back;
  std::string why;
  ASSERT_EQ(decode(e.data(), e.size(), Limits{}, back, why), 0) << why;
  const auto* m = std::get_if<Broadcast>(&back.body);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->kind, Cast::Listen);
  EXPECT_EQ(m->lease_ms, 60000u);
  EXPECT_TRUE(m->events.empty());
}

TEST(Codec, every_message_type_round_trips) {
  std::vector<Message> all = samples();
  EXPECT_EQ(all.size(), std::variant_size_v<Body>);
  for (const Message& m : all) {
    Bytes e = enc(m);
    Message back;
    std::string why;
    ASSERT_EQ(decode(e.data(), e.size(), Limits{}, back, why), 0)
        << "type " << int(type_of(m)) << ": " << why;
    EXPECT_EQ(back.rid, m.rid);
    EXPECT_EQ(back.body.index(), m.body.index());
    EXPECT_EQ(enc(back), e) << "type " << int(type_of(m));
  }
}

TEST(Codec, state_resp_carries_the_replaced_predecessor_only_when_set) {
  for (bool has_prev : {false, true}) {
    StateResp st{false,
                 true,
                 peer(1, "a:1"),
                 {peer(2, "b:2")},
                 0,
                 has_prev,
                 has_prev ? peer(6, "f:6") : Peer{}};
    Bytes e = enc(Message{5, st});
    Message back;
    std::string why;
    ASSERT_EQ(decode(e.data(), e.size(), Limits{}, back, why), 0) << why;
    const StateResp& r = std::get<StateResp>(back.body);
    EXPECT_EQ(r.has_prev, has_prev);
    if (has_prev) {
      EXPECT_EQ(r.prev.id, id(6));
      EXPECT_EQ(r.prev.addr, "f:6");
    }
    EXPECT_EQ(r.pred.id, id(1));
  }
}

TEST(Codec, fields_survive_the_round_trip) {
  Message m = samples()[6];  // OpReq
  Bytes e = enc(m);
  Message back;
  std::string why;
  ASSERT_EQ(decode(e.data(), e.size(), Limits{}, back, why), 0);
  const OpReq& r = std::get<OpReq>(back.body);
  EXPECT_EQ(r.op, Op::Iter);
  EXPECT_EQ(r.opid, 99u);
  EXPECT_EQ(r.key, b("key"));
  EXPECT_EQ(r.value, b("value"));
  EXPECT_EQ(r.end, id(8));
  EXPECT_EQ(r.limit, 256u);
}

TEST(Codec, subscribe_round_trips_with_its_lease) {
  Bytes e = enc(Message{9, Subscribe{0x01020304u, true}});
  ASSERT_EQ(e.size(), 1u + 8u + 4u + 1u);
  EXPECT_EQ(e[0], 18);  // appended: the older types keep their tags
  EXPECT_EQ(e[9], 0x04);
  Message back;
  std::string why;
  ASSERT_EQ(decode(e.data(), e.size(), Limits{}, back, why), 0) << why;
  EXPECT_EQ(back.rid, 9u);
  ASSERT_TRUE(std::holds_alternative<Subscribe>(back.body));
  EXPECT_EQ(std::get<Subscribe>(back.body).lease_ms, 0x01020304u);
  EXPECT_TRUE(std::get<Subscribe>(back.body).keys);
  EXPECT_FALSE(is_reply(back));
}

TEST(Codec, integers_are_little_endian) {
  Bytes e = enc(Message{0x0102030405060708ull, Ack{1}});
  ASSERT_EQ(e.size(), 1u + 8u + 4u);
  EXPECT_EQ(e[0], type_of(Message{0, Ack{}}));
  EXPECT_EQ(e[1], 0x08);
  EXPECT_EQ(e[8], 0x01);
  EXPECT_EQ(e[9], 1);
}

TEST(Codec, every_truncation_is_refused) {
  for (const Message& m : samples()) {
    Bytes e = enc(m);
    for (size_t n = 0; n < e.size(); n++) {
      Message back;
      std::string why;
      int rc = decode(e.data(), n, Limits{}, back, why);
      EXPECT_NE(rc, 0) << "type " << int(type_of(m)) << " cut at " << n;
      EXPECT_FALSE(why.empty());
    }
  }
}

TEST(Codec, trailing_bytes_are_refused) {
  Bytes e = enc(Message{1, Ping{}});
  e.push_back(0);
  Message back;
  std::string why;
  EXPECT_EQ(decode(e.data(), e.size(), Limits{}, back, why), kProto);
}

TEST(Codec, unknown_type_is_refused) {
  for (uint8_t t : {uint8_t{0}, uint8_t{std::variant_size_v<Body> + 1}, uint8_t{255}}) {
    Bytes e(9, 0);
    e[0] = t;
    Message back;
    std::string why;
    EXPECT_EQ(decode(e.data(), e.size(), Limits{}, back, why), kProto) << int(t);
  }
}

TEST(Codec, a_4_gib_length_fails_cleanly_before_allocating) {
  // A Replicate whose first record claims a key of 0xffffffff bytes.
  Bytes e = enc(Message{1, Replicate{false, {record("k", "v", false)}}});
  size_t key_len_at = 1 + 8 + 1 + 4;
  for (int i = 0; i < 4; i++) e[key_len_at + i] = 0xff;
  Message back;
  std::string why;
  EXPECT_EQ(decode(e.data(), e.size(), Limits{}, back, why), kTooBig);
  EXPECT_NE(why.find("4294967295"), std::string::npos) << why;
}

TEST(Codec, a_huge_list_count_fails_before_reserving) {
  Bytes e = enc(Message{1, Pull{{b("k")}}});
  for (int i = 0; i < 4; i++) e[9 + i] = 0xff;  // count of keys
  Message back;
  std::string why;
  EXPECT_EQ(decode(e.data(), e.size(), Limits{}, back, why), kProto);
}

TEST(Codec, key_and_value_limits_apply) {
  Limits lim;
  lim.max_key = 4;
  lim.max_value = 8;
  OpReq op;
  op.key = b("12345");
  Message back;
  std::string why;
  Bytes e = enc(Message{1, op});
  EXPECT_EQ(decode(e.data(), e.size(), lim, back, why), kTooBig);
  op.key = b("1234");
  op.value = Bytes(9, 'v');
  e = enc(Message{1, op});
  EXPECT_EQ(decode(e.data(), e.size(), lim, back, why), kTooBig);
  op.value = Bytes(8, 'v');
  e = enc(Message{1, op});
  EXPECT_EQ(decode(e.data(), e.size(), lim, back, why), 0) << why;
}

TEST(Codec, a_frame_over_the_limit_is_toobig) {
  Limits lim;
  lim.max_frame = 16;
  Bytes e = enc(Message{1, Redirect{false, {peer(1, "a:1")}}});
  Message back;
  std::string why;
  EXPECT_EQ(decode(e.data(), e.size(), lim, back, why), kTooBig);
}

TEST(Codec, bad_enums_and_booleans_are_refused) {
  Message back;
  std::string why;
  OpReq op;
  Bytes e = enc(Message{1, op});
  e[9] = 0;  // op 0
  EXPECT_EQ(decode(e.data(), e.size(), Limits{}, back, why), kProto);
  e[9] = 200;
  EXPECT_EQ(decode(e.data(), e.size(), Limits{}, back, why), kProto);
  Bytes s = enc(Message{1, StateResp{}});
  s[9] = 2;  // busy is 0 or 1
  EXPECT_EQ(decode(s.data(), s.size(), Limits{}, back, why), kProto);
  Bytes c = enc(Message{1, Broadcast{}});
  c[1 + 8 + 8 + 32 + 4 + 32] = 1;  // kind is 3 or 8
  EXPECT_EQ(decode(c.data(), c.size(), Limits{}, back, why), kProto);
  Broadcast keys;
  keys.kind = Cast::Keys;
  keys.events.push_back(KeyEvent{KeyChange::Delete, b("k")});
  Bytes k = enc(Message{1, keys});
  ASSERT_EQ(decode(k.data(), k.size(), Limits{}, back, why), kOk);
  k[1 + 8 + 8 + 32 + 4 + 32 + 1 + 4] = 3;  // a key change is 1 or 2
  EXPECT_EQ(decode(k.data(), k.size(), Limits{}, back, why), kProto);
}

TEST(Codec, redirect_flags_round_trip_and_unknown_bits_are_refused) {
  Redirect gone{false, {peer(1, "a:1")}, true};
  Bytes e = enc(Message{1, gone});
  EXPECT_EQ(e[9], 2);  // flags: bit 0 owner, bit 1 not_member
  Message back;
  std::string why;
  ASSERT_EQ(decode(e.data(), e.size(), Limits{}, back, why), 0) << why;
  const Redirect& r = std::get<Redirect>(back.body);
  EXPECT_FALSE(r.owner);
  EXPECT_TRUE(r.not_member);
  ASSERT_EQ(r.peers.size(), 1u);
  EXPECT_EQ(r.peers[0].addr, "a:1");
  e[9] = 3;
  ASSERT_EQ(decode(e.data(), e.size(), Limits{}, back, why), 0) << why;
  EXPECT_TRUE(std::get<Redirect>(back.body).owner);
  EXPECT_TRUE(std::get<Redirect>(back.body).not_member);
  e[9] = 4;
  EXPECT_EQ(decode(e.data(), e.size(), Limits{}, back, why), kProto);
}

TEST(Codec, a_tombstone_with_a_value_is_refused) {
  Record r = record("k", "v", false);
  r.tomb = true;
  Bytes e = enc(Message{1, Replicate{false, {r}}});
  Message back;
  std::string why;
  EXPECT_EQ(decode(e.data(), e.size(), Limits{}, back, why), kProto);
}

TEST(Codec, a_failed_decode_leaves_the_output_untouched) {
  Message out{42, Ping{}};
  Bytes e = enc(Message{1, Pull{{b("k")}}});
  e.pop_back();
  std::string why;
  EXPECT_NE(decode(e.data(), e.size(), Limits{}, out, why), 0);
  EXPECT_EQ(out.rid, 42u);
  EXPECT_TRUE(std::holds_alternative<Ping>(out.body));
}

// Lists are capped (kMaxPeers and so on): a message with one entry more than
// the cap is undecodable, so no peer makes a receiver walk or dial thousands.
template <class Fill>
void expect_cap(size_t cap, Fill fill) {
  std::string why;
  Message back;
  Bytes ok = enc(fill(cap));
  EXPECT_EQ(decode(ok.data(), ok.size(), Limits{}, back, why), 0) << why;
  Bytes over = enc(fill(cap + 1));
  EXPECT_NE(decode(over.data(), over.size(), Limits{}, back, why), 0);
  EXPECT_NE(why.find("exceed the limit"), std::string::npos) << why;
}

TEST(Codec, lists_longer_than_their_cap_are_refused) {
  auto peers = [](size_t n) {
    std::vector<Peer> v;
    for (size_t i = 0; i < n; i++) v.push_back(peer(static_cast<uint8_t>(i), "h:1"));
    return v;
  };
  expect_cap(kMaxPeers, [&](size_t n) {
    Redirect r;
    r.peers = peers(n);
    return Message{1, r};
  });
  expect_cap(kMaxPeers, [&](size_t n) {
    OpResp r;
    r.peers = peers(n);
    return Message{1, r};
  });
  expect_cap(kMaxSuccessors, [&](size_t n) {
    StateResp r;
    r.succs = peers(n);
    return Message{1, r};
  });
  expect_cap(kMaxSuccessors, [&](size_t n) {
    Leave r;
    r.succs = peers(n);
    return Message{1, r};
  });
  expect_cap(kMaxBuckets, [&](size_t n) {
    Digest d;
    d.buckets.assign(n, 7);
    return Message{1, d};
  });
  expect_cap(kMaxEvents, [&](size_t n) {
    Broadcast c;
    c.kind = Cast::Keys;
    c.events.assign(n, KeyEvent{KeyChange::Add, b("k")});
    return Message{1, c};
  });
  expect_cap(kMaxItems, [&](size_t n) {
    OpResp r;
    r.items.assign(n, KeyValue{b("k"), b("v")});
    return Message{1, r};
  });
}

}  // namespace
}  // namespace chord::wire

namespace chord::wire {
namespace {

TEST(Hello, round_trips_and_a_newer_format_is_read_for_the_fields_it_shares) {
  Hello h;
  h.proto_min = 2;
  h.proto_max = 7;
  h.features = 0x8001;
  h.addr = "10.0.0.5:4000";
  Bytes e = encode_hello(h);
  Hello back;
  std::string why;
  ASSERT_TRUE(decode_hello(e, back, why)) << why;
  EXPECT_EQ(back.proto_min, 2);
  EXPECT_EQ(back.proto_max, 7);
  EXPECT_EQ(back.features, 0x8001u);
  EXPECT_EQ(back.addr, h.addr);
  // Format 2, with fields appended: the format-1 fields are read, the rest
  // skipped.
  Bytes newer = e;
  newer[1] = 2;
  newer.insert(newer.end(), {9, 9, 9});
  ASSERT_TRUE(decode_hello(newer, back, why)) << why;
  EXPECT_EQ(back.addr, h.addr);
  EXPECT_EQ(back.proto_max, 7);
}

TEST(Hello, every_truncation_and_a_bare_address_are_refused_with_a_reason) {
  Hello h;
  h.addr = "127.0.0.1:4000";
  const Bytes e = encode_hello(h);
  for (size_t n = 0; n < e.size(); n++) {
    Hello back;
    std::string why;
    EXPECT_FALSE(decode_hello(Bytes(e.begin(), e.begin() + static_cast<ptrdiff_t>(n)), back, why))
        << n;
    EXPECT_FALSE(why.empty()) << n;
  }
  Hello back;
  std::string why;
  const std::string bare = "127.0.0.1:4000";  // what nodes built before versions send
  EXPECT_FALSE(decode_hello(Bytes(bare.begin(), bare.end()), back, why));
  EXPECT_NE(why.find("no protocol versions"), std::string::npos) << why;
  Hello bad = h;
  bad.proto_min = 3;
  bad.proto_max = 2;
  EXPECT_FALSE(decode_hello(encode_hello(bad), back, why));
  bad.proto_min = 0;
  EXPECT_FALSE(decode_hello(encode_hello(bad), back, why));
}

TEST(Hello, both_sides_speak_the_highest_version_in_common_or_say_why_not) {
  Hello a, b;
  a.proto_min = 1;
  a.proto_max = 3;
  b.proto_min = 2;
  b.proto_max = 5;
  EXPECT_EQ(negotiate(a, b), std::optional<uint16_t>(3));
  EXPECT_EQ(negotiate(b, a), std::optional<uint16_t>(3));
  b.proto_min = 4;
  EXPECT_EQ(negotiate(a, b), std::nullopt);
  EXPECT_EQ(version_mismatch(a, b), "peer speaks protocol 4..5, we speak 1..3");
  a.proto_min = a.proto_max = 1;
  EXPECT_EQ(version_mismatch(a, b), "peer speaks protocol 4..5, we speak 1");
}

}  // namespace
}  // namespace chord::wire
