// SPDX-License-Identifier: MIT
// Binary encoding of wire::Message. See messages.hpp for the frame layout.
#include <cstring>
#include <type_traits>

#include "wire/status.hpp"
#include "wire/messages.hpp"

namespace chord::wire {
namespace {

class Writer {
 public:
  explicit Writer(std::vector<uint8_t>& out) : out_(out) {}
  void u8(uint8_t v) { out_.push_back(v); }
  void b(bool v) { u8(v ? 1 : 0); }
  void u32(uint32_t v) {
    for (int i = 0; i < 4; i++) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void u64(uint64_t v) {
    for (int i = 0; i < 8; i++) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  template <size_t N>
  void id(const std::array<uint8_t, N>& v) {
    out_.insert(out_.end(), v.begin(), v.end());
  }
  void bytes(const uint8_t* p, size_t n) {
    u32(static_cast<uint32_t>(n));
    out_.insert(out_.end(), p, p + n);
  }
  void bytes(const Bytes& v) { bytes(v.data(), v.size()); }
  void str(const std::string& s) { bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }
  void peer(const Peer& p) {
    id(p.id);
    str(p.addr);
  }
  void record(const Record& r) {
    bytes(r.key);
    bytes(r.value);
    u64(r.hlc);
    id(r.writer);
    b(r.tomb);
  }
  template <class T, class F>
  void list(const std::vector<T>& v, F each) {
    u32(static_cast<uint32_t>(v.size()));
    for (const T& x : v) each(x);
  }

 private:
  std::vector<uint8_t>& out_;
};

// Reads with bounds checks. The first failure sticks: later reads return
// zeros, and ok() is false with a reason.
class Reader {
 public:
  Reader(const uint8_t* p, size_t n, const Limits& lim) : p_(p), n_(n), lim_(lim) {}
  bool ok() const { return rc_ == 0; }
  int rc() const { return rc_; }
  const std::string& why() const { return why_; }
  size_t left() const { return n_ - at_; }
  void fail(int rc, const std::string& why) {
    if (rc_ == 0) {
      rc_ = rc;
      why_ = why;
    }
  }
  bool need(size_t k, const char* what) {
    if (!ok()) return false;
    if (left() < k) {
      fail(kProto, std::string("truncated ") + what);
      return false;
    }
    return true;
  }
  uint8_t u8(const char* what) {
    if (!need(1, what)) return 0;
    return p_[at_++];
  }
  bool b(const char* what) {
    uint8_t v = u8(what);
    if (v > 1) fail(kProto, std::string("bad boolean in ") + what);
    return v == 1;
  }
  uint32_t u32(const char* what) {
    if (!need(4, what)) return 0;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= static_cast<uint32_t>(p_[at_ + i]) << (8 * i);
    at_ += 4;
    return v;
  }
  uint64_t u64(const char* what) {
    if (!need(8, what)) return 0;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= static_cast<uint64_t>(p_[at_ + i]) << (8 * i);
    at_ += 8;
    return v;
  }
  Id id(const char* what) { return fixed<32>(what); }
  template <size_t N>
  std::array<uint8_t, N> fixed(const char* what) {
    std::array<uint8_t, N> v{};
    if (!need(N, what)) return v;
    std::memcpy(v.data(), p_ + at_, N);
    at_ += N;
    return v;
  }
  // A length-prefixed byte string of at most max bytes; over max is kTooBig.
  Bytes bytes(size_t max, const char* what) {
    uint32_t n = u32(what);
    if (!ok()) return {};
    if (n > max) {
      fail(kTooBig, std::string(what) + " of " + std::to_string(n) + " bytes exceeds " +
                        std::to_string(max));
      return {};
    }
    if (!need(n, what)) return {};
    Bytes v(p_ + at_, p_ + at_ + n);
    at_ += n;
    return v;
  }
  std::string str(size_t max, const char* what) {
    Bytes v = bytes(max, what);
    return std::string(v.begin(), v.end());
  }
  Peer peer() {
    Peer p;
    p.id = id("peer id");
    p.addr = str(kMaxAddr, "peer address");
    return p;
  }
  Record record() {
    Record r;
    r.key = bytes(lim_.max_key, "key");
    r.value = bytes(lim_.max_value, "value");
    r.hlc = u64("version");
    r.writer = id("writer");
    r.tomb = b("tombstone");
    if (r.tomb && !r.value.empty()) fail(kProto, "tombstone with a value");
    return r;
  }
  // A counted list whose elements take at least min_size bytes each, so that
  // a huge count fails before anything is reserved.
  // At most max_count elements (kMaxPeers and so on, messages.hpp).
  template <class T, class F>
  std::vector<T> list(size_t min_size, const char* what, F each, size_t max_count = SIZE_MAX) {
    std::vector<T> v;
    uint32_t n = u32(what);
    if (!ok()) return v;
    if (n > max_count) {
      fail(kProto,
           std::to_string(n) + " " + what + " exceed the limit of " + std::to_string(max_count));
      return v;
    }
    if (static_cast<uint64_t>(n) * min_size > left()) {
      fail(kProto, std::string("count of ") + what + " exceeds the frame");
      return v;
    }
    v.reserve(n);
    for (uint32_t i = 0; i < n && ok(); i++) v.push_back(each());
    return v;
  }
  const Limits& lim() const { return lim_; }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t at_ = 0;
  const Limits& lim_;
  int rc_ = 0;
  std::string why_;
};

constexpr size_t kPeerMin = 32 + 4;
constexpr size_t kRecordMin = 4 + 4 + 8 + 32 + 1;

// ------------------------------------------------------------------ encoding

void put(Writer&, const StateReq&) {}
void put(Writer& w, const StateResp& m) {
  w.b(m.busy);
  w.b(m.has_pred);
  w.peer(m.pred);
  w.list(m.succs, [&](const Peer& p) { w.peer(p); });
  w.u32(m.listen_ms);
  w.b(m.has_prev);
  if (m.has_prev) w.peer(m.prev);
}
void put(Writer& w, const Notify& m) {
  w.b(m.successor);
}
void put(Writer&, const Ping&) {}
void put(Writer&, const Pong&) {}
void put(Writer& w, const Leave& m) {
  w.b(m.to_pred);
  w.b(m.has_pred);
  w.peer(m.pred);
  w.list(m.succs, [&](const Peer& p) { w.peer(p); });
}
void put(Writer& w, const OpReq& m) {
  w.u8(static_cast<uint8_t>(m.op));
  w.u8(m.flags);
  w.u64(m.opid);
  w.id(m.target);
  w.bytes(m.key);
  w.bytes(m.value);
  w.id(m.pos);
  w.id(m.end);
  w.u32(m.limit);
  w.u64(m.hlc);
  w.u32(m.ttl_ms);
}
void put(Writer& w, const OpResp& m) {
  w.u32(static_cast<uint32_t>(m.status));
  w.u8(m.flags);
  w.bytes(m.key);
  w.bytes(m.value);
  w.str(m.detail);
  w.list(m.items, [&](const KeyValue& kv) {
    w.bytes(kv.key);
    w.bytes(kv.value);
  });
  w.list(m.peers, [&](const Peer& p) { w.peer(p); });
  w.peer(m.pred);
  w.id(m.pos);
  w.u64(m.hlc);
}
// Redirect's first byte is flags: bit 0 owner, bit 1 not_member.
void put(Writer& w, const Redirect& m) {
  w.u8(static_cast<uint8_t>((m.owner ? 1 : 0) | (m.not_member ? 2 : 0)));
  w.list(m.peers, [&](const Peer& p) { w.peer(p); });
}
void put(Writer& w, const Replicate& m) {
  w.b(m.handoff);
  w.list(m.recs, [&](const Record& r) { w.record(r); });
}
void put(Writer& w, const Ack& m) {
  w.u32(static_cast<uint32_t>(m.status));
}
void put(Writer& w, const Digest& m) {
  w.id(m.lo);
  w.id(m.hi);
  w.list(m.buckets, [&](uint64_t h) { w.u64(h); });
}
void put(Writer& w, const DigestResp& m) {
  w.list(m.mismatched, [&](uint32_t b) { w.u32(b); });
  w.list(m.entries, [&](const Record& r) { w.record(r); });
}
void put(Writer& w, const Pull& m) {
  w.list(m.keys, [&](const Bytes& k) { w.bytes(k); });
}
void put(Writer& w, const RangeReq& m) {
  w.id(m.lo);
  w.id(m.hi);
  w.b(m.has_after);
  w.id(m.after_pos);
  w.bytes(m.after_key);
}
void put(Writer& w, const Records& m) {
  w.b(m.more);
  w.list(m.recs, [&](const Record& r) { w.record(r); });
  w.u32(m.listen_ms);
}
void put(Writer& w, const Broadcast& m) {
  w.u64(m.bid);
  w.peer(m.origin);
  w.id(m.limit);
  w.u8(static_cast<uint8_t>(m.kind));
  w.list(m.events, [&](const KeyEvent& e) {
    w.u8(static_cast<uint8_t>(e.change));
    w.bytes(e.key);
  });
  w.bytes(m.data);
  w.u32(m.lease_ms);
  w.u64(m.sent_ms);
  w.id(m.origin_key);
  w.id(m.sig);
}
void put(Writer& w, const Subscribe& m) {
  w.u32(m.lease_ms);
  w.b(m.keys);
}

// ------------------------------------------------------------------ decoding

void get(Reader&, StateReq&) {}
void get(Reader& r, StateResp& m) {
  m.busy = r.b("busy");
  m.has_pred = r.b("has_pred");
  m.pred = r.peer();
  m.succs = r.list<Peer>(
      kPeerMin, "successors", [&] { return r.peer(); }, kMaxSuccessors);
  m.listen_ms = r.u32("listen_ms");
  m.has_prev = r.b("has_prev");
  if (m.has_prev) m.prev = r.peer();
}
void get(Reader& r, Notify& m) {
  m.successor = r.b("successor");
}
void get(Reader&, Ping&) {}
void get(Reader&, Pong&) {}
void get(Reader& r, Leave& m) {
  m.to_pred = r.b("to_pred");
  m.has_pred = r.b("has_pred");
  m.pred = r.peer();
  m.succs = r.list<Peer>(
      kPeerMin, "successors", [&] { return r.peer(); }, kMaxSuccessors);
}
void get(Reader& r, OpReq& m) {
  uint8_t op = r.u8("op");
  if (r.ok() && (op == 0 || op > kOpMax)) r.fail(kProto, "unknown op " + std::to_string(op));
  m.op = static_cast<Op>(op);
  m.flags = r.u8("flags");
  m.opid = r.u64("opid");
  m.target = r.id("target");
  m.key = r.bytes(r.lim().max_key, "key");
  m.value = r.bytes(r.lim().max_value, "value");
  m.pos = r.id("pos");
  m.end = r.id("end");
  m.limit = r.u32("limit");
  m.hlc = r.u64("version");
  m.ttl_ms = r.u32("ttl");
}
void get(Reader& r, OpResp& m) {
  m.status = static_cast<int32_t>(r.u32("status"));
  m.flags = r.u8("flags");
  m.key = r.bytes(r.lim().max_key, "key");
  m.value = r.bytes(r.lim().max_value, "value");
  m.detail = r.str(1024, "detail");
  m.items = r.list<KeyValue>(
      8, "items",
      [&] {
        KeyValue kv;
        kv.key = r.bytes(r.lim().max_key, "key");
        kv.value = r.bytes(r.lim().max_value, "value");
        return kv;
      },
      kMaxItems);
  m.peers = r.list<Peer>(
      kPeerMin, "peers", [&] { return r.peer(); }, kMaxPeers);
  m.pred = r.peer();
  m.pos = r.id("pos");
  m.hlc = r.u64("version");
}
void get(Reader& r, Redirect& m) {
  uint8_t flags = r.u8("redirect flags");
  if (flags > 3) r.fail(kProto, "bad redirect flags");
  m.owner = (flags & 1) != 0;
  m.not_member = (flags & 2) != 0;
  m.peers = r.list<Peer>(
      kPeerMin, "peers", [&] { return r.peer(); }, kMaxPeers);
}
void get(Reader& r, Replicate& m) {
  m.handoff = r.b("handoff");
  m.recs = r.list<Record>(kRecordMin, "records", [&] { return r.record(); });
}
void get(Reader& r, Ack& m) {
  m.status = static_cast<int32_t>(r.u32("status"));
}
void get(Reader& r, Digest& m) {
  m.lo = r.id("lo");
  m.hi = r.id("hi");
  m.buckets = r.list<uint64_t>(
      8, "buckets", [&] { return r.u64("bucket"); }, kMaxBuckets);
}
void get(Reader& r, DigestResp& m) {
  m.mismatched = r.list<uint32_t>(
      4, "buckets", [&] { return r.u32("bucket"); }, kMaxBuckets);
  m.entries = r.list<Record>(kRecordMin, "entries", [&] { return r.record(); });
}
void get(Reader& r, Pull& m) {
  m.keys = r.list<Bytes>(4, "keys", [&] { return r.bytes(r.lim().max_key, "key"); });
}
void get(Reader& r, RangeReq& m) {
  m.lo = r.id("lo");
  m.hi = r.id("hi");
  m.has_after = r.b("has_after");
  m.after_pos = r.id("after_pos");
  m.after_key = r.bytes(r.lim().max_key, "after_key");
}
void get(Reader& r, Records& m) {
  m.more = r.b("more");
  m.recs = r.list<Record>(kRecordMin, "records", [&] { return r.record(); });
  m.listen_ms = r.u32("listen_ms");
}
void get(Reader& r, Broadcast& m) {
  m.bid = r.u64("bid");
  m.origin = r.peer();
  m.limit = r.id("limit");
  uint8_t k = r.u8("kind");
  if (r.ok() && k != 3 && k != 4 && k != 8) r.fail(kProto, "unknown broadcast kind");
  m.kind = static_cast<Cast>(k);
  m.events = r.list<KeyEvent>(
      1 + 4, "events",
      [&] {
        KeyEvent e;
        uint8_t c = r.u8("change");
        if (r.ok() && c != 1 && c != 2) r.fail(kProto, "unknown key change");
        e.change = static_cast<KeyChange>(c);
        e.key = r.bytes(r.lim().max_key, "key");
        return e;
      },
      kMaxEvents);
  m.data = r.bytes(r.lim().max_value, "data");
  m.lease_ms = r.u32("lease_ms");
  m.sent_ms = r.u64("sent_ms");
  m.origin_key = r.fixed<32>("origin key");
  m.sig = r.fixed<64>("signature");
}
void get(Reader& r, Subscribe& m) {
  m.lease_ms = r.u32("lease_ms");
  m.keys = r.b("keys");
}

// Default-constructs the alternative with index i of Body.
template <size_t I = 0>
bool emplace_index(Body& b, size_t i) {
  if constexpr (I < std::variant_size_v<Body>) {
    if (i == I) {
      b.emplace<I>();
      return true;
    }
    return emplace_index<I + 1>(b, i);
  } else {
    return false;
  }
}

}  // namespace

const char* type_name(uint8_t type) {
  static const char* const kNames[] = {
      "StateReq",   "StateResp", "Notify",   "Ping",      "Pong",      "Leave",
      "OpReq",      "OpResp",    "Redirect", "Replicate", "Ack",       "Digest",
      "DigestResp", "Pull",      "RangeReq", "Records",   "Broadcast", "Subscribe"};
  static_assert(sizeof kNames / sizeof kNames[0] == std::variant_size_v<Body>);
  return type >= 1 && type <= std::variant_size_v<Body> ? kNames[type - 1] : "?";
}

bool is_reply(const Message& m) {
  return std::holds_alternative<StateResp>(m.body) || std::holds_alternative<Pong>(m.body) ||
         std::holds_alternative<OpResp>(m.body) || std::holds_alternative<Redirect>(m.body) ||
         std::holds_alternative<Ack>(m.body) || std::holds_alternative<DigestResp>(m.body) ||
         std::holds_alternative<Records>(m.body);
}

Bytes signed_part(const Broadcast& m) {
  static const char kTag[] = "chord.broadcast.1";
  Bytes out(kTag, kTag + sizeof kTag - 1);
  Broadcast c = m;
  c.limit = Id{};
  c.origin_key = PublicKey{};  // Ed25519 binds its key into the signature
  c.sig = Signature{};
  Writer w(out);
  put(w, c);
  return out;
}

void encode(const Message& m, std::vector<uint8_t>& out) {
  Writer w(out);
  w.u8(type_of(m));
  w.u64(m.rid);
  std::visit([&](const auto& body) { put(w, body); }, m.body);
}

int decode(const uint8_t* p, size_t n, const Limits& lim, Message& out, std::string& why) {
  if (n > lim.max_frame) {
    why = "frame of " + std::to_string(n) + " bytes exceeds " + std::to_string(lim.max_frame);
    return kTooBig;
  }
  Reader r(p, n, lim);
  uint8_t t = r.u8("type");
  uint64_t rid = r.u64("rid");
  if (!r.ok()) {
    why = r.why();
    return r.rc();
  }
  Message m;
  m.rid = rid;
  if (t == 0 || !emplace_index(m.body, t - 1u)) {
    why = "unknown message type " + std::to_string(t);
    return kProto;
  }
  std::visit([&](auto& body) { get(r, body); }, m.body);
  if (r.ok() && r.left() != 0 && !lim.skip_unknown_tail)
    r.fail(kProto, std::to_string(r.left()) + " trailing bytes");
  if (!r.ok()) {
    why = r.why();
    return r.rc();
  }
  out = std::move(m);
  return kOk;
}

}  // namespace chord::wire
