// SPDX-License-Identifier: MIT
// The LMDB engine: the data folder (open, lock, format version), the record
// and bucket encodings, transactions with a growing map, and ring-order scans.
#include "store/lmdb_store.hpp"

#include <fcntl.h>
#include <lmdb.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "wire/status.hpp"

namespace chord::store {
namespace {

using core::Bytes;
using core::StoredRecord;
using core::StoreKey;

// ------------------------------------------------------------ encodings

// A record's LMDB value (format 1), little-endian:
//   0  u8   format (1)
//   1  u8   flags: bit 0 tombstone; the others zero
//   2  u64  version: hlc
//   10 32B  version: writer
//   42 u64  stamp (local ms)
//   50 ...  value bytes
constexpr uint8_t kRecordFormat = 1;
constexpr size_t kHeader = 50;

void put_u64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint64_t get_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

void encode_record(const StoredRecord& r, Bytes& out) {
  const size_t at = out.size();
  out.resize(at + kHeader + r.value.size());
  uint8_t* p = out.data() + at;
  p[0] = kRecordFormat;
  p[1] = r.tomb ? 1 : 0;
  put_u64(p + 2, r.ver.hlc);
  std::memcpy(p + 10, r.ver.writer.data(), 32);
  put_u64(p + 42, r.stamp);
  if (!r.value.empty()) std::memcpy(p + kHeader, r.value.data(), r.value.size());
}

bool decode_record(const uint8_t* p, size_t n, StoredRecord& r) {
  if (n < kHeader || p[0] != kRecordFormat || (p[1] & ~1u)) return false;
  r.tomb = p[1] & 1;
  r.ver.hlc = get_u64(p + 2);
  std::memcpy(r.ver.writer.data(), p + 10, 32);
  r.stamp = get_u64(p + 42);
  r.value.assign(p + kHeader, p + n);
  return true;
}

// A bucket's LMDB value (its LMDB key is kMaxLmdbKey bytes): a u8 format (1),
// then per record, in key order: u64 key length, key, u64 record length, the
// record as above.
struct Item {
  Bytes key;
  StoredRecord rec;
};
using Bucket = std::vector<Item>;

Bytes encode_bucket(const Bucket& b) {
  Bytes out{kRecordFormat};
  for (const Item& it : b) {
    uint8_t n[8];
    put_u64(n, it.key.size());
    out.insert(out.end(), n, n + 8);
    out.insert(out.end(), it.key.begin(), it.key.end());
    const size_t len_at = out.size();
    out.resize(len_at + 8);
    encode_record(it.rec, out);
    put_u64(out.data() + len_at, out.size() - len_at - 8);
  }
  return out;
}

bool decode_bucket(const uint8_t* p, size_t n, Bucket& b) {
  b.clear();
  if (n < 1 || p[0] != kRecordFormat) return false;
  size_t i = 1;
  while (i < n) {
    if (n - i < 8) return false;
    const uint64_t kl = get_u64(p + i);
    i += 8;
    if (kl > n - i) return false;
    Item it;
    it.key.assign(p + i, p + i + kl);
    i += kl;
    if (n - i < 8) return false;
    const uint64_t rl = get_u64(p + i);
    i += 8;
    if (rl > n - i || !decode_record(p + i, rl, it.rec)) return false;
    i += rl;
    if (!b.empty() && !(b.back().key < it.key)) return false;
    b.push_back(std::move(it));
  }
  return !b.empty();
}

// pos || key, or pos || the key's first kPrefixKey bytes for a long key.
Bytes lmdb_key(const wire::Id& pos, const Bytes& key) {
  Bytes k(pos.begin(), pos.end());
  k.insert(k.end(), key.begin(), key.begin() + std::min(key.size(), kPrefixKey));
  return k;
}
bool is_bucket(const MDB_val& k) {
  return k.mv_size == kMaxLmdbKey;
}
MDB_val val_of(const Bytes& b) {
  return MDB_val{b.size(), const_cast<uint8_t*>(b.data())};
}
const uint8_t* bytes_of(const MDB_val& v) {
  return static_cast<const uint8_t*>(v.mv_data);
}

// ------------------------------------------------------------ meta

constexpr char kFormatKey[] = "format";
constexpr char kRecordsKey[] = "records";
constexpr char kBytesKey[] = "bytes";

MDB_val name_of(const char* s) {
  return MDB_val{std::strlen(s), const_cast<char*>(s)};
}

int put_meta(MDB_txn* txn, MDB_dbi meta, const char* name, uint64_t v, size_t width) {
  uint8_t b[8];
  put_u64(b, v);
  MDB_val k = name_of(name), d{width, b};
  return mdb_put(txn, meta, &k, &d, 0);
}

// MDB_NOTFOUND when absent; MDB_CORRUPTED when not `width` bytes.
int get_meta(MDB_txn* txn, MDB_dbi meta, const char* name, size_t width, uint64_t& v) {
  MDB_val k = name_of(name), d;
  int rc = mdb_get(txn, meta, &k, &d);
  if (rc) return rc;
  if (d.mv_size != width) return MDB_CORRUPTED;
  uint8_t b[8] = {};
  std::memcpy(b, d.mv_data, width);
  v = get_u64(b);
  return 0;
}

// MDB_CORRUPTED is also what this file returns for a value that does not
// decode: LMDB's own message ("Located page was wrong type") would mislead.
std::string lmdb_error(int rc) {
  if (rc == MDB_CORRUPTED) return "the data file is corrupt (a page or a record does not decode)";
  return mdb_strerror(rc);
}

// An LMDB or errno failure as a status: a full map is kNoMem, the rest kIo.
int status_of(int rc) {
  return rc == MDB_MAP_FULL ? kNoMem : kIo;
}

struct TxnAbort {
  void operator()(MDB_txn* t) const { mdb_txn_abort(t); }
};
using TxnPtr = std::unique_ptr<MDB_txn, TxnAbort>;
struct CursorClose {
  void operator()(MDB_cursor* c) const { mdb_cursor_close(c); }
};
using CursorPtr = std::unique_ptr<MDB_cursor, CursorClose>;

}  // namespace

// ------------------------------------------------------------ the store

// One change to the records, kept while a batch is open so that the batch
// can be written again into a fresh transaction (store.hpp: a failed LMDB
// write spoils its transaction).
struct Op {
  enum Kind { put, erase, clear } kind;
  Bytes k;  // lmdb_key(pos, key)
  Bytes key;
  StoredRecord rec;
};

struct LmdbStore::Impl {
  std::string path;
  LmdbOptions opts;
  int lock_fd = -1;
  MDB_env* env = nullptr;
  MDB_dbi records = 0;
  MDB_dbi meta = 0;
  uint64_t map = 0;
  // What size() and bytes() say: with a batch open, its writes included.
  uint64_t count = 0;
  uint64_t nbytes = 0;
  // get()'s: one read transaction, reset between calls, and the record it
  // points to (valid until the next call: store.hpp's "Lifetimes").
  mutable MDB_txn* rtxn = nullptr;
  mutable StoredRecord got;
  mutable std::string error;
  mutable uint64_t failures = 0;
  // The open batch: its transaction, its changes, the counters before it,
  // and the failure that spoiled it if one did.
  MDB_txn* wtxn = nullptr;
  std::vector<Op> log;
  uint64_t committed_count = 0;
  uint64_t committed_bytes = 0;
  int spoiled = 0;

