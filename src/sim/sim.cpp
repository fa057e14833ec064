// SPDX-License-Identifier: MIT
#include "sim/sim.hpp"

#include <algorithm>

#include <sodium.h>

#include "core/ring.hpp"
#include "core/store.hpp"
#include "sim/invariants.hpp"
#include "wire/status.hpp"

namespace chord::sim {

namespace {
uint64_t splitmix(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
}  // namespace

class Sim::NodeHost final : public core::Host {
 public:
  NodeHost(Sim& sim, int index, uint64_t seed) : sim_(sim), index_(index), rng_(seed) {}
  uint64_t now_ms() override { return sim_.now_ + sim_.nodes_[index_]->mono_offset; }
  uint64_t wall_ms() override {
    return static_cast<uint64_t>(static_cast<int64_t>(sim_.cfg_.wall_epoch_ms + sim_.now_) +
                                 sim_.nodes_[index_]->wall_offset);
  }
  uint64_t random_u64() override { return splitmix(rng_); }
  void send(const core::Peer& to, wire::Message&& m) override {
    sim_.transmit(index_, to, std::move(m));
  }
  void emit(core::Event&& ev) override { sim_.nodes_[index_]->events.push_back(std::move(ev)); }
  bool wants_key_events() override { return sim_.nodes_[index_]->listens; }
  void sign(const wire::Bytes& msg, wire::PublicKey& pk, wire::Signature& sig) override {
    sim_.keys_.sign(sim_.nodes_[index_]->peer.id, msg, pk, sig);
  }
  bool verify(const Id& id, const wire::PublicKey& pk, const wire::Bytes& msg,
              const wire::Signature& sig) override {
    return sim_.keys_.verify(id, pk, msg, sig);
  }
  void log(int level, const std::string& line) override {
    if (sim_.cfg_.log && level <= sim_.cfg_.log_level) sim_.cfg_.log(index_, level, line);
  }

