// SPDX-License-Identifier: MIT
#include "net/node_host.hpp"

#include "wire/hello.hpp"

#include <sodium.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "wire/status.hpp"
#include "crypto/handshake.hpp"
#include "net/group_commit_store.hpp"

namespace chord::net {

namespace {

bool is_zero(const core::Id& id) {
  for (uint8_t b : id)
    if (b) return false;
  return true;
}

Connection* conn_of(void* handle_data) {
  return static_cast<Connection*>(handle_data);
}

bool has_fd(Connection* c) {
  uv_os_fd_t fd;
  return uv_fileno(reinterpret_cast<uv_handle_t*>(&c->tcp), &fd) == 0;
}

struct WriteReq {
  uv_write_t req;
  std::vector<uint8_t> buf;
  Connection* conn;
};

constexpr size_t kReadBuf = 64 * 1024;

}  // namespace

NodeHost::NodeHost(Loop& loop, HostConfig cfg) : loop_(loop), cfg_(std::move(cfg)) {
  randombytes_buf(&rng_state_, sizeof rng_state_);
  if (!cfg_.max_output_bytes)
    cfg_.max_output_bytes = std::max<size_t>(size_t{32} << 20, 8 * cfg_.limits.max_frame);
}

NodeHost::~NodeHost() = default;

int NodeHost::start(std::string& why) {
  uv_loop_t* l = loop_.uv();
  if (!cfg_.core.client) {
    Address bind_addr;
    if (int rc = parse_address(cfg_.listen, true, bind_addr, why)) return rc;
    uv_tcp_init(l, &server_);
    server_.data = this;
    server_inited_ = true;
    ++open_handles_;
    int rc = uv_tcp_bind(&server_, reinterpret_cast<sockaddr*>(&bind_addr.ss), 0);
    if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&server_), 511, on_connection);
    if (rc != 0) {
      why = "cannot listen on " + bind_addr.text + ": " + uv_strerror(rc);
      return kIo;
    }
    listening_ = true;
    sockaddr_storage ss{};
    int len = sizeof ss;
    uv_tcp_getsockname(&server_, reinterpret_cast<sockaddr*>(&ss), &len);
    std::string bound = format_address(reinterpret_cast<sockaddr*>(&ss));
    if (!cfg_.advertise.empty()) {
      Address adv;
      if (int prc = parse_address(cfg_.advertise, false, adv, why)) return prc;
      self_addr_ = adv.text;
    } else {
      Address b;
      parse_address(bound, false, b, why);
      if (is_unspecified(b)) {
        why = "listening on an unspecified address (" + bound +
              "): set an advertise address peers can dial";
        return kInval;
      }
      self_addr_ = bound;
    }
  }
  uv_timer_init(l, &timer_);
  timer_.data = this;
  uv_timer_init(l, &sweep_);
  sweep_.data = this;
  uv_prepare_init(l, &prepare_);
  prepare_.data = this;
  uv_check_init(l, &check_);
  check_.data = this;
  uv_timer_init(l, &members_timer_);
  members_timer_.data = this;
  open_handles_ += 5;
  timers_inited_ = true;
  uv_unref(reinterpret_cast<uv_handle_t*>(&sweep_));
  uv_unref(reinterpret_cast<uv_handle_t*>(&members_timer_));
  std::unique_ptr<core::Store> store;
  if (cfg_.store) {
    auto gc = std::make_unique<GroupCommitStore>(std::move(cfg_.store), [this] { poke(); });
    gc_ = gc.get();
    store = std::move(gc);
  }
  if (!cfg_.data_dir.empty()) {
    remembered_ = load_members(cfg_.data_dir);
    uv_timer_start(&members_timer_, on_members_timer, kMembersSaveMs, kMembersSaveMs);
  }
  node_ = std::make_unique<core::Node>(cfg_.core, cfg_.identity->id, self_addr_, *this,
                                       std::move(store));
  poke();
  after_core_call();
  return kOk;
}

namespace {
// A responder at its connection limit (or shutting down) resets the
// connection before any handshake byte; the initiator may see the reset when
// its connect completes, when it writes its hello, or when it reads.
constexpr char kResetBeforeHandshake[] =
    " reset the connection before the handshake: it is at its connection limit or shutting "
    "down; retry later";
bool is_reset(int status) {
  return status == UV_ECONNRESET || status == UV_EPIPE;
}
}  // namespace

void NodeHost::write_failed(Connection* c, int status) {
  if (c->state == Connection::State::Handshaking && c->outbound && !c->got_bytes &&
      is_reset(status)) {
    fail(c, kBusy, "peer " + c->remote + kResetBeforeHandshake, false);
    return;
  }
  fail(c, kUnreachable, std::string("write failed: ") + uv_strerror(status), false);
}