  ~Impl() {
    if (wtxn) mdb_txn_abort(wtxn);  // an uncommitted batch is dropped, as by a crash
    if (rtxn) mdb_txn_abort(rtxn);
    if (env) mdb_env_close(env);
    if (lock_fd >= 0) close(lock_fd);  // releases the flock
  }

  int fail(int status, const std::string& why) const {
    error = why;
    failures++;
    return status;
  }

  // Doubles the map, up to max_map_bytes; false if it is there already. No
  // write transaction may be open.
  bool grow() {
    if (map >= opts.max_map_bytes) return false;
    if (rtxn) {  // mdb_env_set_mapsize wants no transaction of ours alive
      mdb_txn_abort(rtxn);
      rtxn = nullptr;
    }
    const uint64_t want = std::min(map * 2, opts.max_map_bytes);
    if (mdb_env_set_mapsize(env, want)) return false;
    map = want;
    return true;
  }

  // Applies op in txn, n and b the counters before it and after it (left as
  // they were on failure). MDB_NOTFOUND: an erase of nothing.
  int apply(MDB_txn* txn, const Op& op, uint64_t& n, uint64_t& b) const {
    if (op.kind == Op::clear) {
      int rc = mdb_drop(txn, records, 0);
      if (!rc) n = b = 0;
      return rc;
    }
    MDB_val kv = val_of(op.k), old;
    int rc = mdb_get(txn, records, &kv, &old);
    if (rc && (rc != MDB_NOTFOUND || op.kind == Op::erase)) return rc;
    const bool had = rc == 0;
    uint64_t nn = n, nb = b;
    Bytes enc;
    if (op.k.size() < kMaxLmdbKey) {  // one record
      if (had) {
        if (old.mv_size < kHeader) return MDB_CORRUPTED;
        nn--;
        nb -= op.key.size() + old.mv_size - kHeader + Store::kRecordOverhead;
      }
      if (op.kind == Op::erase) {
        rc = mdb_del(txn, records, &kv, nullptr);
      } else {
        encode_record(op.rec, enc);
        MDB_val d = val_of(enc);
        rc = mdb_put(txn, records, &kv, &d, 0);
      }
    } else {  // a bucket
      Bucket bucket;
      if (had && !decode_bucket(bytes_of(old), old.mv_size, bucket)) return MDB_CORRUPTED;
      auto it = std::lower_bound(bucket.begin(), bucket.end(), op.key,
                                 [](const Item& i, const Bytes& x) { return i.key < x; });
      const bool found = it != bucket.end() && it->key == op.key;
      if (found) {
        nn--;
        nb -= Store::record_bytes(op.key, it->rec);
      }
      if (op.kind == Op::erase) {
        if (!found) return MDB_NOTFOUND;
        bucket.erase(it);
      } else if (found) {
        it->rec = op.rec;
      } else {
        bucket.insert(it, Item{op.key, op.rec});
      }
      if (bucket.empty()) {
        rc = mdb_del(txn, records, &kv, nullptr);
      } else {
        enc = encode_bucket(bucket);
        MDB_val d = val_of(enc);
        rc = mdb_put(txn, records, &kv, &d, 0);
      }
    }
    if (rc) return rc;
    if (op.kind == Op::put) {
      nn++;
      nb += Store::record_bytes(op.key, op.rec);
    }
    n = nn;
    b = nb;
    return 0;
  }