 private:
  Sim& sim_;
  int index_;
  uint64_t rng_;
};

struct Sim::TraceHash {
  crypto_generichash_state st;
};

Sim::Sim(Config cfg) : cfg_(std::move(cfg)), rng_(cfg_.seed) {
  if (cfg_.trace) trace_.reset(new_trace());
  limits_.max_key = cfg_.opts.max_key_bytes;
  limits_.max_value = cfg_.opts.max_value_bytes;
  limits_.max_frame = cfg_.opts.max_value_bytes + cfg_.opts.max_key_bytes + (1 << 16);
}

Sim::~Sim() = default;

uint64_t Sim::random_u64() {
  return splitmix(rng_);
}

int Sim::make_node(const Id& id, const core::Options& opts, bool client) {
  int i = static_cast<int>(nodes_.size());
  auto n = std::make_unique<SimNode>();
  n->opts = opts;
  n->opts.client = client;
  n->client = client;
  n->peer.id = id;
  n->peer.addr = client ? std::string() : "sim:" + std::to_string(i);
  n->host = std::make_unique<NodeHost>(*this, i, random_u64());
  nodes_.push_back(std::move(n));
  SimNode& s = *nodes_.back();
  by_id_[id] = i;
  if (!client) by_addr_[s.peer.addr] = i;
  s.node = std::make_unique<core::Node>(s.opts, id, s.peer.addr, *s.host);
  reschedule(i);
  return i;
}

int Sim::add_node_with_id(const Id& id, const core::Options* opts) {
  int i = make_node(id, opts ? *opts : cfg_.opts, false);
  // The first member founds the ring; the others join it.
  if (members().empty()) nodes_[i]->member = true;
  return i;
}

int Sim::add_node() {
  Id id;
  for (size_t k = 0; k < id.size(); k += 8) {
    uint64_t r = random_u64();
    for (size_t b = 0; b < 8; b++) id[k + b] = static_cast<uint8_t>(r >> (8 * b));
  }
  return add_node_with_id(id);
}

int Sim::add_client() {
  Id id;
  for (size_t k = 0; k < id.size(); k += 8) {
    uint64_t r = random_u64();
    for (size_t b = 0; b < 8; b++) id[k + b] = static_cast<uint8_t>(r >> (8 * b));
  }
  return make_node(id, cfg_.opts, true);
}

int Sim::index_of(const Id& id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? -1 : it->second;
}

std::vector<int> Sim::members() const {
  std::vector<int> out;
  for (size_t i = 0; i < nodes_.size(); i++)
    if (nodes_[i]->alive && nodes_[i]->member) out.push_back(static_cast<int>(i));
  return out;
}

void Sim::join_async(int i, int via, uint32_t timeout_ms, core::Done done) {
  nodes_[i]->node->join(nodes_[via]->peer.addr, timeout_ms, [this, i, done](core::Result&& r) {
    if (r.status == 0 && !nodes_[i]->client) nodes_[i]->member = true;
    if (done) done(std::move(r));
  });
  reschedule(i);
}

bool Sim::join(int i, int via, uint32_t timeout_ms) {
  CallResult r = call(
      i, [&](core::Done d) { join_async(i, via, timeout_ms, std::move(d)); }, timeout_ms + 1000);
  return r.finished && r.result.status == 0;
}

bool Sim::leave(int i, uint32_t timeout_ms) {
  // Not a member from the event that completes the leave on: the invariant
  // checker runs right after that event, before this call returns.
  CallResult r = call(
      i,
      [&](core::Done d) {
        nodes_[i]->node->leave(timeout_ms, [this, i, d](core::Result&& res) {
          if (res.status == 0) nodes_[i]->member = false;
          d(std::move(res));
        });
      },
      timeout_ms + 1000);
  if (r.finished && r.result.status == 0) nodes_[i]->member = false;
  return r.finished && r.result.status == 0;
}

void Sim::pause(int i) {
  nodes_[i]->paused = true;
}

void Sim::resume(int i) {
  SimNode& n = *nodes_[i];
  if (!n.paused) return;
  n.paused = false;
  // What waited in the socket is read at once, in the order it arrived, and
  // the timers that came due meanwhile fire.
  std::vector<Ev> held = std::move(n.held);
  n.held.clear();
  for (Ev& e : held) {
    e.t = now_;
    push(std::move(e));
  }
  n.wake_at = UINT64_MAX;
  reschedule(i);
}

void Sim::set_clocks(int i, uint64_t mono_offset_ms, int64_t wall_offset_ms) {
  SimNode& n = *nodes_[i];
  n.mono_offset = mono_offset_ms;
  n.wall_offset = wall_offset_ms;
  n.wake_at = UINT64_MAX;
  reschedule(i);
}

void Sim::crash(int i) {
  SimNode& n = *nodes_[i];
  n.paused = false;
  n.held.clear();
  n.alive = false;
  n.member = false;
  n.gen++;
  n.crashed_at = now_;
  n.wake_at = UINT64_MAX;
}

void Sim::restart(int i, bool keep_data) {
  SimNode& n = *nodes_[i];
  std::unique_ptr<core::Node> old = std::move(n.node);
  n.gen++;
  n.alive = true;
  n.member = false;
  n.wake_at = UINT64_MAX;
  n.node = std::make_unique<core::Node>(n.opts, n.peer.id, n.peer.addr, *n.host);
  if (keep_data && old) {
    core::Store& from = old->store();
    core::Store& to = n.node->store();
    from.scan(n.peer.id, n.peer.id, nullptr,
              [&](const Id& pos, const Bytes& key, const core::StoredRecord& r) {
                return to.put(pos, key, r) == kOk;  // the memory engine never fails
              });
  }
  reschedule(i);
}

void Sim::partition(const std::vector<std::vector<int>>& groups) {
  for (auto& n : nodes_) n->group = 0;
  int g = 1;
  for (const auto& grp : groups) {
    for (int i : grp) nodes_[i]->group = g;
    g++;
  }
}

void Sim::heal() {
  for (auto& n : nodes_) n->group = 0;
}

uint32_t Sim::link_latency(int a, int b) {
  if (a > b) std::swap(a, b);
  uint64_t s = cfg_.seed ^ (static_cast<uint64_t>(a) << 32) ^ static_cast<uint64_t>(b);
  uint64_t r = splitmix(s);
  uint32_t span =
      cfg_.latency_max_ms >= cfg_.latency_min_ms ? cfg_.latency_max_ms - cfg_.latency_min_ms : 0;
  return cfg_.latency_min_ms + static_cast<uint32_t>(r % (span + 1ull));
}

void Sim::push(Ev&& e) {
  e.seq = seq_++;
  uint32_t slot;
  if (free_slots_.empty()) {
    slot = static_cast<uint32_t>(slab_.size());
    slab_.push_back(std::move(e));
  } else {
    slot = free_slots_.back();
    free_slots_.pop_back();
    slab_[slot] = std::move(e);
  }
  const Ev& at = slab_[slot];
  queue_.push_back(Key{at.t, at.seq, slot});
  std::push_heap(queue_.begin(), queue_.end(), Later{});
}

Sim::TraceHash* Sim::new_trace() {
  auto* t = new TraceHash;
  crypto_generichash_init(&t->st, nullptr, 0, crypto_generichash_BYTES);
  return t;
}

void Sim::trace_message(int from, const core::Peer& to, const wire::Message& m) {
  std::vector<uint8_t> buf;
  auto u64 = [&](uint64_t v) {
    for (int i = 0; i < 8; i++) buf.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  u64(now_);
  u64(static_cast<uint64_t>(from));
  buf.insert(buf.end(), to.id.begin(), to.id.end());
  u64(to.addr.size());
  buf.insert(buf.end(), to.addr.begin(), to.addr.end());
  std::vector<uint8_t> enc;
  wire::encode(m, enc);
  u64(enc.size());
  buf.insert(buf.end(), enc.begin(), enc.end());
  crypto_generichash_update(&trace_->st, buf.data(), buf.size());
}

std::string Sim::trace_digest() const {
  if (!trace_) return "";
  crypto_generichash_state copy = trace_->st;
  unsigned char out[crypto_generichash_BYTES];
  crypto_generichash_final(&copy, out, sizeof out);
  char hex[2 * sizeof out + 1];
  sodium_bin2hex(hex, sizeof hex, out, sizeof out);
  return hex;
}

void Sim::transmit(int from, const core::Peer& to, wire::Message&& m) {
  if (cfg_.trace) trace_message(from, to, m);
  messages_sent_++;
  sent_by_type_[wire::type_of(m) % 32]++;
  int dest = -1;
  if (!core::is_zero(to.id)) {
    auto it = by_id_.find(to.id);
    if (it != by_id_.end()) dest = it->second;
  } else {
    auto it = by_addr_.find(to.addr);
    if (it != by_addr_.end()) dest = it->second;
  }
  uint32_t lat = dest >= 0 ? link_latency(from, dest) : cfg_.latency_max_ms;
  uint32_t jit = cfg_.jitter_ms ? static_cast<uint32_t>(random_u64() % (cfg_.jitter_ms + 1)) : 0;
  auto refuse = [&] {
    messages_dropped_++;
    if (!cfg_.reset_on_crash) return;
    Ev e{};
    e.t = now_ + 2ull * lat;
    e.kind = Kind::Unreachable;
    e.to = from;
    e.gen = nodes_[from]->gen;
    e.peer = to;
    push(std::move(e));
  };
  if (dest < 0 || !nodes_[dest]->alive) return refuse();
  if (nodes_[from]->group != nodes_[dest]->group) {
    messages_dropped_++;  // a partition: silence, not a reset
    return;
  }
  if (cfg_.loss > 0 && static_cast<double>(random_u64() >> 11) * 0x1.0p-53 < cfg_.loss) {
    messages_dropped_++;
    return;
  }
  Ev e{};
  e.t = now_ + lat + jit;
  // One connection per pair of nodes, as TCP: a message never overtakes an
  // earlier one on the same link (the jitter only delays).
  if (cfg_.fifo_links) {
    uint64_t& last = link_last_[(static_cast<uint64_t>(from) << 32) | static_cast<uint32_t>(dest)];
    if (e.t < last) e.t = last;
    last = e.t;
  }
  e.kind = Kind::Deliver;
  e.to = dest;
  e.from = from;
  e.gen = nodes_[dest]->gen;
  if (cfg_.wire_roundtrip) {
    std::vector<uint8_t> buf;
    wire::encode(m, buf);
    std::string why;
    wire::Message back;
    if (wire::decode(buf.data(), buf.size(), limits_, back, why) != 0) {
      messages_dropped_++;
      if (violation_.empty()) violation_ = describe("a message failed to decode: " + why);
      return;
    }
    e.msg = std::move(back);
  } else {
    e.msg = std::move(m);
  }
  push(std::move(e));
}

void Sim::reschedule(int i) {
  SimNode& n = *nodes_[i];
  if (!n.alive || n.paused) return;
  uint64_t d = n.node->next_deadline();
  if (d == UINT64_MAX) return;
  d = d > n.mono_offset ? d - n.mono_offset : 0;  // the node's clock to the sim's
  if (d >= n.wake_at) return;
  n.wake_at = std::max(d, now_);
  Ev e{};
  e.t = n.wake_at;
  e.kind = Kind::Wake;
  e.to = i;
  e.gen = n.gen;
  push(std::move(e));
}

bool Sim::step(uint64_t until) {
  if (queue_.empty() || queue_.front().t > until) return false;
  std::pop_heap(queue_.begin(), queue_.end(), Later{});
  uint32_t slot = queue_.back().slot;
  queue_.pop_back();
  Ev e = std::move(slab_[slot]);
  free_slots_.push_back(slot);
  now_ = std::max(now_, e.t);
  events_processed_++;
  SimNode& n = *nodes_[e.to];
  if (n.alive && n.gen == e.gen && n.paused && e.kind != Kind::Wake) {
    // A paused process reads nothing: what arrives waits in its socket.
    n.held.push_back(std::move(e));
  } else if (n.alive && n.gen == e.gen && n.paused) {
    n.wake_at = UINT64_MAX;  // its timers fire once it resumes
  } else if (n.alive && n.gen == e.gen) {
    switch (e.kind) {
      case Kind::Deliver:
        n.node->on_message(nodes_[e.from]->peer, std::move(e.msg));
        break;
      case Kind::Wake:
        if (e.t != n.wake_at) break;  // superseded by an earlier wake-up
        n.wake_at = UINT64_MAX;
        n.node->tick();
        break;
      case Kind::Unreachable:
        n.node->on_unreachable(e.peer);
        break;
    }
    reschedule(e.to);
  }
  if (cfg_.check_every && events_processed_ % cfg_.check_every == 0) check(false);
  return true;
}

void Sim::run_for(uint64_t ms) {
  uint64_t until = now_ + ms;
  while (step(until)) {
    if (cfg_.stop_on_violation && !violation_.empty()) return;
  }
  now_ = until;
}

bool Sim::run_until(const std::function<bool()>& pred, uint64_t max_ms, uint64_t step_ms) {
  uint64_t end = now_ + max_ms;
  while (!pred()) {
    if (now_ >= end) return false;
    if (cfg_.stop_on_violation && !violation_.empty()) return false;
    run_for(std::min(step_ms, end - now_));
  }
  return true;
}

bool Sim::run_until_ideal(uint64_t max_ms) {
  return run_until([this] { return check_invariants(*this, true).empty(); }, max_ms, 100);
}

std::string Sim::describe(const std::string& what) const {
  return "seed " + std::to_string(cfg_.seed) + ", event " + std::to_string(events_processed_) +
         ", t=" + std::to_string(now_) + "ms: " + what;
}

std::string Sim::check(bool ideal) {
  // Only a broken invariant is a violation; not being ideal yet is not.
  std::string v = check_invariants(*this, false);
  if (!v.empty()) {
    v = describe(v);
    if (violation_.empty()) violation_ = v;
    return v;
  }
  if (!ideal) return v;
  v = check_invariants(*this, true);
  return v.empty() ? v : describe(v);
}

// ---------------------------------------------------------------- operations

CallResult Sim::call(int i, const std::function<void(core::Done)>& start, uint64_t wait_ms) {
  auto out = std::make_shared<CallResult>();
  start([out](core::Result&& r) {
    out->finished = true;
    out->result = std::move(r);
  });
  reschedule(i);
  uint64_t end = now_ + wait_ms;
  while (!out->finished && now_ < end) {
    if (!step(end)) break;
  }
  return *out;
}

namespace {
core::Result unfinished() {
  core::Result r;
  r.status = -2;  // kTimedOut
  r.detail = "the simulation stopped waiting";
  return r;
}
}  // namespace

core::Result Sim::listen(int i, bool on, uint32_t timeout_ms) {
  nodes_[i]->listens = on;
  if (!on) return core::Result{};
  CallResult r = call(
      i, [&](core::Done d) { node(i).listen(std::move(d)); }, timeout_ms);
  return r.finished ? r.result : unfinished();
}

core::Result Sim::get(int i, const std::string& key, uint32_t timeout_ms) {
  CallResult r = call(i, [&](core::Done d) { node(i).get(bytes(key), timeout_ms, std::move(d)); });
  return r.finished ? r.result : unfinished();
}

core::Result Sim::set(int i, const std::string& key, const std::string& value,
                      uint32_t timeout_ms) {
  CallResult r = call(
      i, [&](core::Done d) { node(i).set(bytes(key), bytes(value), timeout_ms, std::move(d)); });
  return r.finished ? r.result : unfinished();
}

core::Result Sim::del(int i, const std::string& key, uint32_t timeout_ms) {
  CallResult r = call(i, [&](core::Done d) { node(i).del(bytes(key), timeout_ms, std::move(d)); });
  return r.finished ? r.result : unfinished();
}

core::Result Sim::pop(int i, const std::string& key, uint32_t timeout_ms) {
  CallResult r = call(i, [&](core::Done d) { node(i).pop(bytes(key), timeout_ms, std::move(d)); });
  return r.finished ? r.result : unfinished();
}

core::Result Sim::popitem(int i, uint32_t timeout_ms) {
  CallResult r = call(i, [&](core::Done d) { node(i).popitem(timeout_ms, std::move(d)); });
  return r.finished ? r.result : unfinished();
}

core::Result Sim::update(int i, const std::vector<std::pair<std::string, std::string>>& items,
                         uint32_t timeout_ms) {
  std::vector<core::Item> v;
  for (const auto& [k, val] : items) v.push_back(core::Item{bytes(k), bytes(val)});
  CallResult r =
      call(i, [&](core::Done d) { node(i).update(std::move(v), timeout_ms, std::move(d)); });
  return r.finished ? r.result : unfinished();
}

bool Sim::items(int i, std::vector<core::Item>& out, uint32_t timeout_ms) {
  out.clear();
  core::IterCursor cur;
  for (int pages = 0; pages < 1000000 && !cur.done; pages++) {
    struct Slot {
      bool got = false;
      core::Page page;
    };
    auto slot = std::make_shared<Slot>();
    node(i).iter_page(cur, true, timeout_ms, [slot](core::Page&& p) {
      slot->page = std::move(p);
      slot->got = true;
    });
    reschedule(i);
    uint64_t end = now_ + timeout_ms + 1000;
    while (!slot->got && now_ < end)
      if (!step(end)) break;
    if (!slot->got || slot->page.status != 0) return false;
    core::Page* page = &slot->page;
    for (core::Item& it : page->items) out.push_back(std::move(it));
    cur = page->next;
  }
  return cur.done;
}

}  // namespace chord::sim