size_t NodeHost::live_connections() const {
  // Closing ones are on their way out (uv_close pending): they hold no slot.
  size_t n = 0;
  for (const auto* c : conns_) n += c->state != Connection::State::Closing;
  return n;
}

HostStats NodeHost::stats() const {
  HostStats s = stats_;
  s.connections = 0;
  for (auto* c : conns_)
    if (c->state == Connection::State::Open) ++s.connections;
  return s;
}

std::optional<std::pair<int, std::string>> NodeHost::dial_failure(const std::string& addr) const {
  auto it = dial_failures_.find(addr);
  if (it == dial_failures_.end()) {
    Address a;
    std::string why;
    if (parse_address(addr, false, a, why) == kOk) it = dial_failures_.find(a.text);
  }
  if (it == dial_failures_.end()) return std::nullopt;
  return it->second;
}

uint64_t NodeHost::now_ms() {
  return uv_hrtime() / 1000000;
}

uint64_t NodeHost::wall_ms() {
  uv_timeval64_t tv;
  if (uv_gettimeofday(&tv) != 0) return 0;  // the core then refuses to stamp writes
  return static_cast<uint64_t>(tv.tv_sec) * 1000 + static_cast<uint64_t>(tv.tv_usec) / 1000;
}

uint64_t NodeHost::random_u64() {
  uint64_t z = (rng_state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void NodeHost::log(int level, const std::string& line) {
  if (level <= cfg_.log_level && cfg_.log) cfg_.log(level, line);
}

void NodeHost::emit(core::Event&& ev) {
  if (cfg_.on_event) cfg_.on_event(std::move(ev));
}

bool NodeHost::wants_key_events() {
  return cfg_.wants_key_events && cfg_.wants_key_events();
}

void NodeHost::sign(const core::Bytes& msg, wire::PublicKey& pk, wire::Signature& sig) {
  pk = cfg_.identity->public_key;
  crypto::sign(*cfg_.identity, msg.data(), msg.size(), sig);
}

bool NodeHost::verify(const core::Id& id, const wire::PublicKey& pk, const core::Bytes& msg,
                      const wire::Signature& sig) {
  return crypto::id_of_public_key(pk) == id && crypto::verify(pk, msg.data(), msg.size(), sig);
}

// ------------------------------------------------------------------ sending

void NodeHost::send(const core::Peer& to, wire::Message&& m) {
  if (closing_) return;
  poke();
  // Only what acknowledges waits for the commit: an operation's answer (a
  // write's, and a read's, which may have seen this turn's writes) and a
  // replica's Ack. The rest (copies to the replicas, maintenance) leaves now,
  // so that the replicas commit while we do, not after.
  const bool acknowledges =
      std::holds_alternative<wire::OpResp>(m.body) || std::holds_alternative<wire::Ack>(m.body);
  if (acknowledges && holding()) {
    held_.emplace_back(to, std::move(m));
    return;
  }
  send_now(to, std::move(m));
}

bool NodeHost::holding() const {
  return gc_ && gc_->open_batch();
}

void NodeHost::when_committed(std::function<void(int, const std::string&)> fn) {
  if (!holding()) return fn(kOk, std::string());
  held_done_.push_back(std::move(fn));
  poke();
}

void NodeHost::commit_turn() {
  if (!gc_ || (!gc_->open_batch() && held_.empty() && held_done_.empty())) return;
  std::string why;
  const int rc = gc_->commit(why);
  auto held = std::move(held_);
  held_.clear();
  auto dones = std::move(held_done_);
  held_done_.clear();
  if (rc != kOk) {
    why = "this node could not commit the write to its data folder: " + why;
    log(0, why + " (" + std::to_string(held.size()) + " messages and " +
               std::to_string(dones.size()) + " local completions answered with the error)");
    // The turn's writes are not stored: its successes must not be seen as
    // acknowledgements, by an origin (OpResp) or an owner (a replica's Ack),
    // nor replayed to a retry from the core's cache of answers.
    if (node_) node_->store_failed();
    for (auto& [to, m] : held) {
      if (auto* r = std::get_if<wire::OpResp>(&m.body); r && r->status == kOk) {
        r->status = rc;
        r->detail = why;
      } else if (auto* a = std::get_if<wire::Ack>(&m.body); a && a->status == kOk) {
        a->status = rc;
      }
    }
  }
  for (auto& [to, m] : held) send_now(to, std::move(m));
  for (auto& fn : dones) fn(rc, why);
}

void NodeHost::send_now(const core::Peer& to, wire::Message&& m) {
  if (closing_) return;
  ++stats_.msgs_sent;
  Connection* c = nullptr;
  if (!is_zero(to.id)) {
    auto it = by_id_.find(to.id);
    if (it != by_id_.end()) c = it->second;
  }
  if (!c && !to.addr.empty()) {
    auto it = by_addr_.find(to.addr);
    if (it != by_addr_.end()) {
      c = it->second;
      if (c->state == Connection::State::Open && !is_zero(to.id) && c->peer.id != to.id) {
        // Another identity answers at that address now: to is gone.
        unreachable_.push_back(to);
        return;
      }
    } else {
      c = dial(to.addr, to.id);
    }
  }
  if (!c) {
    unreachable_.push_back(to);
    return;
  }
  if (c->state == Connection::State::Open) {
    send_on(c, m);
  } else if (c->pending.size() < cfg_.max_pending_messages) {
    c->pending.emplace_back(to, std::move(m));
  } else if (stats_.pending_dropped++ % 1024 == 0) {
    log(1, "dropping messages to " + c->remote + ": " + std::to_string(c->pending.size()) +
               " wait for the connection already (" + std::to_string(stats_.pending_dropped) +
               " dropped so far)");
  }
}

void NodeHost::send_on(Connection* c, const wire::Message& m) {
  // The plaintext lives only until it is sealed: one buffer per loop thread
  // serves all the nodes on it.
  static thread_local std::vector<uint8_t> plain;
  plain.clear();
  wire::encode(m, plain);
  int rc = c->channel->seal(plain.data(), plain.size(), c->outbuf);
  if (rc != kOk) {
    log(1, "dropping an oversized message to " + c->remote);
    return;
  }
  // A peer that asks for more than it reads: what it has not taken is
  // bounded, and past the bound the link goes (its requests fail over).
  const size_t q = queued(c);
  if (q > cfg_.max_output_bytes) {
    ++stats_.slow_links_cut;
    fail(c, kBusy,
         c->remote + " does not read what it asks for: " + std::to_string(q) +
             " bytes queued for it (max_output_bytes " + std::to_string(cfg_.max_output_bytes) +
             ")",
         true);
    return;
  }
  if (q > cfg_.max_output_bytes / 2 && !c->reading_paused) pause_reading(c);
  if (!c->dirty) {
    c->dirty = true;
    dirty_.push_back(c);
    poke();
  }
}

size_t NodeHost::queued(Connection* c) {
  return c->outbuf.size() + uv_stream_get_write_queue_size(reinterpret_cast<uv_stream_t*>(&c->tcp));
}

void NodeHost::pause_reading(Connection* c) {
  if (c->state != Connection::State::Open) return;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
  c->reading_paused = true;
  c->drained_ms = now_ms();
  if (++stats_.reads_paused % 1024 == 1)
    log(2, "not reading " + c->remote +
               " until it takes what it asked for: " + std::to_string(queued(c)) +
               " bytes queued for it (" + std::to_string(stats_.reads_paused) + " pauses so far)");
  watch_handshakes();  // the sweep cuts a link paused too long
}

void NodeHost::maybe_resume_reading(Connection* c) {
  if (!c->reading_paused || c->state != Connection::State::Open) return;
  c->drained_ms = now_ms();
  if (queued(c) > cfg_.max_output_bytes / 4) return;
  c->reading_paused = false;
  // First what was read but held back when the pause came (the rest of
  // that read), one at a time: any of them may pause us again.
  while (!c->held.empty() && !c->reading_paused && c->state == Connection::State::Open && node_ &&
         !closing_) {
    wire::Message m = std::move(c->held.front());
    c->held.pop_front();
    poke();
    node_->on_message(c->peer, std::move(m));
  }
  if (c->reading_paused || c->budget_paused || c->state != Connection::State::Open) return;
  int rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), on_alloc, on_read);
  if (rc != 0) fail(c, kIo, std::string("read failed: ") + uv_strerror(rc), true);
}

