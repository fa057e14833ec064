// SPDX-License-Identifier: MIT
// Operations at the node that owns their target.
#include <algorithm>

#include "core/executor.hpp"
#include "core/router.hpp"
#include "core/replicator.hpp"
#include "core/broadcaster.hpp"

namespace chord::core {

namespace {
constexpr size_t kExecutedKept = 8192;
constexpr uint64_t kExecutedMs = 120000;
constexpr size_t kExecutedBytes = 32u << 20;
constexpr size_t kExecutedBytesPerOrigin = 4u << 20;

wire::OpResp status_resp(int rc, std::string detail) {
  wire::OpResp r;
  r.status = rc;
  r.detail = std::move(detail);
  return r;
}
}  // namespace

void Executor::handle_op(const Peer& from, uint64_t rid, wire::OpReq&& req) {
  if (ring_.left()) {
    wire::Redirect gone;
    gone.not_member = true;
    gone.peers = ring_.left_successors();
    send(from, rid, std::move(gone));
    return;
  }
  if (ring_.confirming() && req.op != wire::Op::FindSucc && req.op != wire::Op::Whisper &&
      ring_.owns(req.target)) {
    // A join still confirming its range (join_confirm): answer once it knows
    // its true predecessor, rather than from a range that may be too wide.
    held_ops_.push_back(HeldOp{from, rid, std::move(req)});
    return;
  }
  bool owner = !ring_.joining() && ring_.owns(req.target);
  bool mine = owner || (!ring_.joining() && req.op == wire::Op::Whisper && req.target == self_.id &&
                        !opts_.client);
  if (!mine) {
    wire::Redirect red = ring_.route(req.target);
    // A node that asks for its own successor is joining. We may name only
    // it, to itself: it skips itself and has no one left to ask. A node we
    // have just heard of may be the nearest we know to its own id (its join
    // then stalled until a retry found another way), and a node restarted
    // with the same id (a durable node, #15) may be one whose previous life
    // we still count among the members, in which case it never found
    // another. Answer as the nearest member we know of instead: its walk
    // back to the true successor starts here.
    const auto is_from = [&](const Peer& p) { return p.id == from.id; };
    if (req.op == wire::Op::FindSucc && req.target == from.id && !is_zero(from.id) &&
        !ring_.joining() && !red.peers.empty() &&
        std::all_of(red.peers.begin(), red.peers.end(), is_from))
      owner = mine = true;
    if (!mine) {
      send(from, rid, std::move(red));
      return;
    }
  }
  Peer to = from;
  execute(from, std::move(req), [this, to, rid, owner](wire::OpResp&& resp) {
    // The owner names its predecessor: the origin learns our whole range,
    // (pred, self], and sends the next operation inside it straight here.
    if (owner && ring_.has_predecessor() && !(resp.flags & wire::kFlagHasPred)) {
      resp.flags |= wire::kFlagHasPred;
      resp.pred = ring_.predecessor();
    }
    send(to, rid, std::move(resp));
  });
}

void Executor::execute(const Peer& from, wire::OpReq&& req, Reply reply) {
  switch (req.op) {
    case wire::Op::FindSucc:
      return reply(find_succ_resp());
    case wire::Op::Whisper:
      return execute_whisper(from, std::move(req), std::move(reply));
    case wire::Op::Iter:
      return execute_iter(from, req, std::move(reply));
    default:
      return execute_dict(from, std::move(req), std::move(reply));
  }
}

wire::OpResp Executor::find_succ_resp() {
  wire::OpResp r;
  r.peers.push_back(self_);
  for (const Peer& p : ring_.successors()) r.peers.push_back(p);
  if (ring_.has_predecessor()) {
    r.flags |= wire::kFlagHasPred;
    r.pred = ring_.predecessor();
  }
  return r;
}

void Executor::execute_whisper(const Peer& from, wire::OpReq&& req, Reply reply) {
  if (req.target != self_.id) return reply(status_resp(kNotFound, "no member has that id"));
  Event ev;
  ev.type = EventType::Message;
  ev.data = std::move(req.value);
  ev.sender = from;
  ev.whisper = true;
  rt_.host().emit(std::move(ev));
  reply(wire::OpResp{});
}

void Executor::execute_dict(const Peer& from, wire::OpReq&& req, Reply reply) {
  // Never trust the target: the position is the key's hash.
  std::string detail;
  int rc = router_.check_sizes(&req.key, req.op == wire::Op::Set ? &req.value : nullptr, detail);
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
  if (from.id != self_.id && !first_execution(from.id, req.opid, reply)) return;
  execute_write(pos, ver, std::move(req), std::move(reply));
}

bool Executor::first_execution(const Id& origin, uint64_t opid, Reply& reply) {
  const std::pair<Id, uint64_t> ek{origin, opid};
  auto it = executed_.find(ek);
  if (it != executed_.end()) {
    if (it->second.finished) reply(wire::OpResp(it->second.resp));
    return false;  // still running: its reply is on the way
  }
  executed_.emplace(ek, Done_{});
  executed_order_.emplace_back(now(), ek);
  while (!executed_order_.empty() &&
         (executed_order_.size() > kExecutedKept || executed_bytes_ > kExecutedBytes ||
          executed_order_.front().first + kExecutedMs < now())) {
    auto old = executed_.find(executed_order_.front().second);
    if (old != executed_.end()) forget_executed(old);
    executed_order_.pop_front();
  }
  Reply inner = std::move(reply);
  reply = [this, ek, inner](wire::OpResp&& resp) {
    keep_reply(ek, resp);
    inner(std::move(resp));
  };
  return true;
}

void Executor::keep_reply(const std::pair<Id, uint64_t>& ek, const wire::OpResp& resp) {
  auto done_it = executed_.find(ek);
  if (done_it == executed_.end()) return;
  const size_t bytes = resp.key.size() + resp.value.size() + resp.detail.size() + 128;
  size_t& mine = executed_bytes_by_origin_[ek.first];
  if (resp.status == kStale) {
    forget_executed(done_it);  // it comes back restamped, same opid
  } else if (mine + bytes > kExecutedBytesPerOrigin) {
    rt_.refuse(Refusal::retry_cache, Peer{ek.first, {}},
               "replies past the origin's share of the retry cache");
    forget_executed(done_it);
  } else {
    done_it->second.finished = true;
    done_it->second.resp = resp;
    done_it->second.bytes = bytes;
    mine += bytes;
    executed_bytes_ += bytes;
  }
  if (mine == 0) executed_bytes_by_origin_.erase(ek.first);
}

void Executor::execute_write(const Id& pos, const Version& ver, wire::OpReq&& req, Reply reply) {
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

void Executor::forget_executed(std::map<std::pair<Id, uint64_t>, Done_>::iterator it) {
  if (it->second.bytes) {
    executed_bytes_ -= it->second.bytes;
    auto o = executed_bytes_by_origin_.find(it->first.first);
    if (o != executed_bytes_by_origin_.end() && (o->second -= it->second.bytes) == 0)
      executed_bytes_by_origin_.erase(o);
  }
  executed_.erase(it);
}

void Executor::forget_all_executed() {
  executed_.clear();
  executed_order_.clear();
  executed_bytes_ = 0;
  executed_bytes_by_origin_.clear();
}

void Executor::release_held() {
  std::vector<HeldOp> held = std::move(held_ops_);
  held_ops_.clear();
  for (HeldOp& h : held) handle_op(h.from, h.rid, std::move(h.req));
}

void Executor::execute_iter(const Peer& from, const wire::OpReq& req, Reply reply) {
  // Pages cost a scan: another peer may ask for kServeBytesPerS of them
  // (what they carry, and kRecordOverhead per record read), as for ranges.
  const bool remote = from.id != self_.id;
  if (remote && !page_cost_.allowed(from.id, now())) {
    rt_.refuse(Refusal::serve_rate, from, "iteration pages past their rate");
    return reply(status_resp(kBusy, "iteration pages past their rate at this node; ask again"));
  }
  const Id& P = req.pos;
  const Id& E = req.end;
  Id hi;
  bool final_page;
  if (ring_.successors().empty()) {
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
  size_t scanned = 0;
  store().scan(P, hi, after, [&](const Id& pos, const Bytes& key, const StoredRecord& r) {
    if (resp.items.size() >= limit || bytes >= kBatchBytes || scanned >= kPageScanMax) {
      more = true;
      return false;
    }
    scanned++;
    if (r.tomb) {  // skipped, but the page may resume after it (kPageScanMax)
      last_pos = pos;
      last_key = key;
      return true;
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
  if (remote)
    page_cost_.charge(from.id, static_cast<double>(bytes + scanned * Store::kRecordOverhead));
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
