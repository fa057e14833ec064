// SPDX-License-Identifier: MIT
// The in-memory Store: one ordered map.
#include <map>

#include "core/store.hpp"
#include "wire/status.hpp"

namespace chord::core {
namespace {

struct KeyLess {
  bool operator()(const StoreKey& a, const StoreKey& b) const {
    if (a.pos != b.pos) return a.pos < b.pos;
    return a.key < b.key;
  }
};

class MemoryStore final : public Store {
 public:
  const StoredRecord* get(const wire::Id& pos, const Bytes& key) const override {
    probe_.pos = pos;
    probe_.key = key;
    auto it = map_.find(probe_);
    return it == map_.end() ? nullptr : &it->second;
  }
  int put(const wire::Id& pos, const Bytes& key, StoredRecord rec) override {
    bytes_ += record_bytes(key, rec);
    auto [it, fresh] = map_.try_emplace(StoreKey{pos, key});
    if (!fresh) bytes_ -= record_bytes(key, it->second);
    it->second = std::move(rec);
    return kOk;
  }
  bool erase(const wire::Id& pos, const Bytes& key) override {
    probe_.pos = pos;
    probe_.key = key;
    auto it = map_.find(probe_);
    if (it == map_.end()) return false;
    bytes_ -= record_bytes(key, it->second);
    map_.erase(it);
    return true;
  }
  void scan(const wire::Id& lo, const wire::Id& hi, const StoreKey* after,
            const Visit& visit) const override {
    // Ring order from lo: the part above lo first, then from zero up to hi.
    using It = std::map<StoreKey, StoredRecord, KeyLess>::const_iterator;
    auto upper_of = [&](const wire::Id& p) {  // first record with pos > p
      wire::Id q = p;
      StoreKey k{q, {}};
      It it = map_.lower_bound(k);
      while (it != map_.end() && it->first.pos == p) ++it;
      return it;
    };
    auto run = [&](It it, It stop) {
      for (; it != stop; ++it)
        if (!visit(it->first.pos, it->first.key, it->second)) return false;
      return true;
    };
    It start = upper_of(lo);
    if (lo < hi) {
      if (after && lo < after->pos && !(hi < after->pos)) start = map_.upper_bound(*after);
      run(start, upper_of(hi));
      return;
    }
    if (after && lo < after->pos) {
      start = map_.upper_bound(*after);
    } else if (after && !(hi < after->pos)) {
      run(map_.upper_bound(*after), upper_of(hi));
      return;
    }
    if (!run(start, map_.end())) return;
    run(map_.begin(), upper_of(hi));
  }
  size_t size() const override { return map_.size(); }
  size_t bytes() const override { return bytes_; }
  void clear() override {
    map_.clear();
    bytes_ = 0;
  }

 private:
  std::map<StoreKey, StoredRecord, KeyLess> map_;
  mutable StoreKey probe_;
  size_t bytes_ = 0;
};

}  // namespace

std::unique_ptr<Store> make_memory_store() {
  return std::make_unique<MemoryStore>();
}

}  // namespace chord::core