  int put_counters(MDB_txn* txn, uint64_t n, uint64_t b) const {
    int rc = put_meta(txn, meta, kRecordsKey, n, 8);
    return rc ? rc : put_meta(txn, meta, kBytesKey, b, 8);
  }

  // op in a transaction of its own, committed under the sync policy; a full
  // map grows and the write runs again.
  int write_alone(const Op& op) {
    for (;;) {
      MDB_txn* raw = nullptr;
      int rc = mdb_txn_begin(env, nullptr, 0, &raw);
      if (rc) return rc;
      TxnPtr txn(raw);
      uint64_t n = count, b = nbytes;
      rc = apply(txn.get(), op, n, b);
      if (!rc) rc = put_counters(txn.get(), n, b);
      if (!rc) {
        rc = mdb_txn_commit(txn.release());  // frees the transaction, even on failure
        if (!rc) {
          count = n;
          nbytes = b;
          return 0;
        }
      }
      txn.reset();
      if (rc == MDB_MAP_FULL && grow()) continue;
      return rc;
    }
  }

  // A fresh batch transaction holding the batch's changes so far (the map
  // grows if they no longer fit).
  int rewrite_batch() {
    for (;;) {
      int rc = mdb_txn_begin(env, nullptr, 0, &wtxn);
      if (rc) {
        wtxn = nullptr;
        return rc;
      }
      uint64_t n = committed_count, b = committed_bytes;
      for (const Op& op : log) {
        rc = apply(wtxn, op, n, b);
        if (rc == MDB_NOTFOUND) rc = 0;
        if (rc) break;
      }
      if (!rc) {
        count = n;
        nbytes = b;
        return 0;
      }
      mdb_txn_abort(wtxn);
      wtxn = nullptr;
      if (rc == MDB_MAP_FULL && grow()) continue;
      return rc;
    }
  }