void NodeHost::flush(Connection* c) {
  c->dirty = false;
  if (c->outbuf.empty() || c->state == Connection::State::Closing) return;
  size_t off = 0;
  if (c->writes_in_flight == 0) {
    uv_buf_t b = uv_buf_init(reinterpret_cast<char*>(c->outbuf.data()),
                             static_cast<unsigned>(c->outbuf.size()));
    int n = uv_try_write(reinterpret_cast<uv_stream_t*>(&c->tcp), &b, 1);
    if (n > 0)
      off = static_cast<size_t>(n);
    else if (n < 0 && n != UV_EAGAIN) {
      write_failed(c, n);
      return;
    }
  }
  stats_.bytes_sent += off;
  // An idle connection holds no write buffer: most links of a node are idle
  // most of the time, and a kept capacity per link adds up across hundreds of
  // nodes in one process. A fresh allocation per flush costs far less than
  // the encryption and the system call it goes with.
  if (off == c->outbuf.size()) {
    std::vector<uint8_t>().swap(c->outbuf);
    maybe_resume_reading(c);
    return;
  }
  auto* w = new WriteReq;
  w->conn = c;
  if (off == 0) {
    w->buf.swap(c->outbuf);
  } else {
    w->buf.assign(c->outbuf.begin() + static_cast<ptrdiff_t>(off), c->outbuf.end());
    std::vector<uint8_t>().swap(c->outbuf);
  }
  w->req.data = w;
  uv_buf_t b =
      uv_buf_init(reinterpret_cast<char*>(w->buf.data()), static_cast<unsigned>(w->buf.size()));
  ++c->writes_in_flight;
  int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&c->tcp), &b, 1, on_write);
  if (rc != 0) {
    --c->writes_in_flight;
    delete w;
    write_failed(c, rc);
  }
}

