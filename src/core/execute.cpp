// SPDX-License-Identifier: MIT
// Operations at the node that owns their target.
#include <algorithm>

#include "core/node_impl.hpp"

namespace chord::core {

namespace {
constexpr size_t kExecutedKept = 8192;
constexpr uint64_t kExecutedMs = 120000;

wire::OpResp status_resp(int rc, std::string detail) {
  wire::OpResp r;
  r.status = rc;
  r.detail = std::move(detail);
  return r;
}
}  // namespace

void NodeImpl::execute(const Peer& from, wire::OpReq&& req, Reply reply) {
  switch (req.op) {
    case wire::Op::FindSucc: {
      wire::OpResp r;
      r.peers.push_back(self_);
      for (const Peer& p : succs_) r.peers.push_back(p);
      if (has_pred_) {
        r.flags |= wire::kFlagHasPred;
        r.pred = pred_;
      }
      return reply(std::move(r));
    }
    case wire::Op::Whisper: {
      if (req.target != self_.id) return reply(status_resp(kNotFound, "no member has that id"));
      Event ev;
      ev.type = EventType::Message;
      ev.data = std::move(req.value);
      ev.sender = from;
      ev.whisper = true;
      rt_.host().emit(std::move(ev));
      return reply(wire::OpResp{});
    }
    case wire::Op::Iter:
      return execute_iter(req, std::move(reply));
    default:
      break;
  }

  // The dictionary. Never trust the target: the position is the key's hash.
  std::string detail;
  int rc = check_sizes(&req.key, req.op == wire::Op::Set ? &req.value : nullptr, detail);
  if (rc != kOk) return reply(status_resp(rc, detail));
  const Id pos = key_id(req.key.data(), req.key.size());
  if (pos != req.target) return reply(status_resp(kProto, "target is not the key's position"));

  if (req.op == wire::Op::Get) {
    const StoredRecord* r = store().get(pos, req.key);
    if (!r || r->tomb) return reply(status_resp(kNotFound, ""));
    wire::OpResp resp;
    resp.value = r->value;
    resp.hlc = r->ver.hlc;
    return reply(std::move(resp));
  }

  // Writes. The version is the origin's stamp from when the call started,
  // never a fresh one here: a request that reaches us late (we were paused,
  // a partition healed) must not beat the writes acknowledged meanwhile.
  rc = check_stamp(req, detail);
  if (rc != kOk) return reply(status_resp(rc, detail));
  const Version ver{req.hlc, from.id};

  // A retried request gets the first execution's answer.
  const bool remote = from.id != self_.id;
  std::pair<Id, uint64_t> ek{from.id, req.opid};
  if (remote) {
    auto it = executed_.find(ek);
    if (it != executed_.end()) {
      if (it->second.finished) reply(wire::OpResp(it->second.resp));
      return;  // still running: its reply is on the way
    }
    executed_.emplace(ek, Done_{});
    executed_order_.emplace_back(now(), ek);
    while (executed_order_.size() > kExecutedKept ||
           (!executed_order_.empty() && executed_order_.front().first + kExecutedMs < now())) {
      executed_.erase(executed_order_.front().second);
      executed_order_.pop_front();
    }
    Reply inner = std::move(reply);
    reply = [this, ek, inner](wire::OpResp&& resp) {
      auto done_it = executed_.find(ek);
      if (done_it != executed_.end()) {
        if (resp.status == kStale) {
          executed_.erase(done_it);  // it comes back restamped, same opid
        } else {
          done_it->second.finished = true;
          done_it->second.resp = resp;
        }
      }
      inner(std::move(resp));
    };
  }

  const StoredRecord* cur = store().get(pos, req.key);
  const bool live = cur && !cur->tomb;
  // Ours already (the same stamp from the same writer, a retry that reached
  // us by replication): write it again, so that it reaches a majority.
  const bool same = cur && cur->ver == ver;
  if (cur && ver < cur->ver && (live || req.op == wire::Op::Set)) {
    wire::OpResp stale = status_resp(kStale, "a newer version is stored");
    stale.hlc = cur->ver.hlc;
    return reply(std::move(stale));
  }
  switch (req.op) {
    case wire::Op::Set:
      return owner_write(req.key, pos, &req.value, ver, wire::OpResp{}, std::move(reply));
    case wire::Op::Del:
      if (!live && !(same && cur->tomb)) return reply(status_resp(kNotFound, ""));
      return owner_write(req.key, pos, nullptr, ver, wire::OpResp{}, std::move(reply));
    case wire::Op::Pop: {
      if (!live) return reply(status_resp(kNotFound, ""));
      wire::OpResp resp;
      resp.value = cur->value;
      return owner_write(req.key, pos, nullptr, ver, std::move(resp), std::move(reply));
    }
    default:
      return reply(status_resp(kProto, "unknown operation"));
  }
}

int NodeImpl::check_stamp(const wire::OpReq& req, std::string& detail) {
  if (req.hlc == 0) {
    detail = "a write without a version";
    return kProto;
  }
  const uint64_t wall_now = wall();
  const uint64_t phys = Hlc::physical(req.hlc);
  const uint64_t skew = opts_.max_clock_skew_ms;
  if (phys > wall_now + skew) {
    versions_refused_++;
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

unsigned NodeImpl::write_quorum(size_t reachable) const {
  const unsigned r = opts_.replicas;
  if (opts_.sloppy_quorum)
    return std::min<unsigned>(r / 2 + 1, 1 + static_cast<unsigned>(reachable));
  return std::min(r, members_seen_) / 2 + 1;
}

void NodeImpl::owner_write(const Bytes& key, const Id& pos, const Bytes* value, const Version& ver,
                           wire::OpResp resp, Reply reply) {
  // A majority of the r replicas, this one included (write_quorum): with too
  // few reachable, fail now and apply nothing.
  std::vector<Peer> targets = replica_targets();
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
  wire::Record wr = to_wire(pos, key, rec);
  store().put(pos, key, std::move(rec));
  if (!value) tombstone_stored();

  // Events (queued, sent in batches): absent -> present is an add, present ->
  // absent a delete.
  if (value && !was_live) key_event(wire::KeyChange::Add, key);
  if (!value && was_live) key_event(wire::KeyChange::Delete, key);

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

void NodeImpl::replicate_write(uint64_t wid, const Peer& to, const wire::Record& rec,
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
      anti_entropy_soon();  // bring that replica, or its replacement, up to date
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

void NodeImpl::execute_iter(const wire::OpReq& req, Reply reply) {
  const Id& P = req.pos;
  const Id& E = req.end;
  Id hi;
  bool final_page;
  if (succs_.empty()) {
    hi = E;  // we own the whole ring
    final_page = true;
  } else if (P != E && in_open_closed(E, P, self_.id)) {
    hi = E;
    final_page = true;
  } else {
    hi = self_.id;
    final_page = hi == E;
  }
  uint32_t limit = std::clamp<uint32_t>(req.limit, 1, kPageKeys);
  const bool values = req.flags & wire::kFlagValues;
  StoreKey after_key;
  const StoreKey* after = nullptr;
  if (req.flags & wire::kFlagHasAfter) {
    after_key.pos = P;
    after_key.key = req.key;
    after = &after_key;
  }
  wire::OpResp resp;
  size_t bytes = 0;
  bool more = false;
  Id last_pos{};
  Bytes last_key;
  store().scan(P, hi, after, [&](const Id& pos, const Bytes& key, const StoredRecord& r) {
    if (r.tomb) return true;
    if (resp.items.size() >= limit || bytes >= kBatchBytes) {
      more = true;
      return false;
    }
    wire::KeyValue kv;
    kv.key = key;
    if (values) kv.value = r.value;
    bytes += key.size() + kv.value.size() + 8;
    resp.items.push_back(std::move(kv));
    last_pos = pos;
    last_key = key;
    return true;
  });
  if (more) {
    resp.pos = last_pos;
    resp.key = std::move(last_key);
    resp.flags |= wire::kFlagMore;
  } else {
    resp.pos = hi;
    if (final_page) resp.flags |= wire::kFlagDone;
  }
  reply(std::move(resp));
}

}  // namespace chord::core
