// SPDX-License-Identifier: MIT
// Protocol messages and their encoding. Decoding never trusts its input: every
// length is checked against Limits before anything is allocated.
//
// A frame is one Message: [u8 type][u64 rid][body]. Integers are little-endian
// and fixed width; byte strings and lists carry a u32 length or count. rid
// correlates a reply with its request (0: a one-way message). docs/design-core.md
// describes what each message means.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace chord::wire {

using Id = std::array<uint8_t, 32>;
using Bytes = std::vector<uint8_t>;
using PublicKey = std::array<uint8_t, 32>;  // Ed25519
using Signature = std::array<uint8_t, 64>;  // Ed25519, detached

struct Limits {
  size_t max_key = 1024;
  size_t max_value = 1 << 20;
  size_t max_frame = (1 << 20) + (1 << 16);
  // Bytes after a body's last known field: refused, unless the sender speaks
  // a newer protocol version than ours (it may have appended fields; see
  // docs/protocol.md, "Versions and compatibility"), when they are skipped.
  bool skip_unknown_tail = false;
};

// The longest advertised address accepted on the wire.
constexpr size_t kMaxAddr = 255;
// The most entries a list in one message may carry; a message with more is
// undecodable (kProto), so that no peer makes a receiver walk, sort or dial
// thousands of entries. Honest senders stay far below: a successor list holds
// at most kMaxSuccessors, a Redirect 4 peers, a FindSucc answer 1 + the
// successor list, a digest kMaxBuckets, an iteration page 256 items, a batch
// of key events 1,024.
constexpr size_t kMaxSuccessors = 64;
constexpr size_t kMaxPeers = 1 + kMaxSuccessors;
constexpr size_t kMaxBuckets = 64;
constexpr size_t kMaxItems = 1024;
constexpr size_t kMaxEvents = 1024;

// A node as other nodes know it: ring id and advertised address ("" for a
// light client, reached by id over the connection it opened).
struct Peer {
  Id id{};
  std::string addr;
};

// One stored version of a key. A tombstone has tomb set and an empty value.
// (hlc, writer) is the version: the higher one wins.
struct Record {
  Bytes key;
  Bytes value;
  uint64_t hlc = 0;
  Id writer{};
  bool tomb = false;
};

struct KeyValue {
  Bytes key;
  Bytes value;
};

// ---------------------------------------------------------------- maintenance

// "Tell me your predecessor and successor list." Reply: StateResp.
struct StateReq {};
struct StateResp {
  bool busy = false;  // the node is waiting on a query that may change its state
  bool has_pred = false;
  Peer pred;
  std::vector<Peer> succs;
  uint32_t listen_ms = 0;  // some member listens to key events this much longer
  // The predecessor that ours replaced by a Notify: for a node that has just
  // joined in front of us, the node before it (join_confirm).
  bool has_prev = false;
  Peer prev;
};
// "I believe I am your predecessor." One-way.
struct Notify {
  // Instead: "I have just joined right after you" (from a joiner to the
  // predecessor its successor named).
  bool successor = false;
};
// Liveness probe (check_predecessor). Reply: Pong.
struct Ping {};
struct Pong {};
// A graceful leave, sent by the leaving node to its predecessor (to_pred) and
// its successor. Reply: Ack.
struct Leave {
  bool to_pred = false;
  bool has_pred = false;
  Peer pred;                // for the successor: the leaver's predecessor
  std::vector<Peer> succs;  // for the predecessor: the leaver's successor list
};

// ----------------------------------------------------------------- operations

enum class Op : uint8_t {
  FindSucc = 1,  // who owns target? reply peers = [owner] + its successors
  Get = 2,
  Set = 3,
  Del = 4,
  Pop = 5,
  Whisper = 6,  // deliver value to the node whose id is target
  Iter = 7,     // one page of keys after pos, up to end
};
constexpr uint8_t kOpMax = 7;

// Flags of OpReq.
enum : uint8_t {
  kFlagValues = 1u << 0,    // Iter: include values
  kFlagHasAfter = 1u << 1,  // Iter: key is the last key already seen at pos
};

// An operation sent to the node believed closest to target. The receiver
// either executes it (it owns target) or answers Redirect.
struct OpReq {
  Op op = Op::Get;
  uint8_t flags = 0;
  uint64_t opid = 0;  // with the sender's id: makes retries idempotent
  Id target{};
  Bytes key;
  Bytes value;
  Id pos{};  // Iter: the walk has covered (end, pos]
  Id end{};  // Iter: where the walk stops
  uint32_t limit = 0;
  // Set, Del, Pop: the write's version, stamped by the origin when the call
  // started (hybrid logical clock; the writer is the origin, the sender), and
  // how long the call may take from then. An owner refuses a stamp too far
  // ahead of its clock, and a request older than ttl_ms plus the clock skew.
  uint64_t hlc = 0;
  uint32_t ttl_ms = 0;
};

// Flags of OpResp.
enum : uint8_t {
  kFlagDone = 1u << 0,     // Iter: the walk reached end
  kFlagHasPred = 1u << 1,  // FindSucc: pred is valid
  kFlagMore = 1u << 2,     // Iter: key is the last key returned at pos
};