  // op into the open batch. A failure spoils the transaction: it is written
  // again without op, in a larger map if the map was full, and op retried
  // there.
  int write_batched(const Op& op) {
    if (spoiled) return spoiled;
    for (;;) {
      int rc = apply(wtxn, op, count, nbytes);
      if (rc == 0) {
        log.push_back(op);
        return 0;
      }
      if (rc == MDB_NOTFOUND) return rc;
      mdb_txn_abort(wtxn);
      wtxn = nullptr;
      const bool grew = rc == MDB_MAP_FULL && grow();
      if (int again = rewrite_batch()) {
        spoiled = again;
        return again;
      }
      if (!grew) return rc;
    }
  }

  int write(Op&& op) { return wtxn || spoiled ? write_batched(op) : write_alone(op); }

  // The transaction that reads see: the batch's, or get()'s renewed.
  int reader() const {
    if (wtxn) return 0;
    if (rtxn) return mdb_txn_renew(rtxn);
    return mdb_txn_begin(env, nullptr, MDB_RDONLY, &rtxn);
  }
  MDB_txn* read_txn() const { return wtxn ? wtxn : rtxn; }
  void done_reading() const {
    if (!wtxn) mdb_txn_reset(rtxn);
  }

  // LMDB's reason, and for a failed write to the file (LMDB says EIO when a
  // full disk cuts a write short) what the file system has left.
  std::string why(int rc) const {
    std::string w = rc == MDB_MAP_FULL ? full_error() : lmdb_error(rc);
    struct statvfs fs;
    if ((rc == EIO || rc == ENOSPC || rc == EFBIG || rc == EDQUOT) &&
        statvfs(path.c_str(), &fs) == 0)
      w += " (the file system of " + path + " has " +
           std::to_string(static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize) + " bytes free)";
    return w;
  }

