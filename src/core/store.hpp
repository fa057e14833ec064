// SPDX-License-Identifier: MIT
// Where a node keeps its records: the interface the core uses, so that an
// on-disk engine (src/store/lmdb_store.hpp) can replace the in-memory one
// without touching routing.
//
// Records are ordered by ring position (the key's id), then by key bytes, so
// that ranges of the ring can be scanned in order.
//
// Lifetimes: the record that get() points to, and the key and record that a
// scan hands to visit, are borrowed from the store. get()'s pointer stays
// valid until the next call to get, put, erase, scan or clear on the same
// store (size, bytes and error leave it alone); copy what must outlive that.
// The LMDB engine decodes into one record per store, so it means it. A
// visitor must not change the store it scans.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/version.hpp"
#include "wire/messages.hpp"

namespace chord::core {

using Bytes = std::vector<uint8_t>;
using Id = wire::Id;

struct StoredRecord {
  Bytes value;
  Version ver;
  bool tomb = false;
  uint64_t stamp = 0;  // local ms when this version was stored here
};

// A position in scan order.
struct StoreKey {
  wire::Id pos{};
  Bytes key;
};

class Store {
 public:
  virtual ~Store() = default;
  // The record of key at pos, or nullptr (absent, or an engine that could
  // not read it: error() says so). See "Lifetimes" above.
  virtual const StoredRecord* get(const wire::Id& pos, const Bytes& key) const = 0;
  // Stores rec as the record of key at pos, replacing any. kOk; or, with
  // nothing changed and error() saying why: kNoMem (the engine is full: LMDB's
  // map) or kIo (the engine failed: a disk error, a corrupt file).
  [[nodiscard]] virtual int put(const wire::Id& pos, const Bytes& key, StoredRecord rec) = 0;
  // True if a record was removed; false if there was none, or if the engine
  // failed (error() says why, and the record stays: a failed erase only
  // delays a removal, it never loses a write).
  virtual bool erase(const wire::Id& pos, const Bytes& key) = 0;
  // Visits the records with position in (lo, hi] (wrapping; lo == hi is the
  // whole ring) in ring order from lo, starting strictly after *after if
  // given. Stops when visit returns false. An engine skips a record that it
  // cannot decode and stops early when it cannot read; error() says which.
  using Visit = std::function<bool(const wire::Id& pos, const Bytes& key, const StoredRecord&)>;
  virtual void scan(const wire::Id& lo, const wire::Id& hi, const StoreKey* after,
                    const Visit& visit) const = 0;
  // O(1) both.
  virtual size_t size() const = 0;
  // What the records take: keys, values and kRecordOverhead each.
  virtual size_t bytes() const = 0;
  static constexpr size_t kRecordOverhead = 64;
  static size_t record_bytes(const Bytes& key, const StoredRecord& r) {
    return key.size() + r.value.size() + kRecordOverhead;
  }
  // Removes every record; on failure (error() says why) they all stay.
  virtual void clear() = 0;
  // The last failure, one line ("" if none so far), and how many there were.
  virtual std::string error() const { return {}; }
  virtual uint64_t failures() const { return 0; }
};

// The in-memory engine. It never fails (short of std::bad_alloc).
std::unique_ptr<Store> make_memory_store();

}  // namespace chord::core
