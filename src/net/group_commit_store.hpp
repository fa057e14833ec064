// SPDX-License-Identifier: MIT
// Group commit for a durable node (#15): the core::Store that NodeHost hands
// its core, over the LMDB engine of the data folder.
//
// The first write of a loop turn (put, erase, clear) opens the engine's batch
// and tells the host (on_open), which then holds every message the core sends
// until commit() at the turn's flush point (NodeHost::commit_turn). Reads go
// straight to the engine and see the open batch. The core never learns about
// batches: it stays free of I/O, and the simulator's memory store is the same
// interface without them (docs/storage.md, "Sync policy and group commit").
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/store.hpp"
#include "store/lmdb_store.hpp"

namespace chord::net {

class GroupCommitStore final : public core::Store {
 public:
  GroupCommitStore(std::unique_ptr<store::LmdbStore> engine, std::function<void()> on_open)
      : engine_(std::move(engine)), on_open_(std::move(on_open)) {}

  const core::StoredRecord* get(const wire::Id& pos, const core::Bytes& key) const override {
    return engine_->get(pos, key);
  }
  int put(const wire::Id& pos, const core::Bytes& key, core::StoredRecord rec) override {
    open();
    return engine_->put(pos, key, std::move(rec));
  }
  bool erase(const wire::Id& pos, const core::Bytes& key) override {
    open();
    return engine_->erase(pos, key);
  }
  void scan(const wire::Id& lo, const wire::Id& hi, const core::StoreKey* after,
            const Visit& visit) const override {
    engine_->scan(lo, hi, after, visit);
  }
  size_t size() const override { return engine_->size(); }
  size_t bytes() const override { return engine_->bytes(); }
  void clear() override {
    open();
    engine_->clear();
  }
  std::string error() const override { return engine_->error(); }
  uint64_t failures() const override { return engine_->failures(); }

  // Whether this turn wrote: a batch is open, and its acknowledgements wait.
  bool open_batch() const { return engine_->in_batch(); }
  // Commits the turn's batch: kOk (nothing open, or stored under the sync
  // policy), or kNoMem / kIo with why (none of the batch is stored).
  int commit(std::string& why) {
    if (!engine_->in_batch()) return 0;
    const int rc = engine_->commit_batch();
    if (rc != 0) why = engine_->error();
    return rc;
  }

 private:
  void open() {
    if (engine_->in_batch()) return;
    // Should a batch not open (it cannot fail but when one is open), the
    // write commits by itself before it returns: durable either way.
    if (engine_->begin_batch() == 0 && on_open_) on_open_();
  }

  std::unique_ptr<store::LmdbStore> engine_;
  std::function<void()> on_open_;
};

}  // namespace chord::net
