// SPDX-License-Identifier: MIT
// The durable engine: core::Store on LMDB, in a data folder of its own.
//
// A data folder holds data.mdb and lock.mdb (LMDB's) and chord.lock (ours:
// one opener at a time). LMDB's file holds two databases:
// - "records": one entry per record. The LMDB key is pos (32 bytes) then the
//   key bytes, so that LMDB's default order (memcmp, shorter first) is the
//   ring order of core::Store. LMDB keys are at most 511 bytes: a key of more
//   than kInlineKey bytes is stored under pos and its first kPrefixKey bytes
//   (always 511 bytes long, so never the key of an inline record), in a
//   bucket of the records whose keys share that prefix, in key order. As pos
//   is the hash of the key, a bucket holds one record but in tests.
// - "meta": the format version and the counters of size() and bytes(),
//   written in the same transaction as the records they count.
// docs/storage.md gives the byte layouts, the sync policies and their
// figures, and the map size.
//
// Each put, erase and clear is one LMDB write transaction, committed before
// it returns; the sync policy says whether that commit waits for the disk.
// Or, for group commit, the host opens a batch: the writes until
// commit_batch() go into one transaction (reads see them) and one commit.
// One thread at a time (the node's loop thread); MDB_NOTLS, so any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/store.hpp"

namespace chord::store {

// The format of the data folder; a folder of a higher version is refused.
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kMaxLmdbKey = 511;                    // LMDB's default MDB_MAXKEYSIZE
constexpr size_t kPrefixKey = kMaxLmdbKey - 32;        // 479: the key bytes of a bucket
constexpr size_t kInlineKey = kPrefixKey - 1;          // 478: the longest inline key
constexpr uint64_t kDefaultMapBytes = 1ull << 30;      // 1 GiB to start with
constexpr uint64_t kDefaultMaxMapBytes = 64ull << 30;  // grown up to 64 GiB

enum class Sync {
  full,          // each commit is on disk (two fdatasyncs: pages, then meta) before it returns
  no_meta_sync,  // one fdatasync a commit; a system crash may undo the last commit (MDB_NOMETASYNC)
  none,          // no fsync; a system crash may lose recent commits, or on a file system
                 // that reorders writes damage the file (MDB_NOSYNC); call sync()
};
// docs/storage.md, "The choice": durable nodes use full with one batch per
// loop turn, relaxed ones no_meta_sync batched the same way.

struct LmdbOptions {
  // The memory map, which bounds the file: it starts at map_bytes and doubles
  // whenever a write finds it full, up to max_map_bytes. Past that a write
  // fails with kNoMem. The map is address space, not memory or disk.
  uint64_t map_bytes = kDefaultMapBytes;
  uint64_t max_map_bytes = kDefaultMaxMapBytes;
  Sync sync = Sync::full;
};

class LmdbStore;

// What open_lmdb_store returns: the store, or why not (status and one line).
struct Opened {
  std::unique_ptr<LmdbStore> store;
  int status = 0;  // kOk; kInval (not a folder, a newer or foreign format),
                   // kBusy (open elsewhere), kIo (the file system or LMDB failed)
  std::string error;
};

// Opens the data folder at path, creating it (mode 0700) if it is missing
// (its parent must exist), and a fresh store in an empty folder.
Opened open_lmdb_store(const std::string& path, const LmdbOptions& opts = {});

class LmdbStore final : public core::Store {
 public:
  struct Impl;
  explicit LmdbStore(std::unique_ptr<Impl> impl);
  ~LmdbStore() override;

  const core::StoredRecord* get(const wire::Id& pos, const core::Bytes& key) const override;
  int put(const wire::Id& pos, const core::Bytes& key, core::StoredRecord rec) override;
  bool erase(const wire::Id& pos, const core::Bytes& key) override;
  void scan(const wire::Id& lo, const wire::Id& hi, const core::StoreKey* after,
            const Visit& visit) const override;
  size_t size() const override;
  size_t bytes() const override;
  void clear() override;
  std::string error() const override;
  uint64_t failures() const override;

  // Group commit. begin_batch(): kOk, or kInval if a batch is open. Until
  // commit_batch(), put, erase and clear write into one transaction (a
  // failed one leaves the batch's other writes in it; a full map grows and
  // the batch is written again: the batch is kept in memory until it
  // commits), and get, scan, size and bytes see them. commit_batch(): kOk,
  // and the batch is stored (on disk under Sync::full); or kNoMem or kIo,
  // and none of it is (error() says how many writes were lost), nor is it
  // if the store is closed first. kInval without a batch.
  int begin_batch();
  int commit_batch();
  bool in_batch() const;

  // Flushes every commit to disk (mdb_env_sync): what Sync::none and
  // no_meta_sync defer. kOk or kIo.
  int sync();
  // The map's size now (it grows: LmdbOptions).
  uint64_t map_bytes() const;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace chord::store