void NodeHost::on_write(uv_write_t* req, int status) {
  auto* w = static_cast<WriteReq*>(req->data);
  Connection* c = w->conn;
  --c->writes_in_flight;
  c->host->stats_.bytes_sent += w->buf.size();
  delete w;
  if (status < 0 && status != UV_ECANCELED && c->state != Connection::State::Closing) {
    c->host->write_failed(c, status);
    return;
  }
  if (status >= 0) c->host->maybe_resume_reading(c);
}

void NodeHost::flush_all() {
  // Sending may dirty more connections; loop until quiet. Each round writes
  // out what is not held first (a write's copies: the replicas commit while
  // we do), then commits what the core wrote (it may write again when it
  // hears of an unreachable peer) and queues the acknowledgements it held.
  for (;;) {
    std::vector<Connection*> batch;
    batch.swap(dirty_);
    for (auto* c : batch) flush(c);
    run_deferred();
    commit_turn();
    if (dirty_.empty() && unreachable_.empty()) break;
  }
}

void NodeHost::run_deferred() {
  if (unreachable_.empty()) return;
  std::vector<core::Peer> peers;
  peers.swap(unreachable_);
  if (!node_ || closing_) return;
  for (auto& p : peers) node_->on_unreachable(p);
}

void NodeHost::poke() {
  if (!timers_inited_ || closing_) return;
  if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&prepare_)))
    uv_prepare_start(&prepare_, on_flush);
  if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&check_)))
    uv_check_start(&check_, on_flush_check);
}

void NodeHost::resume_budget_paused() {
  std::vector<Connection*> list;
  list.swap(budget_paused_);
  for (Connection* c : list) {
    c->budget_paused = false;
    if (c->state != Connection::State::Open || c->reading_paused) continue;
    int rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), on_alloc, on_read);
    if (rc != 0) fail(c, kIo, std::string("read failed: ") + uv_strerror(rc), true);
  }
}

void NodeHost::on_flush(uv_prepare_t* p) {
  auto* h = static_cast<NodeHost*>(p->data);
  h->flush_all();
  h->after_core_call();
  uv_prepare_stop(p);  // until poke()
}

void NodeHost::on_flush_check(uv_check_t* c) {
  auto* h = static_cast<NodeHost*>(c->data);
  h->turns_++;  // the poll phase of this turn is over
  h->resume_budget_paused();
  h->flush_all();
  h->after_core_call();
  uv_check_stop(c);  // until poke()
}

void NodeHost::on_members_timer(uv_timer_t* t) {
  static_cast<NodeHost*>(t->data)->save_members();
}

std::vector<std::string> load_members(const std::string& data_dir) {
  std::vector<std::string> out;
  std::ifstream in(data_dir + "/" + kMembersFile);
  std::string line;
  while (std::getline(in, line) && out.size() < 64)
    if (!line.empty() && line.size() <= wire::kMaxAddr) out.push_back(line);
  return out;
}

