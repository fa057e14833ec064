// SPDX-License-Identifier: MIT
// libFuzzer target for a whole node: the input is a script of what four
// members and a light client send it (structured messages, raw frames, and
// replies to the requests it sent), of timer ticks, of lost links, and of
// the local calls a program makes (get, set, delete, pop, join, leave). The
// node must never crash or trip the sanitizers, and after every step:
//  - everything it sends encodes to a frame that decodes again (one peer's
//    input never makes it send what its peers would drop their links over);
//  - it has reached no state it believes impossible (internal_errors);
//  - every call it was given completes exactly once, all of them by the end
//    (time then runs on past every timeout).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "sim/seeded_keys.hpp"
#include <utility>
#include <vector>

#include "core/node.hpp"
#include "wire/messages.hpp"
#include "wire/status.hpp"

namespace {

using namespace chord;
using core::Peer;

class Script {
 public:
  Script(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  bool more() const { return at_ < n_; }
  uint8_t byte() { return at_ < n_ ? p_[at_++] : 0; }
  uint64_t u64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | byte();
    return v;
  }
  std::pair<const uint8_t*, size_t> bytes(size_t max) {
    size_t len = byte() | (static_cast<size_t>(byte()) << 8);
    len = std::min({len, max, n_ - at_});
    const uint8_t* s = p_ + at_;
    at_ += len;
    return {s, len};
  }

