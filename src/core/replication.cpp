// SPDX-License-Identifier: MIT
// Replicas: applying records, anti-entropy by digests of key ranges, range
// transfers for joins, and tombstone collection.
#include <sodium.h>

#include <algorithm>
#include <map>

#include "core/replicator.hpp"
#include "core/router.hpp"
#include "core/broadcaster.hpp"

namespace chord::core {

namespace {

unsigned bucket_of(const Id& pos) {
  return pos[31] % kDigestBuckets;
}

uint64_t record_hash(const Bytes& key, const Version& v, bool tomb) {
  static const unsigned char k[crypto_shorthash_KEYBYTES] = {0};
  std::vector<uint8_t> buf;
  buf.reserve(key.size() + 8 + 32 + 1);
  buf.insert(buf.end(), key.begin(), key.end());
  for (int i = 0; i < 8; i++) buf.push_back(static_cast<uint8_t>(v.hlc >> (8 * i)));
  buf.insert(buf.end(), v.writer.begin(), v.writer.end());
  buf.push_back(tomb ? 1 : 0);
  unsigned char out[crypto_shorthash_BYTES];
  crypto_shorthash(out, buf.data(), buf.size(), k);
  uint64_t h = 0;
  for (int i = 0; i < 8; i++) h |= static_cast<uint64_t>(out[i]) << (8 * i);
  return h;
}

size_t record_size(const wire::Record& r) {
  return r.key.size() + r.value.size() + 64;
}

}  // namespace

wire::Record Replicator::to_wire(const Id&, const Bytes& key, const StoredRecord& r) const {
  wire::Record w;
  w.key = key;
  w.value = r.value;
  w.hlc = r.ver.hlc;
  w.writer = r.ver.writer;
  w.tomb = r.tomb;
  return w;
}

bool Replicator::apply(const wire::Record& rec, bool* full) {
  std::string detail;
  if (router_.check_sizes(&rec.key, &rec.value, detail) != kOk) return false;
  if (rec.tomb && !rec.value.empty()) return false;
  const Id pos = key_id(rec.key.data(), rec.key.size());
  Version v{rec.hlc, rec.writer};
  const StoredRecord* cur = store().get(pos, rec.key);
  if (cur && !(cur->ver < v)) return false;
  // A version far ahead of our clock would beat every later write: refused
  // (its owner checked the stamp against its own clock; clocks agree within
  // the skew, so only a broken clock or a forged record lands here).
  if (!rt_.hlc().observe(rec.hlc, wall(), opts_.max_clock_skew_ms)) {
    if (rt_.count_version_refused() % 1024 == 1)
      log(1, "node " + name(self_) + ": refused a record " +
                 std::to_string(Hlc::physical(rec.hlc) - wall()) +
                 " ms ahead of this clock (max_clock_skew_ms " +
                 std::to_string(opts_.max_clock_skew_ms) + "; " +
                 std::to_string(rt_.versions_refused()) + " so far)");
    return false;
  }
  if (!rec.tomb && opts_.max_store_bytes) {
    const size_t now_b =
        store().bytes() - (cur ? rec.key.size() + cur->value.size() + Store::kRecordOverhead : 0);
    if (now_b + rec.key.size() + rec.value.size() + Store::kRecordOverhead >
        opts_.max_store_bytes) {
      if (full) *full = true;
      return false;
    }
  }
  StoredRecord sr;
  sr.value = rec.value;
  sr.ver = v;
  sr.tomb = rec.tomb;
  sr.stamp = now();
  // Not stored is not acknowledged: the sender's Ack says kNoMem (full).
  if (store().put(pos, rec.key, std::move(sr)) != kOk) {
    if (store().failures() % 1024 == 1)
      log(1, "node " + name(self_) + " could not store a record (" +
                 std::to_string(store().failures()) +
                 " store failures so far): " + store().error());
    if (full) *full = true;
    return false;
  }
  if (rec.tomb) tombstone_stored();
  return true;
}

void Replicator::handle_replicate(const Peer& from, uint64_t rid, wire::Replicate&& m) {
  if (!replicate_recs_.take(from.id, static_cast<double>(m.recs.size()), now())) {
    rt_.refuse(Refusal::replicate_rate, from,
               "records pushed past " +
                   std::to_string(static_cast<uint64_t>(kReplicateRecordsPerS)) + " per second");
    wire::Ack busy;
    busy.status = kBusy;
    if (rid) send(from, rid, std::move(busy));
    return;
  }
  size_t n = 0;
  bool full = false;
  for (const wire::Record& r : m.recs) n += apply(r, &full) ? 1 : 0;
  if (m.handoff && n)
    log(2, "node " + name(self_) + " took over " + std::to_string(n) + " keys from " + name(from));
  wire::Ack ack;
  if (full) {
    rt_.refuse(Refusal::store_full, from,
               "records past max_store_bytes, or that the store could not take");
    ack.status = kNoMem;
  }
  if (rid) send(from, rid, std::move(ack));
}

void Replicator::push(const Peer& to, std::vector<wire::Record>&& recs) {
  size_t i = 0, sent = 0;
  while (i < recs.size()) {
    if (sent >= kPushBytes) {
      log(2, "node " + name(self_) + " leaves " + std::to_string(recs.size() - i) +
                 " records for " + name(to) + " to the next anti-entropy round");
      anti_entropy_soon();
      return;
    }
    wire::Replicate m;
    size_t bytes = 0;
    while (i < recs.size() && (m.recs.empty() || bytes + record_size(recs[i]) <= kBatchBytes)) {
      bytes += record_size(recs[i]);
      m.recs.push_back(std::move(recs[i]));
      i++;
    }
    sent += bytes;
    send(to, 0, std::move(m));
  }
}

// ------------------------------------------------------------- anti-entropy

std::vector<uint64_t> Replicator::digest(const Id& lo, const Id& hi, size_t* scanned) const {
  std::vector<uint64_t> b(kDigestBuckets, 0);
  size_t n = 0;
  store().scan(lo, hi, nullptr, [&](const Id& pos, const Bytes& key, const StoredRecord& r) {
    b[bucket_of(pos)] ^= record_hash(key, r.ver, r.tomb);
    n++;
    return true;
  });
  if (scanned) *scanned = n;
  return b;
}

void Replicator::anti_entropy() {
  every(
      opts_.anti_entropy_ms, [this] { anti_entropy(); }, kCalmAntiEntropyFactor);
  anti_entropy_round();
  prune_round();  // prune.cpp: drop the copies of ranges we no longer hold
}

void Replicator::anti_entropy_soon() {
  if (ae_soon_ || opts_.client) return;
  ae_soon_ = true;
  after(jittered(std::min(opts_.stabilize_ms, opts_.anti_entropy_ms)), [this] {
    ae_soon_ = false;
    anti_entropy_round();
  });
}

void Replicator::anti_entropy_round() {
  // The owner of (pred, self] compares that range with each replica.
  if (opts_.client || !ring_.has_predecessor() || ring_.successors().empty() || ring_.joining() ||
      ring_.leaving())
    return;
  const Id lo = ring_.predecessor().id, hi = self_.id;
  std::vector<uint64_t> mine = digest(lo, hi);
  for (const Peer& t : ring_.replica_targets()) {
    wire::Digest d;
    d.lo = lo;
    d.hi = hi;
    d.buckets = mine;
    rpc(t, std::move(d), opts_.rpc_timeout_ms, [this, t, lo, hi](int rc, wire::Message* r) {
      if (rc != kOk || !std::holds_alternative<wire::DigestResp>(r->body)) return;
      on_digest_resp(t, lo, hi, std::move(std::get<wire::DigestResp>(r->body)));
    });
  }
}

void Replicator::handle_digest(const Peer& from, uint64_t rid, const wire::Digest& m) {
  // A digest costs a scan of its range, twice when buckets differ: a peer
  // may make us read twice what we hold per anti-entropy period.
  const double held = static_cast<double>(std::max<size_t>(store().size(), 4096));
  digest_scan_.set_rate(2 * held * 1000.0 / opts_.anti_entropy_ms, 4 * held);
  if (!digest_scan_.allowed(from.id, now())) {
    rt_.refuse(Refusal::digest_rate, from, "anti-entropy digests past their rate");
    wire::Ack busy;
    busy.status = kBusy;
    send(from, rid, std::move(busy));
    return;
  }
  wire::DigestResp resp;
  size_t scanned = 0;
  if (m.buckets.size() == kDigestBuckets) {
    std::vector<uint64_t> mine = digest(m.lo, m.hi, &scanned);
    std::vector<bool> differ(kDigestBuckets, false);
    for (unsigned i = 0; i < kDigestBuckets; i++) {
      if (mine[i] != m.buckets[i]) {
        differ[i] = true;
        resp.mismatched.push_back(i);
      }
    }
    size_t bytes = 0;
    if (!resp.mismatched.empty()) {
      store().scan(m.lo, m.hi, nullptr,
                   [&](const Id& pos, const Bytes& key, const StoredRecord& r) {
                     if (!differ[bucket_of(pos)]) return true;
                     if (bytes >= kBatchBytes) return false;
                     wire::Record e;
                     e.key = key;
                     e.hlc = r.ver.hlc;
                     e.writer = r.ver.writer;
                     e.tomb = r.tomb;
                     bytes += record_size(e);
                     resp.entries.push_back(std::move(e));
                     return true;
                   });
      scanned *= 2;
    }
  }
  digest_scan_.charge(from.id, static_cast<double>(scanned));
  send(from, rid, std::move(resp));
}

void Replicator::on_digest_resp(const Peer& to, const Id& lo, const Id& hi, wire::DigestResp&& m) {
  if (m.mismatched.empty()) return;
  stir();  // replicas diverge: the ring (or the data) is moving
  std::vector<bool> differ(kDigestBuckets, false);
  for (uint32_t b : m.mismatched)
    if (b < kDigestBuckets) differ[b] = true;
  std::map<Bytes, Version> theirs;
  for (wire::Record& e : m.entries) theirs[std::move(e.key)] = Version{e.hlc, e.writer};
  // Ours that they lack or hold older: push. Theirs that we lack or hold
  // older: pull.
  std::vector<wire::Record> give;
  store().scan(lo, hi, nullptr, [&](const Id& pos, const Bytes& key, const StoredRecord& r) {
    if (!differ[bucket_of(pos)]) return true;
    auto it = theirs.find(key);
    if (it == theirs.end() || it->second < r.ver) give.push_back(to_wire(pos, key, r));
    return true;
  });
  wire::Pull want;
  for (auto& [key, ver] : theirs) {
    const Id pos = key_id(key.data(), key.size());
    if (!in_open_closed(pos, lo, hi)) continue;
    const StoredRecord* r = store().get(pos, key);
    if (!r || r->ver < ver) want.keys.push_back(key);
  }
  if (!give.empty()) {
    log(2, "node " + name(self_) + " repairs " + std::to_string(give.size()) + " keys on replica " +
               name(to));
    push(to, std::move(give));
  }
  if (!want.keys.empty()) {
    rpc(to, std::move(want), opts_.rpc_timeout_ms, [this](int rc, wire::Message* r) {
      if (rc != kOk || !std::holds_alternative<wire::Records>(r->body)) return;
      for (const wire::Record& rec : std::get<wire::Records>(r->body).recs) apply(rec);
    });
  }
}

bool Replicator::serve_allowed(const Peer& from, uint64_t rid) {
  if (serve_bytes_.allowed(from.id, now())) return true;
  rt_.refuse(Refusal::serve_rate, from,
             "range and pull pages past " +
                 std::to_string(static_cast<uint64_t>(kServeBytesPerS) >> 20) + " MiB per second");
  wire::Ack busy;
  busy.status = kBusy;
  send(from, rid, std::move(busy));
  return false;
}

void Replicator::handle_pull(const Peer& from, uint64_t rid, const wire::Pull& m) {
  if (!serve_allowed(from, rid)) return;
  wire::Records out;
  size_t bytes = 0;
  for (const Bytes& key : m.keys) {
    const Id pos = key_id(key.data(), key.size());
    const StoredRecord* r = store().get(pos, key);
    if (!r) continue;
    wire::Record w = to_wire(pos, key, *r);
    if (bytes + record_size(w) > kBatchBytes && !out.recs.empty()) {
      out.more = true;
      break;
    }
    bytes += record_size(w);
    out.recs.push_back(std::move(w));
  }
  serve_bytes_.charge(from.id, static_cast<double>(bytes));
  send(from, rid, std::move(out));
}

// ---------------------------------------------------------- range transfers

void Replicator::handle_range(const Peer& from, uint64_t rid, const wire::RangeReq& m) {
  if (!serve_allowed(from, rid)) return;
  wire::Records out;
  size_t bytes = 0;
  StoreKey after{m.after_pos, m.after_key};
  store().scan(m.lo, m.hi, m.has_after ? &after : nullptr,
               [&](const Id& pos, const Bytes& key, const StoredRecord& r) {
                 wire::Record w = to_wire(pos, key, r);
                 if (bytes + record_size(w) > kBatchBytes && !out.recs.empty()) {
                   out.more = true;
                   return false;
                 }
                 bytes += record_size(w);
                 out.recs.push_back(std::move(w));
                 return true;
               });
  out.listen_ms = bcast_.listen_left();
  serve_bytes_.charge(from.id, static_cast<double>(bytes));
  send(from, rid, std::move(out));
}

void Replicator::pull_range(const Peer& from, const Id& lo, const Id& hi, uint64_t deadline,
                            std::function<void(int rc)> done, std::optional<StoreKey> after) {
  if (now() >= deadline) return done(kTimedOut);
  wire::RangeReq req;
  req.lo = lo;
  req.hi = hi;
  if (after) {
    req.has_after = true;
    req.after_pos = after->pos;
    req.after_key = after->key;
  }
  rpc(from, std::move(req), opts_.rpc_timeout_ms,
      [this, from, lo, hi, deadline, done, after](int rc, wire::Message* r) {
        if (rc != kOk || !std::holds_alternative<wire::Records>(r->body)) {
          if (rc == kUnreachable) return done(kUnreachable);
          if (rc == kOk) {  // busy (serve_rate), or an answer we did not ask for: not at once
            auto again = [this, from, lo, hi, deadline, done, after] {
              pull_range(from, lo, hi, deadline, done, after);
            };
            this->after(kBusyRetryMs, std::move(again));
            return;
          }
          return pull_range(from, lo, hi, deadline, done, after);  // timed out: ask again
        }
        wire::Records& recs = std::get<wire::Records>(r->body);
        if (recs.listen_ms) bcast_.heard_listener(recs.listen_ms);
        for (const wire::Record& rec : recs.recs) apply(rec);
        if (!recs.more || recs.recs.empty()) return done(kOk);
        const wire::Record& last = recs.recs.back();
        StoreKey next{key_id(last.key.data(), last.key.size()), last.key};
        pull_range(from, lo, hi, deadline, done, next);
      });
}

void Replicator::tombstone_stored() {
  // The collector runs only while some tombstone is stored: a node that
  // never saw a delete never wakes up for it.
  if (collecting_tombstones_ || opts_.client) return;
  collecting_tombstones_ = true;
  after(jittered(std::max<uint32_t>(opts_.tombstone_grace_ms / 4, 1000)),
        [this] { collect_tombstones(); });
}

void Replicator::collect_tombstones() {
  collecting_tombstones_ = false;
  const uint64_t t = now();
  std::vector<StoreKey> old;
  bool younger = false;
  store().scan(self_.id, self_.id, nullptr,
               [&](const Id& pos, const Bytes& key, const StoredRecord& r) {
                 if (r.tomb && r.stamp + opts_.tombstone_grace_ms <= t)
                   old.push_back(StoreKey{pos, key});
                 else if (r.tomb)
                   younger = true;
                 return true;
               });
  for (const StoreKey& k : old) store().erase(k.pos, k.key);
  if (younger) tombstone_stored();
}

}  // namespace chord::core