void NodeHost::save_members() {
  if (!node_ || closing_ || cfg_.data_dir.empty()) return;
  std::string text;
  std::vector<std::string> seen;
  auto add = [&](const core::Peer& p) {
    if (p.addr.empty() || p.addr == self_addr_) return;
    if (std::find(seen.begin(), seen.end(), p.addr) != seen.end()) return;
    seen.push_back(p.addr);
    text += p.addr + "\n";
  };
  for (const auto& p : node_->successor_list()) add(p);
  core::Peer pred;
  if (node_->predecessor(&pred)) add(pred);
  // A ring of one (alone, or after a leave) keeps what it knew before.
  if (text.empty() || text == saved_members_) return;
  const std::string path = cfg_.data_dir + "/" + kMembersFile;
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool ok = fd >= 0;
  if (ok) ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  if (ok) ok = ::fsync(fd) == 0;
  if (fd >= 0) ::close(fd);
  if (ok) ok = ::rename(tmp.c_str(), path.c_str()) == 0;
  if (ok) {
    // The rename survives a power loss once the folder's entry is on disk.
    const int dfd = ::open(cfg_.data_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ok = dfd >= 0 && ::fsync(dfd) == 0;
    if (dfd >= 0) ::close(dfd);
  }
  if (!ok) {
    log(1, "cannot write down the ring's members in " + path + ": " + std::strerror(errno));
    ::unlink(tmp.c_str());
    return;
  }
  saved_members_ = std::move(text);
}

void NodeHost::watch_handshakes() {
  if (timers_inited_ && !closing_ && !uv_is_active(reinterpret_cast<uv_handle_t*>(&sweep_)))
    uv_timer_start(&sweep_, on_sweep, 500, 500);
}

void NodeHost::after_core_call() {
  if (!node_ || closing_) return;
  // Timer slack: wake on a 32 ms grid of the loop clock, so that the nodes
  // sharing a loop run their timers in one wake-up rather than one each
  // (their periods are jittered). Every core timer tolerates it: the
  // shortest are the event batch (5 ms) and retry pauses.
  constexpr uint64_t kSlackMs = 32;
  uint64_t d = node_->next_deadline();
  if (d != UINT64_MAX) d = (d + kSlackMs - 1) / kSlackMs * kSlackMs;
  if (d == armed_deadline_ && uv_is_active(reinterpret_cast<uv_handle_t*>(&timer_))) return;
  armed_deadline_ = d;
  uint64_t now = now_ms();
  uv_timer_start(&timer_, on_timer, d > now ? d - now : 0, 0);
}

void NodeHost::on_timer(uv_timer_t* t) {
  auto* h = static_cast<NodeHost*>(t->data);
  if (!h->node_ || h->closing_) return;
  h->armed_deadline_ = 0;
  h->node_->tick();
  h->after_core_call();
}

void NodeHost::on_sweep(uv_timer_t* t) {
  auto* h = static_cast<NodeHost*>(t->data);
  uint64_t now = h->now_ms();
  std::vector<Connection*> late, stalled;
  bool open = false;
  for (auto* c : h->conns_) {
    if (c->state == Connection::State::Open && c->reading_paused) {
      open = true;
      if (now - c->drained_ms > kStalledMs) stalled.push_back(c);
      continue;
    }
    if (c->state != Connection::State::Connecting && c->state != Connection::State::Handshaking)
      continue;
    open = true;
    if (now - c->opened_ms > h->cfg_.handshake_timeout_ms) late.push_back(c);
  }
  if (!open) uv_timer_stop(t);  // until the next connection opens or a read pauses
  for (auto* c : late)
    h->fail(c, kTimedOut, "handshake with " + c->remote + " did not finish in time", true);
  for (auto* c : stalled) {
    ++h->stats_.stalled_links_cut;
    h->fail(c, kBusy,
            c->remote + " took none of the " + std::to_string(queued(c)) +
                " bytes queued for it in " + std::to_string(kStalledMs / 1000) + " s",
            true);
  }
}

// -------------------------------------------------------------- connections

Connection* NodeHost::dial(const std::string& addr, const core::Id& expect) {
  Address a;
  std::string why;
  if (parse_address(addr, false, a, why) != kOk) {
    dial_failures_[addr] = {kInval, why};
    return nullptr;
  }
  if (live_connections() >= cfg_.max_connections) {
    dial_failures_[a.text] = {kBusy, "connection limit reached"};
    return nullptr;
  }
  auto* c = new Connection;
  c->host = this;
  c->outbound = true;
  c->dial_addr = addr;
  c->remote = a.text;
  c->peer.id = expect;
  c->peer.addr = addr;
  c->opened_ms = now_ms();
  watch_handshakes();
  uv_tcp_init(loop_.uv(), &c->tcp);
  c->tcp.data = c;
  ++open_handles_;
  conns_.push_back(c);
  by_addr_[addr] = c;
  // The request lives only until on_connect, which libuv calls exactly once
  // (with UV_ECANCELED if the handle closes first), so links do not carry it.
  auto* req = new uv_connect_t;
  req->data = c;
  int rc = uv_tcp_connect(req, &c->tcp, reinterpret_cast<sockaddr*>(&a.ss), on_connect);
  if (rc != 0) {
    delete req;
    fail(c, kUnreachable, "cannot connect to " + a.text + ": " + uv_strerror(rc), false);
    return nullptr;
  }
  return c;
}

void NodeHost::on_connect(uv_connect_t* req, int status) {
  Connection* c = conn_of(req->data);
  delete req;
  NodeHost* h = c->host;
  if (status == UV_ECANCELED || c->state == Connection::State::Closing) return;
  if (status < 0) {
    if (is_reset(status)) {
      h->fail(c, kBusy, "peer " + c->remote + kResetBeforeHandshake, false);
      return;
    }
    h->fail(c, kUnreachable, "cannot connect to " + c->remote + ": " + uv_strerror(status), false);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  h->begin_handshake(c);
}

void NodeHost::on_connection(uv_stream_t* server, int status) {
  auto* h = static_cast<NodeHost*>(server->data);
  if (status < 0 || h->closing_) return;
  auto* c = new Connection;
  c->host = h;
  c->opened_ms = h->now_ms();
  h->watch_handshakes();
  uv_tcp_init(h->loop_.uv(), &c->tcp);
  c->tcp.data = c;
  ++h->open_handles_;
  h->conns_.push_back(c);
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) {
    h->fail(c, kIo, "accept failed", true);
    return;
  }
  sockaddr_storage ss{};
  int len = sizeof ss;
  uv_tcp_getpeername(&c->tcp, reinterpret_cast<sockaddr*>(&ss), &len);
  c->remote = format_address(reinterpret_cast<sockaddr*>(&ss));
  if (h->live_connections() > h->cfg_.max_connections) {
    h->fail(c, kBusy, "refusing " + c->remote + ": connection limit reached", true);
    return;
  }
  // Unauthenticated connections are cheap to open and dear to hold. Past a
  // bound the oldest gives way, so that a flood cannot starve honest peers
  // of handshake slots for longer than it takes them to retry.
  size_t max_hs = std::max<size_t>(8, h->cfg_.max_connections / 4);
  size_t hs = 0;
  Connection* oldest = nullptr;
  for (auto* o : h->conns_) {
    if (o->outbound || o == c || o->state != Connection::State::Handshaking) continue;
    ++hs;
    if (!oldest || o->opened_ms < oldest->opened_ms) oldest = o;
  }
  if (hs >= max_hs && oldest)
    h->fail(oldest, kBusy, "dropping the oldest pending handshake from " + oldest->remote, true);
  uv_tcp_nodelay(&c->tcp, 1);
  h->begin_handshake(c);
}

void NodeHost::begin_handshake(Connection* c) {
  crypto::HandshakeConfig hc;
  hc.self = cfg_.identity.get();
  hc.network = cfg_.network;
  hc.network_key = cfg_.network_key;
  wire::Hello hello;
  hello.addr = self_addr_;
  hc.payload = wire::encode_hello(hello);
  if (c->outbound && !is_zero(c->peer.id)) hc.expected_peer = c->peer.id;
  hc.max_frame = cfg_.limits.max_frame + 1024;
  c->hs = std::make_unique<crypto::Handshake>(c->outbound, std::move(hc));
  c->state = Connection::State::Handshaking;
  c->opened_ms = now_ms();
  watch_handshakes();
  int rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), on_alloc, on_read);
  if (rc != 0) {
    fail(c, kIo, std::string("read failed: ") + uv_strerror(rc), true);
    return;
  }
  std::vector<uint8_t> out = c->hs->take_output();
  if (!out.empty()) {
    c->outbuf.insert(c->outbuf.end(), out.begin(), out.end());
    flush(c);
  }
}