  std::string full_error() const {
    return "the store is full: its map of " + std::to_string(map) + " bytes is at max_map_bytes (" +
           std::to_string(opts.max_map_bytes) + ")";
  }
};

LmdbStore::LmdbStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LmdbStore::~LmdbStore() = default;

const StoredRecord* LmdbStore::get(const wire::Id& pos, const Bytes& key) const {
  Impl& m = *impl_;
  int rc = m.reader();
  if (rc) {
    if (m.rtxn) {  // a renew that failed: start afresh next time
      mdb_txn_abort(m.rtxn);
      m.rtxn = nullptr;
    }
    m.fail(kIo, "cannot read the store: " + lmdb_error(rc));
    return nullptr;
  }
  const Bytes k = lmdb_key(pos, key);
  MDB_val kv = val_of(k), v;
  rc = mdb_get(m.read_txn(), m.records, &kv, &v);
  const StoredRecord* out = nullptr;
  if (rc == 0) {
    bool ok;
    if (is_bucket(kv)) {
      Bucket b;
      ok = decode_bucket(bytes_of(v), v.mv_size, b);
      for (Item& it : b) {
        if (it.key == key) {
          m.got = std::move(it.rec);
          out = &m.got;
        }
      }
    } else {
      ok = decode_record(bytes_of(v), v.mv_size, m.got);
      if (ok) out = &m.got;
    }
    if (!ok) m.fail(kIo, "cannot read the store: " + lmdb_error(MDB_CORRUPTED));
  } else if (rc != MDB_NOTFOUND) {
    m.fail(kIo, "cannot read the store: " + lmdb_error(rc));
  }
  m.done_reading();
  return out;
}

int LmdbStore::put(const wire::Id& pos, const Bytes& key, StoredRecord rec) {
  Impl& m = *impl_;
  int rc = m.write(Op{Op::put, lmdb_key(pos, key), key, std::move(rec)});
  if (rc == 0) return kOk;
  if (rc == MDB_MAP_FULL) return m.fail(kNoMem, m.full_error());
  return m.fail(status_of(rc), "cannot write to the store: " + m.why(rc));
}

bool LmdbStore::erase(const wire::Id& pos, const Bytes& key) {
  Impl& m = *impl_;
  int rc = m.write(Op{Op::erase, lmdb_key(pos, key), key, {}});
  if (rc == 0) return true;
  if (rc != MDB_NOTFOUND) m.fail(status_of(rc), "cannot erase from the store: " + m.why(rc));
  return false;
}

void LmdbStore::clear() {
  Impl& m = *impl_;
  int rc = m.write(Op{Op::clear, {}, {}, {}});
  if (rc) m.fail(status_of(rc), "cannot clear the store: " + m.why(rc));
}

int LmdbStore::begin_batch() {
  Impl& m = *impl_;
  if (m.wtxn || m.spoiled) return m.fail(kInval, "a batch is open already");
  m.committed_count = m.count;
  m.committed_bytes = m.nbytes;
  m.log.clear();
  int rc = m.rewrite_batch();
  if (rc) return m.fail(status_of(rc), "cannot begin a batch: " + lmdb_error(rc));
  return kOk;
}

int LmdbStore::commit_batch() {
  Impl& m = *impl_;
  if (!m.wtxn && !m.spoiled) return m.fail(kInval, "no batch is open");
  int rc = m.spoiled;
  while (!rc) {
    rc = m.put_counters(m.wtxn, m.count, m.nbytes);
    if (rc) {
      mdb_txn_abort(m.wtxn);
    } else {
      rc = mdb_txn_commit(m.wtxn);
    }
    m.wtxn = nullptr;
    if (rc == MDB_MAP_FULL && m.grow())
      rc = m.rewrite_batch();
    else
      break;
  }
  const size_t n = m.log.size();
  m.log.clear();
  m.spoiled = 0;
  if (m.wtxn) {  // only when rewriting the batch failed and left one (never)
    mdb_txn_abort(m.wtxn);
    m.wtxn = nullptr;
  }
  if (rc == 0) return kOk;
  m.count = m.committed_count;  // none of the batch is stored
  m.nbytes = m.committed_bytes;
  return m.fail(status_of(rc),
                "a batch of " + std::to_string(n) + " writes was not stored: " + m.why(rc));
}

bool LmdbStore::in_batch() const {
  return impl_->wtxn || impl_->spoiled;
}

namespace {

// The records in LMDB order, one at a time: an inline entry is one record, a
// bucket several.
class Records {
 public:
  explicit Records(MDB_cursor* c) : c_(c) {}
  bool valid() const { return i_ < items_.size(); }
  int rc() const { return rc_; }               // 0, or why the walk stopped early
  size_t skipped() const { return skipped_; }  // entries that did not decode
  const wire::Id& pos() const { return pos_; }
  const Item& item() const { return items_[i_]; }

