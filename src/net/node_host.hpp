// SPDX-License-Identifier: MIT
// Runs one core::Node on a libuv loop: the listener, the connections, the
// handshake and encryption, write batching, and the node's timer. This is the
// production driver of the sans-IO core (src/sim is the other one).
//
// A durable node (HostConfig::store) keeps its records in its data folder,
// with group commit: the writes of a loop turn go into one LMDB transaction
// (GroupCommitStore), and the acknowledgements the core sends in that turn
// (OpResp, Ack) and the C API's completions of it (when_committed) wait
// until the turn's commit at its flush point (commit_turn): a write is
// acknowledged once it is on disk where it was applied. A failed commit turns the held successes
// into kIo. The host also writes down the ring's members in the folder (kMembersFile), for a
// restart to rejoin through (remembered_members).
//
// Every method runs on the loop thread.
#pragma once

#include <uv.h>

#include <array>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/node.hpp"
#include "crypto/identity.hpp"
#include "net/address.hpp"
#include "net/connection.hpp"
#include "net/loop.hpp"
#include "store/lmdb_store.hpp"
#include "wire/messages.hpp"

namespace chord::net {

struct IdHash {
  size_t operator()(const core::Id& id) const {
    size_t h;
    static_assert(sizeof h <= sizeof(core::Id));
    std::memcpy(&h, id.data(), sizeof h);
    return h;
  }
};

struct HostConfig {
  core::Options core;
  std::string listen = "127.0.0.1:0";
  std::string advertise;  // empty: the bound address
  std::string network = "chord";
  std::optional<std::array<uint8_t, 32>> network_key;
  std::shared_ptr<crypto::Identity> identity;
  wire::Limits limits;
  unsigned max_connections = 1024;
  uint32_t handshake_timeout_ms = 5000;
  // Sealed bytes one connection may have queued and not yet taken by its
  // peer (ours to send plus libuv's write queue). A peer that asks for more
  // than it reads is cut off past this (HostStats::slow_links_cut); honest
  // bursts stay below it (Replicator::push sends at most kPushBytes a round).
  // 0: max(32 MiB, 8 x the largest frame). Before that, at half of it, the
  // node stops reading the peer (it takes no more requests from a peer that
  // does not take the answers) until its queue is down to a quarter; a link
  // paused for kStalledMs with none of our writes completing is cut.
  size_t max_output_bytes = 0;
  // Messages held for a connection that is still being set up; past this the
  // newest are dropped (their requests time out) and counted.
  size_t max_pending_messages = 4096;
  int log_level = 2;
  std::function<void(int, const std::string&)> log;
  std::function<void(core::Event&&)> on_event;
  std::function<void(const core::Peer&)> on_connect;
  std::function<bool()> wants_key_events;  // see core::Host; empty: no
  // A durable node: the LMDB store of its data folder, opened by the caller
  // (null: the records live in memory), and the folder, where the host
  // keeps the members it knows (kMembersFile).
  std::unique_ptr<store::LmdbStore> store;
  std::string data_dir;
};

// The file in a data folder that holds the last members a node knew: its
// successors and predecessor, one HOST:PORT a line, rewritten atomically
// (a temporary file, fsync, rename) at most every kMembersSaveMs when they
// change.
constexpr char kMembersFile[] = "members";
constexpr uint64_t kMembersSaveMs = 1000;

// The members file of data_dir, read: addresses, nearest first; empty when
// there is none (a fresh folder) or it cannot be read.
std::vector<std::string> load_members(const std::string& data_dir);

struct HostStats {
  uint64_t bytes_sent = 0, bytes_received = 0;
  uint64_t msgs_sent = 0, msgs_received = 0;
  unsigned connections = 0;
  // Links closed because their peer did not read what it had asked for
  // (HostConfig::max_output_bytes).
  uint64_t slow_links_cut = 0;
  // Peers refused after the handshake for advertising an address that is no
  // HOST:PORT of at most wire::kMaxAddr bytes.
  uint64_t bad_addresses = 0;
  // Messages dropped because a connection being set up held too many.
  uint64_t pending_dropped = 0;
  // Times the node stopped reading a peer that left half of
  // max_output_bytes unread; links cut after kStalledMs paused.
  uint64_t reads_paused = 0;
  uint64_t stalled_links_cut = 0;
  // Times a peer was not read again in a loop turn because it had sent
  // kReadBudgetPerTurn in it: the other peers are read first.
  uint64_t read_budget_yields = 0;
};

// A link whose reading is paused (backpressure) and whose peer took none of
// our bytes for this long is cut (HostStats::stalled_links_cut): a peer that
// never reads, or two nodes each waiting for the other.
constexpr uint64_t kStalledMs = 30000;
// What one peer's connection may have read and handled in one loop turn
// before the node turns to its other connections (libuv would read up to 32
// buffers of 64 KiB from one socket at once).
constexpr size_t kReadBudgetPerTurn = 256 * 1024;

class GroupCommitStore;

class NodeHost final : public core::Host {
 public:
  NodeHost(Loop& loop, HostConfig cfg);
  ~NodeHost() override;

  // Binds and listens (unless a light client), then creates the core node.
  // Returns 0, kInval or kIo with why.
  int start(std::string& why);

  // The core; a caller from outside a libuv callback of ours (the C API's
  // tasks) gets the flush and timer re-arm after it, as callbacks do.
  core::Node& node() {
    poke();
    return *node_;
  }
  const std::string& addr() const { return self_addr_; }
  const core::Id& id() const { return cfg_.identity->id; }
  HostStats stats() const;