void NodeHost::on_alloc(uv_handle_t*, size_t, uv_buf_t* buf) {
  // One read buffer per loop thread serves all its connections: on_read
  // consumes every byte before the next read (the channel keeps a partial
  // frame). Left uninitialised, its pages cost memory only once a read is
  // that large.
  static thread_local std::unique_ptr<char[]> rbuf(new char[kReadBuf]);
  *buf = uv_buf_init(rbuf.get(), static_cast<unsigned>(kReadBuf));
}

void NodeHost::on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  Connection* c = conn_of(s->data);
  NodeHost* h = c->host;
  if (c->state == Connection::State::Closing) return;
  h->poke();
  if (nread < 0) {
    if (c->state == Connection::State::Handshaking && c->outbound &&
        is_reset(static_cast<int>(nread)) && !c->got_bytes) {
      // A reset before any handshake byte (kResetBeforeHandshake); one that
      // cannot authenticate our hello hangs up (end of stream). Say which.
      h->fail(c, kBusy, "peer " + c->remote + kResetBeforeHandshake, false);
    } else if (c->state == Connection::State::Handshaking && c->outbound) {
      // A responder that cannot authenticate our hello just hangs up.
      h->fail(c, kRefused,
              "peer " + c->remote + " closed the handshake: " +
                  crypto::refusal_reason(h->cfg_.network, h->cfg_.network_key.has_value()),
              false);
    } else {
      h->fail(c, kUnreachable,
              "connection to " + c->remote + " closed: " +
                  (nread == UV_EOF ? std::string("end of stream")
                                   : uv_strerror(static_cast<int>(nread))),
              false);
    }
    return;
  }
  if (nread == 0) return;
  h->stats_.bytes_received += static_cast<uint64_t>(nread);
  c->got_bytes = true;
  if (c->read_turn != h->turns_) {
    c->read_turn = h->turns_;
    c->turn_bytes = 0;
  }
  c->turn_bytes += static_cast<size_t>(nread);
  h->handle_bytes(c, reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread));
  if (c->state == Connection::State::Open && !c->reading_paused && !c->budget_paused &&
      c->turn_bytes >= kReadBudgetPerTurn) {
    // Its turn is over: the others first (resume_budget_paused, next turn).
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
    c->budget_paused = true;
    h->budget_paused_.push_back(c);
    ++h->stats_.read_budget_yields;
  }
}