  void first() { load(MDB_FIRST, nullptr); }
  // The first record with position above p.
  void after_pos(const wire::Id& p) {
    wire::Id q = p;
    int i = 31;
    for (; i >= 0 && ++q[i] == 0; i--) {
    }
    if (i < 0) return end();  // p is the last position
    Bytes k(q.begin(), q.end());
    load(MDB_SET_RANGE, &k);
  }
  // The first record after a (position, key).
  void after_key(const StoreKey& a) {
    Bytes k = lmdb_key(a.pos, a.key);
    load(MDB_SET_RANGE, &k);
    // Entries after k hold only keys after a.key (lmdb_store.hpp); so does
    // k's own entry past a.key.
    if (valid() && key_ == k) {
      while (valid() && !(a.key < item().key)) i_++;
      if (!valid()) next_entry();
    }
  }
  void next() {
    if (++i_ < items_.size()) return;
    next_entry();
  }

 private:
  void end() {
    items_.clear();
    i_ = 0;
  }
  void next_entry() { load(MDB_NEXT, nullptr); }
  // The entry at op, or the first one after it that decodes: a corrupt one
  // is skipped (and counted), so that it does not hide the rest of a range.
  void load(MDB_cursor_op op, const Bytes* k) {
    end();
    if (rc_) return;
    MDB_val kv{}, v{};
    if (k) kv = val_of(*k);
    for (;; op = MDB_NEXT) {
      int rc = mdb_cursor_get(c_, &kv, &v, op);
      if (rc == MDB_NOTFOUND) return;
      if (rc) {
        rc_ = rc;
        return;
      }
      bool ok = kv.mv_size >= 32;
      if (ok) {
        key_.assign(bytes_of(kv), bytes_of(kv) + kv.mv_size);
        std::copy(key_.begin(), key_.begin() + 32, pos_.begin());
        if (is_bucket(kv)) {
          ok = decode_bucket(bytes_of(v), v.mv_size, items_);
        } else {
          items_.resize(1);
          items_[0].key.assign(key_.begin() + 32, key_.end());
          ok = decode_record(bytes_of(v), v.mv_size, items_[0].rec);
        }
      }
      if (ok) return;
      end();
      skipped_++;
    }
  }