 private:
  const uint8_t* p_;
  size_t n_, at_ = 0;
};

wire::Id id_of(uint8_t first) {
  wire::Id id{};
  id[0] = first;
  return id;
}

Peer peer_of(unsigned i) {
  Peer p;
  if (i < 4) {  // members around the ring; self is 0x80
    p.id = id_of(static_cast<uint8_t>(0x20 + 0x40 * i));
    p.addr = "10.0.0." + std::to_string(i + 1) + ":7000";
  } else {  // a light client: an id, no address
    p.id = id_of(0x11);
  }
  return p;
}

class FuzzHost : public core::Host {
 public:
  uint64_t now = 1000;
  uint64_t rng = 7;
  std::vector<std::pair<Peer, wire::Message>> sent;
  wire::Limits limits;
  uint64_t now_ms() override { return now; }
  uint64_t wall_ms() override { return 1796083200000ull + now; }
  uint64_t random_u64() override {
    return rng = rng * 6364136223846793005ull + 1442695040888963407ull;
  }
  void send(const Peer& to, wire::Message&& m) override {
    // What a node sends must reach its peers intact: encodable and decodable.
    std::vector<uint8_t> frame;
    wire::encode(m, frame);
    wire::Message back;
    std::string why;
    if (wire::decode(frame.data(), frame.size(), limits, back, why) != kOk) std::abort();
    if (to.addr.size() > wire::kMaxAddr) std::abort();
    sent.emplace_back(to, std::move(m));
    if (sent.size() > 4096) sent.erase(sent.begin(), sent.begin() + 2048);
  }
  void emit(core::Event&&) override {}
  bool wants_key_events() override { return true; }
  void log(int, const std::string&) override {}
  mutable sim::SeededKeys keys;  // peers sign their broadcasts, or (1 in 8) do not
  wire::Id self_id{};
  void sign(const wire::Bytes& msg, wire::PublicKey& pk, wire::Signature& sig) override {
    keys.sign(self_id, msg, pk, sig);
  }
  bool verify(const wire::Id& id, const wire::PublicKey& pk, const wire::Bytes& msg,
              const wire::Signature& sig) override {
    return keys.verify(id, pk, msg, sig);
  }
};

wire::Bytes small_bytes(Script& s, size_t max) {
  auto [p, n] = s.bytes(max);
  return wire::Bytes(p, p + n);
}

std::vector<wire::Peer> peers(Script& s) {
  std::vector<wire::Peer> out;
  const unsigned n = s.byte() % 6;
  for (unsigned i = 0; i < n; i++) out.push_back(peer_of(s.byte() % 4));
  return out;
}

wire::Record record(Script& s, const FuzzHost& h) {
  wire::Record r;
  r.key = {static_cast<uint8_t>('a' + s.byte() % 8)};
  r.tomb = s.byte() & 1;
  if (!r.tomb) r.value = small_bytes(s, 64);
  // Around our clock: behind, near, and far ahead (refused).
  const uint64_t wall = h.now + 1796083200000ull;
  const int64_t off = static_cast<int8_t>(s.byte()) * 100;
  r.hlc = (static_cast<uint64_t>(static_cast<int64_t>(wall) + off) << 16) | s.byte();
  r.writer = peer_of(s.byte() % 4).id;
  return r;
}

// A message body of the kind `kind` picks, filled from the script.
wire::Body body(Script& s, uint8_t kind, const FuzzHost& h) {
  switch (kind % 16) {
    case 0: {
      wire::Notify m;
      m.successor = s.byte() & 1;
      return m;
    }
    case 1:
      return wire::StateReq{};
    case 2: {
      wire::StateResp m;
      m.busy = s.byte() % 8 == 0;
      m.has_pred = s.byte() & 1;
      m.pred = peer_of(s.byte() % 4);
      m.succs = peers(s);
      m.has_prev = s.byte() & 1;
      m.prev = peer_of(s.byte() % 4);
      m.listen_ms = s.byte() * 100u;
      return m;
    }
    case 3: {
      wire::OpReq m;
      m.op = static_cast<wire::Op>(1 + s.byte() % 9);
      m.opid = s.byte();
      m.key = {static_cast<uint8_t>('a' + s.byte() % 8)};
      m.target = core::key_id(m.key.data(), m.key.size());
      if (s.byte() & 1) m.target = peer_of(s.byte() % 4).id;
      m.value = small_bytes(s, 64);
      m.limit = s.byte();
      m.hlc = record(s, h).hlc;
      m.ttl_ms = s.byte() * 100u;
      return m;
    }
    case 4: {
      wire::OpResp m;
      m.status = -static_cast<int32_t>(s.byte() % 14);
      if (s.byte() % 4 == 0) m.status = kStale;
      m.flags = s.byte() & 7;
      m.value = small_bytes(s, 64);
      m.peers = peers(s);
      m.pred = peer_of(s.byte() % 4);
      m.hlc = record(s, h).hlc;
      return m;
    }
    case 5: {
      wire::Redirect m;
      m.owner = s.byte() & 1;
      m.not_member = s.byte() % 8 == 0;
      m.peers = peers(s);
      return m;
    }
    case 6: {
      wire::Replicate m;
      m.handoff = s.byte() & 1;
      const unsigned n = s.byte() % 8;
      for (unsigned i = 0; i < n; i++) m.recs.push_back(record(s, h));
      return m;
    }
    case 7: {
      wire::Ack m;
      m.status = -static_cast<int32_t>(s.byte() % 14);
      return m;
    }
    case 8: {
      wire::Digest m;
      m.lo = peer_of(s.byte() % 4).id;
      m.hi = id_of(0x80);
      m.buckets.assign(64, s.u64());
      return m;
    }
    case 9: {
      wire::DigestResp m;
      const unsigned n = s.byte() % 8;
      for (unsigned i = 0; i < n; i++) m.mismatched.push_back(s.byte() % 70);
      for (unsigned i = 0; i < n; i++) m.entries.push_back(record(s, h));
      return m;
    }
    case 10: {
      wire::Records m;
      m.more = s.byte() & 1;
      const unsigned n = s.byte() % 8;
      for (unsigned i = 0; i < n; i++) m.recs.push_back(record(s, h));
      return m;
    }
    case 11: {
      wire::Leave m;
      m.to_pred = s.byte() & 1;
      m.has_pred = s.byte() & 1;
      m.pred = peer_of(s.byte() % 4);
      m.succs = peers(s);
      return m;
    }
    case 12: {
      wire::Broadcast m;
      m.bid = s.byte();
      m.origin = peer_of(s.byte() % 5);
      m.limit = peer_of(s.byte() % 4).id;
      const uint8_t k = s.byte() % 3;
      m.kind = k == 0 ? wire::Cast::Keys : k == 1 ? wire::Cast::Listen : wire::Cast::Message;
      if (m.kind == wire::Cast::Keys) {
        wire::KeyEvent e;
        e.key = {static_cast<uint8_t>('a' + s.byte() % 8)};
        m.events.push_back(e);
      }
      m.data = small_bytes(s, 64);
      m.lease_ms = s.byte() * 100u;
      m.sent_ms = 1796083200000ull + h.now - s.byte() * 1000u;
      if (s.byte() % 8) h.keys.sign(m.origin.id, wire::signed_part(m), m.origin_key, m.sig);
      return m;
    }
    case 13: {
      wire::Subscribe m;
      m.lease_ms = s.byte() * 100u;
      m.keys = s.byte() & 1;
      return m;
    }
    case 14: {
      wire::RangeReq m;
      m.lo = peer_of(s.byte() % 4).id;
      m.hi = id_of(0x80);
      return m;
    }
    default: {
      wire::Pull m;
      m.keys.push_back({static_cast<uint8_t>('a' + s.byte() % 8)});
      return m;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Script s(data, size);
  FuzzHost host;
  core::Options opts;
  opts.stabilize_ms = 100;
  opts.rpc_timeout_ms = 200;
  opts.max_key_bytes = 64;
  opts.max_value_bytes = 4096;
  opts.max_store_bytes = 1 << 16;
  opts.calm_max_ms = (s.byte() & 1) ? 2000 : 0;
  host.limits.max_key = opts.max_key_bytes;
  host.limits.max_value = opts.max_value_bytes;
  host.limits.max_frame = opts.max_value_bytes + opts.max_key_bytes + (1 << 16);
  host.self_id = id_of(0x80);
  core::Node node(opts, id_of(0x80), "10.0.0.128:7000", host);

  // Each call's completion count; each must end at 1.
  std::vector<int> done;
  auto call = [&done] {
    done.push_back(0);
    const size_t i = done.size() - 1;
    return [&done, i](core::Result&&) { done[i]++; };
  };
  auto key = [&s] { return wire::Bytes{static_cast<uint8_t>('a' + s.byte() % 8)}; };

  for (int steps = 0; s.more() && steps < 2000; steps++) {
    const uint8_t op = s.byte();
    switch (op % 8) {
      case 0:
      case 1:
      case 2: {  // a request from a peer
        const Peer from = peer_of(s.byte() % 5);
        wire::Message m;
        m.rid = s.byte();
        m.body = body(s, s.byte(), host);
        node.on_message(from, std::move(m));
        break;
      }
      case 3: {  // a reply (or anything) to one of the requests the node sent
        if (host.sent.empty()) break;
        const auto& [to, req] = host.sent[s.byte() % host.sent.size()];
        wire::Message m;
        m.rid = req.rid;
        m.body = body(s, s.byte(), host);
        const Peer from = (s.byte() & 3) ? to : peer_of(s.byte() % 5);
        node.on_message(from, std::move(m));
        break;
      }
      case 4: {  // a raw frame, as a peer could send it
        const Peer from = peer_of(s.byte() % 5);
        auto [p, n] = s.bytes(1 << 12);
        wire::Message m;
        std::string why;
        if (wire::decode(p, n, host.limits, m, why) == kOk) node.on_message(from, std::move(m));
        break;
      }
      case 5:  // time passes
        host.now += 1 + s.byte() * 10u;
        while (node.next_deadline() <= host.now) node.tick();
        break;
      case 6:  // a link is lost
        node.on_unreachable(peer_of(s.byte() % 5));
        break;
      default: {  // the program calls the node
        const uint32_t t = 100 + s.byte() * 20u;
        switch (s.byte() % 8) {
          case 0:
            node.get(key(), t, call());
            break;
          case 1:
            node.set(key(), small_bytes(s, 64), t, call());
            break;
          case 2:
            node.del(key(), t, call());
            break;
          case 3:
            node.pop(key(), t, call());
            break;
          case 4:
            node.popitem(t, call());
            break;
          case 5:
            node.join(peer_of(s.byte() % 4).addr, t, call());
            break;
          case 6:
            node.leave(t, call());
            break;
          default:
            node.broadcast(small_bytes(s, 64), call());
            break;
        }
      }
    }
    if (node.internal_errors()) std::abort();
    for (int d : done)
      if (d > 1) std::abort();  // a call completed twice
  }
  // Every call ends, once: run time on past every timeout.
  for (int i = 0; i < 600; i++) {
    host.now += 100;
    while (node.next_deadline() <= host.now) node.tick();
  }
  for (int d : done)
    if (d != 1) std::abort();
  if (node.internal_errors()) std::abort();
  return 0;
}