void NodeHost::handle_bytes(Connection* c, const uint8_t* p, size_t n) {
  if (c->state == Connection::State::Handshaking) {
    std::string why;
    int rc = c->hs->feed(p, n, why);
    std::vector<uint8_t> out = c->hs->take_output();
    if (!out.empty()) {
      c->outbuf.insert(c->outbuf.end(), out.begin(), out.end());
      flush(c);
      if (c->state == Connection::State::Closing) return;
    }
    if (rc != kOk || c->hs->state() == crypto::Handshake::State::Failed) {
      fail(c, rc ? rc : kProto, "handshake with " + c->remote + " failed: " + why, false);
      return;
    }
    if (c->hs->state() != crypto::Handshake::State::Done) return;
    handshake_done(c);
    return;
  }
  if (c->state != Connection::State::Open) return;
  deliver(c, p, n);
}

void NodeHost::handshake_done(Connection* c) {
  std::vector<uint8_t> leftover;
  c->channel = c->hs->make_channel(leftover);
  c->peer.id = c->hs->peer_id();
  // Versions first: a peer with no version in common is refused, naming
  // both ranges (it may be a node of an older or newer release).
  wire::Hello theirs;
  std::string hello_why;
  if (!wire::decode_hello(c->hs->peer_payload(), theirs, hello_why)) {
    fail(c, kRefused, "peer " + c->remote + ": " + hello_why, true);
    return;
  }
  const wire::Hello ours;
  const std::optional<uint16_t> version = wire::negotiate(ours, theirs);
  if (!version) {
    fail(c, kRefused, "peer " + c->remote + " " + wire::version_mismatch(ours, theirs), true);
    return;
  }
  c->protocol = *version;
  c->peer_newer = theirs.proto_max > ours.proto_max;
  c->features = theirs.features & wire::kFeaturesKnown;
  c->peer.addr = theirs.addr;
  // The advertised address goes into every message that names this peer: one
  // that the wire cannot carry (over kMaxAddr bytes) or that is no HOST:PORT
  // would make those messages undecodable at every node. Refused here.
  if (!c->peer.addr.empty()) {
    Address a;
    std::string why;
    if (parse_address(c->peer.addr, false, a, why) != kOk) why = "not HOST:PORT (" + why + ")";
    if (!why.empty()) {
      ++stats_.bad_addresses;
      fail(c, kProto, c->remote + " advertised a bad address: " + why, true);
      return;
    }
  }
  c->hs.reset();
  c->state = Connection::State::Open;
  if (c->outbound) dial_failures_.erase(c->dial_addr);
  by_id_[c->peer.id] = c;
  if (c->outbound && !c->peer.addr.empty() && c->peer.addr != c->dial_addr) {
    // Reachable under its advertised address too.
    by_addr_.emplace(c->peer.addr, c);
  }
  auto pending = std::move(c->pending);
  c->pending.clear();
  for (auto& pm : pending) {
    if (c->state != Connection::State::Open) break;  // cut while sending (send_on)
    send_on(c, pm.second);
  }
  if (cfg_.on_connect) cfg_.on_connect(c->peer);
  if (!leftover.empty() && c->state == Connection::State::Open)
    deliver(c, leftover.data(), leftover.size());
}

void NodeHost::deliver(Connection* c, const uint8_t* p, size_t n) {
  std::string why;
  bool bad = false;
  std::string bad_why;
  int rc = c->channel->open(
      p, n,
      [&](const uint8_t* f, size_t fn) {
        if (bad || c->state != Connection::State::Open || !node_ || closing_) return;
        wire::Message m;
        std::string dwhy;
        wire::Limits lim = cfg_.limits;
        lim.skip_unknown_tail = c->peer_newer;
        int drc = wire::decode(f, fn, lim, m, dwhy);
        if (drc != kOk) {
          bad = true;
          bad_why = "undecodable message from " + c->remote + ": " + dwhy;
          return;
        }
        ++stats_.msgs_received;
        // Paused by what an earlier message of this read made us send: the
        // rest waits (at most one read's worth) until the peer takes it.
        if (c->reading_paused) return c->held.push_back(std::move(m));
        node_->on_message(c->peer, std::move(m));
      },
      why);
  if (bad) {
    fail(c, kProto, bad_why, true);
    return;
  }
  if (rc != kOk && c->state == Connection::State::Open) {
    fail(c, rc, "bad frame from " + c->remote + ": " + why, true);
  }
}