  MDB_cursor* c_;
  int rc_ = 0;
  size_t skipped_ = 0;
  Bytes key_;  // the entry's LMDB key
  wire::Id pos_{};
  Bucket items_;
  size_t i_ = 0;
};

}  // namespace

void LmdbStore::scan(const wire::Id& lo, const wire::Id& hi, const StoreKey* after,
                     const Visit& visit) const {
  Impl& m = *impl_;
  // The batch's transaction, or one of its own, so that a get() from the
  // visitor cannot reset it.
  TxnPtr own;
  if (!m.wtxn) {
    MDB_txn* raw = nullptr;
    int rc = mdb_txn_begin(m.env, nullptr, MDB_RDONLY, &raw);
    if (rc) {
      m.fail(kIo, "cannot read the store: " + lmdb_error(rc));
      return;
    }
    own.reset(raw);
  }
  MDB_cursor* rawc = nullptr;
  int rc = mdb_cursor_open(m.wtxn ? m.wtxn : own.get(), m.records, &rawc);
  if (rc) {
    m.fail(kIo, "cannot read the store: " + lmdb_error(rc));
    return;
  }
  CursorPtr cursor(rawc);
  Records r(cursor.get());
  // As the memory engine: (lo, hi] in ring order, the part above lo first,
  // then from zero up to hi; after moves the start.
  auto run = [&](bool to_hi) {
    for (; r.valid(); r.next()) {
      if (to_hi && hi < r.pos()) return true;
      if (!visit(r.pos(), r.item().key, r.item().rec)) return false;
    }
    return r.rc() == 0;
  };
  bool more = true;
  if (lo < hi) {
    if (after && lo < after->pos && !(hi < after->pos))
      r.after_key(*after);
    else
      r.after_pos(lo);
    run(true);
  } else if (after && !(lo < after->pos) && !(hi < after->pos)) {
    r.after_key(*after);
    run(true);
  } else {
    if (after && lo < after->pos)
      r.after_key(*after);
    else
      r.after_pos(lo);
    more = run(false);
    if (more) {
      r.first();
      run(true);
    }
  }
  if (r.skipped())
    m.fail(kIo, "cannot read " + std::to_string(r.skipped()) +
                    " entries of the store, skipped: " + lmdb_error(MDB_CORRUPTED));
  if (r.rc()) m.fail(kIo, "cannot read the store: " + lmdb_error(r.rc()));
}

size_t LmdbStore::size() const {
  return static_cast<size_t>(impl_->count);
}
size_t LmdbStore::bytes() const {
  return static_cast<size_t>(impl_->nbytes);
}
std::string LmdbStore::error() const {
  return impl_->error;
}
uint64_t LmdbStore::failures() const {
  return impl_->failures;
}
uint64_t LmdbStore::map_bytes() const {
  return impl_->map;
}

int LmdbStore::sync() {
  int rc = mdb_env_sync(impl_->env, 1);
  if (rc) return impl_->fail(kIo, "cannot sync the store: " + lmdb_error(rc));
  return kOk;
}

// ------------------------------------------------------------ opening

namespace {

Opened refuse(int status, std::string why) {
  return Opened{nullptr, status, std::move(why)};
}

std::string sys_error(int e) {
  return std::strerror(e);
}

// The folder exists (made if missing) and is locked by us.
int take_folder(const std::string& path, int& lock_fd, std::string& why) {
  auto no = [&](int status, std::string w) {
    why = std::move(w);
    return status;
  };
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT)
      return no(kIo, "cannot open data folder " + path + ": " + sys_error(errno));
    if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
      return no(kIo, "cannot create data folder " + path + ": " + sys_error(errno));
    if (stat(path.c_str(), &st) != 0)
      return no(kIo, "cannot open data folder " + path + ": " + sys_error(errno));
  }
  if (!S_ISDIR(st.st_mode)) return no(kInval, "data folder " + path + " is not a directory");
  const std::string lock = path + "/chord.lock";
  lock_fd = open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) return no(kIo, "cannot open " + lock + ": " + sys_error(errno));
  if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    if (e == EWOULDBLOCK)
      return no(kBusy, "data folder " + path +
                           " is in use: another process (or this one) has it open (" + lock + ")");
    return no(kIo, "cannot lock " + lock + ": " + sys_error(e));
  }
  return kOk;
}

// Reads or, in a fresh environment, writes the meta database.
int open_databases(LmdbStore::Impl& m, std::string& why) {
  auto no = [&](int status, std::string w) {
    why = std::move(w);
    return status;
  };
  MDB_txn* raw = nullptr;
  int rc = mdb_txn_begin(m.env, nullptr, 0, &raw);
  if (rc) return no(kIo, "cannot read data folder " + m.path + ": " + lmdb_error(rc));
  TxnPtr txn(raw);
  const std::string foreign =
      "data folder " + m.path + " holds an LMDB database that is not a libchord store";
  rc = mdb_dbi_open(txn.get(), "meta", 0, &m.meta);
  if (rc == MDB_INCOMPATIBLE) return no(kInval, foreign);
  if (rc == MDB_NOTFOUND) {
    MDB_dbi main = 0;
    MDB_stat st;
    rc = mdb_dbi_open(txn.get(), nullptr, 0, &main);
    if (!rc) rc = mdb_stat(txn.get(), main, &st);
    if (rc) return no(kIo, "cannot read data folder " + m.path + ": " + lmdb_error(rc));
    if (st.ms_entries != 0) return no(kInval, foreign);
    rc = mdb_dbi_open(txn.get(), "meta", MDB_CREATE, &m.meta);
    if (!rc) rc = mdb_dbi_open(txn.get(), "records", MDB_CREATE, &m.records);
    if (!rc) rc = put_meta(txn.get(), m.meta, kFormatKey, kFormatVersion, 4);
    if (!rc) rc = put_meta(txn.get(), m.meta, kRecordsKey, 0, 8);
    if (!rc) rc = put_meta(txn.get(), m.meta, kBytesKey, 0, 8);
    if (!rc) rc = mdb_txn_commit(txn.release());
    if (rc) return no(status_of(rc), "cannot set up data folder " + m.path + ": " + lmdb_error(rc));
    return kOk;
  }
  if (rc) return no(kIo, "cannot read data folder " + m.path + ": " + lmdb_error(rc));
  uint64_t format = 0;
  rc = get_meta(txn.get(), m.meta, kFormatKey, 4, format);
  if (rc == MDB_NOTFOUND || rc == MDB_CORRUPTED || (rc == 0 && format == 0))
    return no(kInval, foreign + " (no format version)");
  if (rc) return no(kIo, "cannot read data folder " + m.path + ": " + lmdb_error(rc));
  if (format > kFormatVersion)
    return no(kInval, "data folder " + m.path + " has format version " + std::to_string(format) +
                          ", newer than this build reads (" + std::to_string(kFormatVersion) +
                          "): a newer libchord wrote it");
  rc = mdb_dbi_open(txn.get(), "records", 0, &m.records);
  if (!rc) rc = get_meta(txn.get(), m.meta, kRecordsKey, 8, m.count);
  if (!rc) rc = get_meta(txn.get(), m.meta, kBytesKey, 8, m.nbytes);
  if (rc)
    return no(kIo,
              "data folder " + m.path + " is damaged (records or counters): " + lmdb_error(rc));
  // Committed, not aborted: the handles of databases opened in a write
  // transaction live on only if it commits.
  rc = mdb_txn_commit(txn.release());
  if (rc) return no(kIo, "cannot read data folder " + m.path + ": " + lmdb_error(rc));
  return kOk;
}

}  // namespace

