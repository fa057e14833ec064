// SPDX-License-Identifier: MIT
// Writes at their owner: the stamp check, the write quorum (a majority of r
// copies, Options::sloppy_quorum), owner_write and the replicas' acknowledgements.
#include <algorithm>

#include "core/executor.hpp"
#include "core/replicator.hpp"
#include "core/broadcaster.hpp"

namespace chord::core {

int Executor::check_stamp(const wire::OpReq& req, std::string& detail) {
  if (req.hlc == 0) {
    detail = "a write without a version";
    return kProto;
  }
  const uint64_t wall_now = wall();
  const uint64_t phys = Hlc::physical(req.hlc);
  const uint64_t skew = opts_.max_clock_skew_ms;
  if (phys > wall_now + skew) {
    rt_.count_version_refused();
    detail = "the write's version is " + std::to_string(phys - wall_now) +
             " ms ahead of the owner's clock (max_clock_skew_ms " + std::to_string(skew) + ")";
    return kRefused;
  }
  if (phys + req.ttl_ms + skew < wall_now) {
    detail = "the request is " + std::to_string(wall_now - phys) + " ms old, past its " +
             std::to_string(req.ttl_ms) +
             " ms timeout: delivered late, or the origin's clock is behind the owner's";
    return kTimedOut;
  }
  return kOk;
}

unsigned Executor::write_quorum(size_t reachable) const {
  const unsigned r = opts_.replicas;
  if (opts_.sloppy_quorum)
    return std::min<unsigned>(r / 2 + 1, 1 + static_cast<unsigned>(reachable));
  return std::min(r, ring_.members_seen()) / 2 + 1;
}

void Executor::owner_write(const Bytes& key, const Id& pos, const Bytes* value, const Version& ver,
                           wire::OpResp resp, Reply reply) {
  // A majority of the r replicas, this one included (write_quorum): with too
  // few reachable, fail now and apply nothing.
  std::vector<Peer> targets = ring_.replica_targets();
  const unsigned need = write_quorum(targets.size());
  if (1 + targets.size() < need) {
    wire::OpResp r;
    r.status = kNoQuorum;
    r.detail = std::to_string(1 + targets.size()) + " of the " + std::to_string(need) +
               " replicas a write needs are reachable (r = " + std::to_string(opts_.replicas) +
               "; a node cut off from its ring writes nothing)";
    return reply(std::move(r));
  }

  const StoredRecord* cur = store().get(pos, key);
  const bool was_live = cur && !cur->tomb;
  if (value && opts_.max_store_bytes) {
    const size_t now_b =
        store().bytes() - (cur ? key.size() + cur->value.size() + Store::kRecordOverhead : 0);
    if (now_b + key.size() + value->size() + Store::kRecordOverhead > opts_.max_store_bytes) {
      wire::OpResp r;
      r.status = kNoMem;
      r.detail = "the owner's store is full (" + std::to_string(store().bytes()) + " of " +
                 std::to_string(opts_.max_store_bytes) + " bytes, max_store_bytes)";
      return reply(std::move(r));
    }
  }
  StoredRecord rec;
  rec.ver = ver;
  rt_.hlc().observe(ver.hlc, wall(), opts_.max_clock_skew_ms);
  rec.stamp = now();
  if (value) {
    rec.value = *value;
  } else {
    rec.tomb = true;
  }
  resp.hlc = ver.hlc;
  wire::Record wr = repl_.to_wire(pos, key, rec);
  // An engine that cannot store it (a full map, a disk error) fails the
  // write here, before any event or copy: nothing of it is acknowledged.
  if (int prc = store().put(pos, key, std::move(rec)); prc != kOk) {
    wire::OpResp r;
    r.status = prc;
    r.detail = "the owner could not store the write: " + store().error();
    return reply(std::move(r));
  }
  if (!value) repl_.tombstone_stored();

  // Events (queued, sent in batches): absent -> present is an add, present ->
  // absent a delete.
  if (value && !was_live) bcast_.key_event(wire::KeyChange::Add, key);
  if (!value && was_live) bcast_.key_event(wire::KeyChange::Delete, key);

  if (need <= 1 && targets.empty()) return reply(std::move(resp));
  uint64_t wid = next_write_++;
  WriteState& ws = writes_[wid];
  ws.need = need - 1;
  ws.resp = std::move(resp);
  ws.reply = std::move(reply);
  if (ws.need == 0) {
    ws.replied = true;
    ws.reply(wire::OpResp(ws.resp));
  }
  for (const Peer& t : targets) replicate_write(wid, t, wr, 0);
  // Answer before the origin's hop timer fires, so that it does not retry.
  after(std::max<uint32_t>(opts_.rpc_timeout_ms / 2, 1), [this, wid] {
    auto it = writes_.find(wid);
    if (it == writes_.end()) return;
    if (!it->second.replied) {
      it->second.replied = true;
      wire::OpResp r;
      r.status = kNoQuorum;
      r.detail = std::to_string(it->second.acks + 1) + " of " +
                 std::to_string(it->second.need + 1) + " replicas acknowledged";
      it->second.reply(std::move(r));
    }
    writes_.erase(it);
  });
}

void Executor::replicate_write(uint64_t wid, const Peer& to, const wire::Record& rec,
                               unsigned attempt) {
  // Two tries within the write's deadline (rpc_timeout / 2): a lost message
  // should not leave a replica behind until anti-entropy comes round.
  wire::Replicate m;
  m.recs.push_back(rec);
  uint32_t timeout = std::max<uint32_t>(opts_.rpc_timeout_ms / 4, 1);
  rpc(to, std::move(m), timeout, [this, wid, to, rec, attempt](int rc, wire::Message* r) {
    bool ok = rc == kOk && std::holds_alternative<wire::Ack>(r->body) &&
              std::get<wire::Ack>(r->body).status == kOk;
    if (!ok) {
      if (attempt == 0 && rc == kTimedOut) return replicate_write(wid, to, rec, 1);
      repl_.anti_entropy_soon();  // bring that replica, or its replacement, up to date
      return;
    }
    auto it = writes_.find(wid);
    if (it == writes_.end()) return;
    it->second.acks++;
    if (!it->second.replied && it->second.acks >= it->second.need) {
      it->second.replied = true;
      it->second.reply(std::move(it->second.resp));
    }
  });
}

}  // namespace chord::core
