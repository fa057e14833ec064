// SPDX-License-Identifier: MIT
// Where a node keeps its records: the interface the core uses, so that an
// on-disk engine can replace the in-memory one without touching routing.
//
// Records are ordered by ring position (the key's id), then by key bytes, so
// that ranges of the ring can be scanned in order.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

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
  // The record of key at pos, or nullptr.
  virtual const StoredRecord* get(const wire::Id& pos, const Bytes& key) const = 0;
  virtual void put(const wire::Id& pos, const Bytes& key, StoredRecord rec) = 0;
  virtual bool erase(const wire::Id& pos, const Bytes& key) = 0;
  // Visits the records with position in (lo, hi] (wrapping; lo == hi is the
  // whole ring) in ring order from lo, starting strictly after *after if
  // given. Stops when visit returns false.
  using Visit = std::function<bool(const wire::Id& pos, const Bytes& key, const StoredRecord&)>;
  virtual void scan(const wire::Id& lo, const wire::Id& hi, const StoreKey* after,
                    const Visit& visit) const = 0;
  virtual size_t size() const = 0;
  // What the records take: keys, values and kRecordOverhead each.
  virtual size_t bytes() const = 0;
  static constexpr size_t kRecordOverhead = 64;
  static size_t record_bytes(const Bytes& key, const StoredRecord& r) {
    return key.size() + r.value.size() + kRecordOverhead;
  }
  virtual void clear() = 0;
};

// The in-memory engine.
std::unique_ptr<Store> make_memory_store();

}  // namespace chord::core