struct OpResp {
  int32_t status = 0;
  uint8_t flags = 0;
  Bytes key;    // Iter: last key returned
  Bytes value;  // Get, Pop
  std::string detail;
  std::vector<KeyValue> items;  // Iter
  std::vector<Peer> peers;      // FindSucc: [owner] + successor list
  Peer pred;                    // FindSucc: owner's predecessor
  Id pos{};                     // Iter: new covered position
  // Get: the version read; Set, Del, Pop: the version written; status
  // kStale: the newer version the owner holds.
  uint64_t hlc = 0;
};

// "Not mine: ask these." peers[0] is the best next hop; owner says that the
// sender believes peers[0] owns the target. not_member says that the sender
// has left the ring: it routes nothing and bounds nothing, and peers are the
// successors it had when it left (hints).
struct Redirect {
  bool owner = false;
  std::vector<Peer> peers;
  bool not_member = false;
};

// ---------------------------------------------------------------- replication

// Records to apply (higher version wins). Reply: Ack.
struct Replicate {
  bool handoff = false;  // from a leaving node: the receiver takes them over
  std::vector<Record> recs;
};
struct Ack {
  int32_t status = 0;
};
// Anti-entropy: per-bucket digests of the sender's records in (lo, hi].
// Reply: DigestResp with the versions (no values) of the mismatched buckets.
struct Digest {
  Id lo{};
  Id hi{};
  std::vector<uint64_t> buckets;
};
struct DigestResp {
  std::vector<uint32_t> mismatched;  // bucket indexes whose digests differ
  std::vector<Record> entries;       // values empty
};
// "Send me these records." Reply: Records.
struct Pull {
  std::vector<Bytes> keys;
};
// "Send me your records with position in (lo, hi]", paged. Reply: Records.
struct RangeReq {
  Id lo{};
  Id hi{};
  bool has_after = false;  // resume after (after_pos, after_key)
  Id after_pos{};
  Bytes after_key;
};
struct Records {
  bool more = false;  // RangeReq: more follow; resume after the last one
  std::vector<Record> recs;
  uint32_t listen_ms = 0;  // RangeReq: as StateResp (a joiner learns it here)
};

// ------------------------------------------------------------------ broadcast

// What a broadcast carries: key events (an owner's batch), a member's
// announcement that it listens to key events, or a user's message.
enum class Cast : uint8_t { Keys = 3, Listen = 4, Message = 8 };
// A key came into being (absent -> present) or went (present -> absent).
enum class KeyChange : uint8_t { Add = 1, Delete = 2 };
struct KeyEvent {
  KeyChange change = KeyChange::Add;
  Bytes key;
};

// One step of a broadcast tree: deliver, then cover (receiver, limit).
// Reply: Ack; for Listen only once the receiver's whole subtree acknowledged.
// The origin signs everything but limit (signed_part): no relay can change
// who sent it, what it says or when (docs/threat-model.md).
struct Broadcast {
  uint64_t bid = 0;  // with origin.id: the dedup key
  Peer origin;
  Id limit{};
  Cast kind = Cast::Message;
  std::vector<KeyEvent> events;  // Keys: in the order the owner applied them
  Bytes data;                    // Message
  uint32_t lease_ms = 0;         // Listen: the origin listens this long
  uint64_t sent_ms = 0;          // the origin's wall clock when it sent it
  PublicKey origin_key{};        // the origin's identity key (its id is its hash)
  Signature sig{};               // by origin_key, of signed_part(*this)
};
// What a Broadcast's origin signs: the tag "chord.broadcast.1" and the
// body's encoding with limit, origin_key and sig zeroed (an Ed25519
// signature binds its key already).
Bytes signed_part(const Broadcast& m);

// ------------------------------------------------------ light clients' events

// A light client's lease on the events a member delivers: for lease_ms the
// member forwards every Add, Delete and user message it delivers to the
// client as a one-way Broadcast (rid 0). The client renews it before it runs
// out; lease_ms 0 cancels it. Reply: Ack (none if one-way).
struct Subscribe {
  uint32_t lease_ms = 0;
  bool keys = false;  // key events too, not only user messages
};

using Body =
    std::variant<StateReq, StateResp, Notify, Ping, Pong, Leave, OpReq, OpResp, Redirect, Replicate,
                 Ack, Digest, DigestResp, Pull, RangeReq, Records, Broadcast, Subscribe>;

struct Message {
  uint64_t rid = 0;
  Body body;
};

// The wire tag of a body: its index in Body plus one.
inline uint8_t type_of(const Message& m) {
  return static_cast<uint8_t>(m.body.index() + 1);
}
// The name of a wire tag ("StateReq", ...), or "?" for an unknown one.
const char* type_name(uint8_t type);
// Whether a message answers a request (it is matched to one by rid).
bool is_reply(const Message& m);

// Appends the encoding of m to out.
void encode(const Message& m, std::vector<uint8_t>& out);
// Decodes exactly one message from p[0..n). Returns 0, or kProto / kTooBig
// with a one-line why.
int decode(const uint8_t* p, size_t n, const Limits& lim, Message& out, std::string& why);

}  // namespace chord::wire