Opened open_lmdb_store(const std::string& path, const LmdbOptions& opts) {
  if (path.empty()) return refuse(kInval, "the data folder's path is empty");
  if (opts.map_bytes == 0 || opts.max_map_bytes < opts.map_bytes)
    return refuse(kInval, "map_bytes must be positive and at most max_map_bytes");
  auto m = std::make_unique<LmdbStore::Impl>();
  m->path = path;
  m->opts = opts;
  std::string why;
  int st = take_folder(path, m->lock_fd, why);
  if (st != kOk) return refuse(st, why);

  int rc = mdb_env_create(&m->env);
  if (rc) return refuse(kIo, "cannot create an LMDB environment: " + lmdb_error(rc));
  unsigned flags = MDB_NOTLS;
  if (opts.sync == Sync::no_meta_sync) flags |= MDB_NOMETASYNC;
  if (opts.sync == Sync::none) flags |= MDB_NOSYNC;
  rc = mdb_env_set_maxdbs(m->env, 2);
  if (!rc) rc = mdb_env_set_mapsize(m->env, opts.map_bytes);
  if (!rc) rc = mdb_env_open(m->env, path.c_str(), flags, 0600);
  if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
    return refuse(kInval, "data folder " + path + ": data.mdb is not a store this build reads " +
                              "(corrupt, or another program's file): " + lmdb_error(rc));
  if (rc) return refuse(kIo, "cannot open data folder " + path + ": " + lmdb_error(rc));
  if (static_cast<size_t>(mdb_env_get_maxkeysize(m->env)) < kMaxLmdbKey)
    return refuse(kInternal, "this LMDB build takes keys of at most " +
                                 std::to_string(mdb_env_get_maxkeysize(m->env)) +
                                 " bytes; the store needs " + std::to_string(kMaxLmdbKey));
  MDB_envinfo info;
  rc = mdb_env_info(m->env, &info);
  if (rc) return refuse(kIo, "cannot open data folder " + path + ": " + lmdb_error(rc));
  m->map = info.me_mapsize;  // a file that a larger map wrote keeps it
  st = open_databases(*m, why);
  if (st != kOk) return refuse(st, why);
  Opened o;
  o.store = std::make_unique<LmdbStore>(std::move(m));
  return o;
}

}  // namespace chord::store