  // Why the last dial of addr failed, if it did: kRefused (handshake refused),
  // kUnreachable (connect failed). Used to explain a failed join.
  std::optional<std::pair<int, std::string>> dial_failure(const std::string& addr) const;

  // Closes the listener and every connection, then calls done once all
  // handles are closed. graceful: flush pending writes first; otherwise reset
  // connections as a crash would. The core node is destroyed before done.
  void close(bool graceful, std::function<void()> done);

  // core::Host
  uint64_t now_ms() override;
  uint64_t wall_ms() override;
  uint64_t random_u64() override;
  void send(const core::Peer& to, wire::Message&& m) override;
  void emit(core::Event&& ev) override;
  bool wants_key_events() override;
  void sign(const core::Bytes& msg, wire::PublicKey& pk, wire::Signature& sig) override;
  bool verify(const core::Id& id, const wire::PublicKey& pk, const core::Bytes& msg,
              const wire::Signature& sig) override;
  void log(int level, const std::string& line) override;
  // Connections that count against max_connections: all but the closing.
  size_t live_connections() const;
  // A write to c failed with status: closes it, naming the cause.
  void write_failed(Connection* c, int status);

  // Group commit (durable nodes). holding(): a batch is open this turn, so
  // the acknowledgements the core sends and what completes wait for
  // commit_turn().
  // when_committed(fn): fn(kOk, "") once this turn's writes are committed
  // (at once when nothing is open), or fn(kIo or kNoMem, why) if the commit
  // failed; never if the node is closed first without a commit.
  bool holding() const;
  void when_committed(std::function<void(int, const std::string&)> fn);
  // The members the data folder remembered when the node started (see
  // kMembersFile); empty without a folder.
  const std::vector<std::string>& remembered_members() const { return remembered_; }

  // Called by the connection callbacks (connection.cpp-level statics).
  void after_core_call();  // re-arms the node's timer
  // Arms the prepare and check handles that flush writes and re-arm the
  // timer; they stop themselves once done, so an idle node costs nothing
  // per loop iteration (many nodes share a loop).
  void poke();
  void watch_handshakes();  // the sweep timer runs while handshakes are open

 private:
  static void on_connection(uv_stream_t* server, int status);
  static void on_connect(uv_connect_t* req, int status);
  static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void on_write(uv_write_t* req, int status);
  static void on_closed(uv_handle_t* h);
  static void on_timer(uv_timer_t* t);
  static void on_sweep(uv_timer_t* t);
  static void on_flush(uv_prepare_t* p);
  static void on_flush_check(uv_check_t* c);
  static void on_members_timer(uv_timer_t* t);

  Connection* dial(const std::string& addr, const core::Id& expect);
  void begin_handshake(Connection* c);
  void handle_bytes(Connection* c, const uint8_t* p, size_t n);
  void handshake_done(Connection* c);
  void deliver(Connection* c, const uint8_t* p, size_t n);
  void send_on(Connection* c, const wire::Message& m);
  void flush(Connection* c);
  // Bytes queued for c's peer: ours not yet written, and libuv's queue.
  static size_t queued(Connection* c);
  // Backpressure: stop reading c's peer past half of max_output_bytes, read
  // again once down to a quarter.
  void pause_reading(Connection* c);
  void maybe_resume_reading(Connection* c);
  void flush_all();
  // Commits the turn's batch and releases what it held (see holding()).
  void commit_turn();
  void send_now(const core::Peer& to, wire::Message&& m);
  void save_members();  // kMembersFile, if the members changed
  void fail(Connection* c, int code, const std::string& why, bool reset);
  void forget(Connection* c);
  void run_deferred();
  void handle_closed();  // one of our handles finished closing

  Loop& loop_;
  HostConfig cfg_;
  std::unique_ptr<core::Node> node_;
  std::string self_addr_;
  bool listening_ = false;
  bool server_inited_ = false;
  bool timers_inited_ = false;
  uv_tcp_t server_{};
  uv_timer_t timer_{};
  uv_timer_t sweep_{};
  uv_prepare_t prepare_{};
  uv_check_t check_{};
  uint64_t armed_deadline_ = 0;
  bool closing_ = false;
  int open_handles_ = 0;
  std::function<void()> close_done_;

  std::vector<Connection*> conns_;
  std::unordered_map<core::Id, Connection*, IdHash> by_id_;
  std::unordered_map<std::string, Connection*> by_addr_;
  std::vector<Connection*> dirty_;
  // Connections not read again this turn (kReadBudgetPerTurn), and the turn.
  std::vector<Connection*> budget_paused_;
  uint64_t turns_ = 1;
  void resume_budget_paused();
  std::vector<core::Peer> unreachable_;  // to report outside send()
  std::map<std::string, std::pair<int, std::string>> dial_failures_;
  HostStats stats_;
  uint64_t rng_state_;

  // Durable nodes: the core's store (owned by node_), what a turn held, and
  // the ring memory.
  GroupCommitStore* gc_ = nullptr;
  std::vector<std::pair<core::Peer, wire::Message>> held_;
  std::vector<std::function<void(int, const std::string&)>> held_done_;
  uv_timer_t members_timer_{};
  std::vector<std::string> remembered_;
  std::string saved_members_;
};

}  // namespace chord::net