void NodeHost::forget(Connection* c) {
  auto it = by_id_.find(c->peer.id);
  if (it != by_id_.end() && it->second == c) by_id_.erase(it);
  for (auto a = by_addr_.begin(); a != by_addr_.end();) {
    if (a->second == c)
      a = by_addr_.erase(a);
    else
      ++a;
  }
  // Another live connection to the same peer may take over its id.
  for (auto* o : conns_) {
    if (o != c && o->state == Connection::State::Open && o->peer.id == c->peer.id) {
      by_id_[o->peer.id] = o;
      break;
    }
  }
}

void NodeHost::fail(Connection* c, int code, const std::string& why, bool reset) {
  if (c->state == Connection::State::Closing) return;
  poke();  // the core hears of it (run_deferred)
  bool was_open = c->state == Connection::State::Open;
  c->state = Connection::State::Closing;
  if (c->outbound && !was_open) dial_failures_[c->remote] = {code, why};
  if (c->outbound && !was_open && c->dial_addr != c->remote)
    dial_failures_[c->dial_addr] = {code, why};
  // Routine closes (peers leaving, crashing, idle dials failing) are debug
  // noise next to joins and repairs; violations by a peer are warnings.
  log(code == kProto || code == kTooBig ? 1 : 3, "closing connection: " + why);
  forget(c);
  // Whatever was queued for this link did not go out; tell the core once per peer.
  for (auto& pm : c->pending) {
    bool seen = false;
    for (auto& u : unreachable_)
      if (u.id == pm.first.id && u.addr == pm.first.addr) seen = true;
    if (!seen) unreachable_.push_back(pm.first);
  }
  c->pending.clear();
  if (was_open && !closing_) unreachable_.push_back(c->peer);
  auto* h = reinterpret_cast<uv_handle_t*>(&c->tcp);
  if (reset && !uv_is_closing(h) && has_fd(c) && uv_tcp_close_reset(&c->tcp, on_closed) == 0)
    return;
  if (!uv_is_closing(h)) uv_close(h, on_closed);
}

void NodeHost::on_closed(uv_handle_t* handle) {
  Connection* c = conn_of(handle->data);
  NodeHost* h = c->host;
  auto& v = h->conns_;
  v.erase(std::remove(v.begin(), v.end(), c), v.end());
  auto& d = h->dirty_;
  d.erase(std::remove(d.begin(), d.end(), c), d.end());
  auto& b = h->budget_paused_;
  b.erase(std::remove(b.begin(), b.end(), c), b.end());
  delete c;
  h->handle_closed();
}

void NodeHost::handle_closed() {
  if (--open_handles_ == 0 && close_done_) {
    auto done = std::move(close_done_);
    close_done_ = nullptr;
    done();  // may destroy this
  }
}

void NodeHost::close(bool graceful, std::function<void()> done) {
  if (closing_) return;
  if (graceful) flush_all();
  closing_ = true;
  // Without a commit (an abort, like a crash) the open batch is dropped with
  // the store, and what it held is never sent nor acknowledged.
  held_.clear();
  held_done_.clear();
  gc_ = nullptr;
  node_.reset();
  close_done_ = std::move(done);
  auto own_closed = [](uv_handle_t* hd) { static_cast<NodeHost*>(hd->data)->handle_closed(); };
  if (open_handles_ == 0) {
    auto d = std::move(close_done_);
    d();
    return;
  }
  std::vector<Connection*> all = conns_;
  for (auto* c : all) {
    if (c->state == Connection::State::Closing) continue;
    c->state = Connection::State::Closing;
    auto* hd = reinterpret_cast<uv_handle_t*>(&c->tcp);
    if (graceful && c->writes_in_flight == 0 && c->outbuf.empty()) {
      uv_close(hd, on_closed);
    } else if (graceful) {
      // Let queued writes finish: a shutdown waits for them, then close.
      auto* sd = new uv_shutdown_t;
      sd->data = c;
      int rc = uv_shutdown(sd, reinterpret_cast<uv_stream_t*>(&c->tcp), [](uv_shutdown_t* r, int) {
        auto* cc = conn_of(r->data);
        delete r;
        uv_close(reinterpret_cast<uv_handle_t*>(&cc->tcp), on_closed);
      });
      if (rc != 0) {
        delete sd;
        uv_close(hd, on_closed);
      }
    } else if (!has_fd(c) || uv_tcp_close_reset(&c->tcp, on_closed) != 0) {
      uv_close(hd, on_closed);
    }
  }
  if (server_inited_) uv_close(reinterpret_cast<uv_handle_t*>(&server_), own_closed);
  if (timers_inited_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), own_closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&sweep_), own_closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&prepare_), own_closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&check_), own_closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&members_timer_), own_closed);
  }
}

}  // namespace chord::net
