// SPDX-License-Identifier: MIT
// The dictionary at its origin: get, set, del and pop (user_op), iteration
// pages, popitem, update and whisper, each a routed operation (start_op).
#include <algorithm>

#include "core/router.hpp"

namespace chord::core {

int Router::check_sizes(const Bytes* key, const Bytes* value, std::string& detail) const {
  if (key && key->size() > opts_.max_key_bytes) {
    detail = "key of " + std::to_string(key->size()) + " bytes exceeds the limit of " +
             std::to_string(opts_.max_key_bytes);
    return kTooBig;
  }
  if (value && value->size() > opts_.max_value_bytes) {
    detail = "value of " + std::to_string(value->size()) + " bytes exceeds the limit of " +
             std::to_string(opts_.max_value_bytes);
    return kTooBig;
  }
  return kOk;
}

namespace {
Result fail_result(int rc, std::string detail) {
  Result r;
  r.status = rc;
  r.detail = std::move(detail);
  return r;
}
std::string timeout_detail(uint32_t ms) {
  return "no answer within " + std::to_string(ms ? ms : 5000) + " ms";
}
}  // namespace

void Router::user_op(wire::Op op, Bytes key, Bytes value, uint32_t timeout_ms, Done done) {
  std::string detail;
  int rc = check_sizes(&key, op == wire::Op::Set ? &value : nullptr, detail);
  if (rc != kOk) return done(fail_result(rc, detail));
  if (user_ops_ >= opts_.max_pending)
    return done(fail_result(kBusy, "too many operations in flight"));
  wire::OpReq req;
  req.op = op;
  req.target = key_id(key.data(), key.size());
  req.key = std::move(key);
  req.value = std::move(value);
  start_op(std::move(req), timeout_ms, true,
           [done, timeout_ms](int orc, wire::OpResp&& resp, unsigned hops) {
             Result r;
             r.status = orc != kOk ? orc : resp.status;
             if (orc == kTimedOut)
               r.detail = timeout_detail(timeout_ms);
             else
               r.detail = std::move(resp.detail);
             r.value = std::move(resp.value);
             r.hops = hops;
             done(std::move(r));
           });
}

void Router::iter_page(const IterCursor& cur, bool values, uint32_t limit, uint32_t timeout_ms,
                       PageDone done) {
  if (cur.done) {
    Page p;
    p.next = cur;
    return done(std::move(p));
  }
  if (user_ops_ >= opts_.max_pending) {
    Page p;
    p.status = kBusy;
    p.detail = "too many operations in flight";
    p.next = cur;
    return done(std::move(p));
  }
  IterCursor c = cur;
  if (!c.started) {
    c.started = true;
    c.origin = self_.id;
    c.position = self_.id;
    c.has_after = false;
    c.after.clear();
  }
  wire::OpReq req;
  req.op = wire::Op::Iter;
  req.target = add_one(c.position);
  req.pos = c.position;
  req.end = c.origin;
  req.limit = limit;
  if (values) req.flags |= wire::kFlagValues;
  if (c.has_after) {
    req.flags |= wire::kFlagHasAfter;
    req.key = c.after;
  }
  start_op(std::move(req), timeout_ms, true,
           [done, c, cur, timeout_ms](int rc, wire::OpResp&& resp, unsigned hops) {
             Page p;
             p.hops = hops;
             if (rc != kOk || resp.status != kOk) {
               p.status = rc != kOk ? rc : resp.status;
               p.detail = rc == kTimedOut ? timeout_detail(timeout_ms) : resp.detail;
               p.next = cur;  // calling again retries the page
               return done(std::move(p));
             }
             p.next = c;
             p.next.position = resp.pos;
             p.next.has_after = (resp.flags & wire::kFlagMore) != 0;
             p.next.after = p.next.has_after ? std::move(resp.key) : Bytes{};
             p.next.done = (resp.flags & wire::kFlagDone) != 0;
             for (wire::KeyValue& kv : resp.items)
               p.items.push_back(Item{std::move(kv.key), std::move(kv.value)});
             done(std::move(p));
           });
}

void Router::popitem(uint32_t timeout_ms, unsigned attempt, Done done) {
  if (!timeout_ms) timeout_ms = 5000;
  const uint64_t deadline = now() + timeout_ms;
  // Walk owners until one holds a key, then pop that key at its owner. If
  // another popper took it first, walk again.
  auto walk = std::make_shared<std::function<void(IterCursor, unsigned)>>();
  std::weak_ptr<std::function<void(IterCursor, unsigned)>> weak = walk;
  *walk = [this, deadline, attempt, done, weak](IterCursor cur, unsigned hops) {
    auto self = weak.lock();
    uint64_t t = now();
    if (t >= deadline) return done(fail_result(kTimedOut, "popitem ran out of time"));
    uint32_t left = static_cast<uint32_t>(deadline - t);
    iter_page(cur, false, 1, left, [this, done, attempt, self, hops, deadline](Page&& p) {
      unsigned h = hops + p.hops;
      if (p.status != kOk) {
        Result r = fail_result(p.status, p.detail);
        r.hops = h;
        return done(std::move(r));
      }
      if (p.items.empty()) {
        if (p.next.done) {
          Result r = fail_result(kNotFound, "the dictionary is empty");
          r.hops = h;
          return done(std::move(r));
        }
        return (*self)(p.next, h);
      }
      Bytes key = p.items[0].key;
      uint64_t t2 = now();
      uint32_t left2 = t2 >= deadline ? 1 : static_cast<uint32_t>(deadline - t2);
      user_op(wire::Op::Pop, key, {}, left2, [this, done, attempt, key, h, left2](Result&& r) {
        r.hops += h;
        if (r.status == kNotFound && attempt < 8) return popitem(left2, attempt + 1, done);
        if (r.status == kOk) r.key = key;
        done(std::move(r));
      });
    });
  };
  (*walk)(IterCursor{}, 0);
}

void Router::update(std::vector<Item> items, uint32_t timeout_ms, Done done) {
  std::string detail;
  for (const Item& it : items) {
    int rc = check_sizes(&it.key, &it.value, detail);
    if (rc != kOk) return done(fail_result(rc, detail));
  }
  if (items.empty()) return done(Result{});
  if (user_ops_ >= opts_.max_pending)
    return done(fail_result(kBusy, "too many operations in flight"));
  if (!timeout_ms) timeout_ms = 5000;
  // More items than max_pending allows at once go in a window: as one ends
  // the next starts, each within what is left of the call's timeout.
  struct Acc {
    std::vector<Item> items;
    size_t next = 0, in_flight = 0, left = 0;
    bool pumping = false;  // an item that ends at once does not recurse
    uint64_t deadline = 0;
    std::vector<Result> results;
    Done done;
  };
  auto acc = std::make_shared<Acc>();
  acc->left = items.size();
  acc->results.resize(items.size());
  acc->items = std::move(items);
  acc->deadline = now() + timeout_ms;
  acc->done = std::move(done);
  auto finish = [acc] {
    Result out;
    for (Result& x : acc->results) {
      out.hops = std::max(out.hops, x.hops);
      if (out.status == kOk && x.status != kOk) {
        out.status = x.status;
        out.detail = x.detail;
      }
    }
    acc->done(std::move(out));
  };
  auto pump = std::make_shared<std::function<void()>>();
  // The items in flight and the retry timer own the pump; it refers to
  // itself weakly, so that it goes once they are done.
  *pump = [this, acc, finish, weak = std::weak_ptr<std::function<void()>>(pump)] {
    auto self = weak.lock();
    if (!self || acc->pumping) return;  // the loop below goes on
    acc->pumping = true;
    while (acc->next < acc->items.size() && user_ops_ < opts_.max_pending) {
      const size_t i = acc->next++;
      const uint64_t t = now();
      if (t >= acc->deadline) {
        acc->results[i] = fail_result(kTimedOut, "the update's timeout passed before this item");
        if (--acc->left == 0) {
          acc->pumping = false;
          return finish();
        }
        continue;
      }
      acc->in_flight++;
      user_op(wire::Op::Set, std::move(acc->items[i].key), std::move(acc->items[i].value),
              static_cast<uint32_t>(acc->deadline - t), [acc, i, finish, self](Result&& r) {
                acc->results[i] = std::move(r);
                acc->in_flight--;
                if (--acc->left == 0) return finish();
                (*self)();
              });
    }
    acc->pumping = false;
    // No room and none of ours out to make some: look again shortly.
    if (acc->next < acc->items.size() && acc->in_flight == 0) after(10, [self] { (*self)(); });
  };
  (*pump)();
}

void Router::whisper(const Id& to, Bytes payload, uint32_t timeout_ms, Done done) {
  std::string detail;
  int rc = check_sizes(nullptr, &payload, detail);
  if (rc != kOk) return done(fail_result(rc, detail));
  if (to == self_.id && !opts_.client) {
    Event ev;
    ev.type = EventType::Message;
    ev.data = std::move(payload);
    ev.sender = self_;
    ev.whisper = true;
    rt_.host().emit(std::move(ev));
    return done(Result{});
  }
  if (user_ops_ >= opts_.max_pending)
    return done(fail_result(kBusy, "too many operations in flight"));
  wire::OpReq req;
  req.op = wire::Op::Whisper;
  req.target = to;
  req.value = std::move(payload);
  start_op(std::move(req), timeout_ms, true,
           [done, timeout_ms](int orc, wire::OpResp&& resp, unsigned hops) {
             Result r;
             r.status = orc != kOk ? orc : resp.status;
             r.detail = orc == kTimedOut ? timeout_detail(timeout_ms) : std::move(resp.detail);
             r.hops = hops;
             done(std::move(r));
           });
}

}  // namespace chord::core
