// SPDX-License-Identifier: MIT
// One suite, every engine: the memory and the LMDB engines must behave the
// same for every call of core::Store, scans and their wrap-around included.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <string>

#include "core/store.hpp"
#include "store/lmdb_store.hpp"
#include "store_test_util.hpp"
#include "wire/status.hpp"

namespace chord::core {
namespace {

using store::test::TempDir;

Id at(uint8_t hi, uint8_t lo = 0) {
  Id id{};
  id[0] = hi;
  id[31] = lo;
  return id;
}

StoredRecord rec(const std::string& v, uint64_t hlc = 0) {
  StoredRecord r;
  r.value.assign(v.begin(), v.end());
  r.ver.hlc = hlc;
  return r;
}

Bytes str(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

std::vector<uint8_t> scan_firsts(const Store& s, const Id& lo, const Id& hi,
                                 const StoreKey* after = nullptr) {
  std::vector<uint8_t> out;
  s.scan(lo, hi, after, [&](const Id& pos, const Bytes&, const StoredRecord&) {
    out.push_back(pos[0]);
    return true;
  });
  return out;
}

std::vector<Bytes> scan_keys(const Store& s, const Id& lo, const Id& hi,
                             const StoreKey* after = nullptr) {
  std::vector<Bytes> out;
  s.scan(lo, hi, after, [&](const Id&, const Bytes& key, const StoredRecord&) {
    out.push_back(key);
    return true;
  });
  return out;
}

// lmdb_batch: every call inside one open batch (LmdbStore::begin_batch), so
// reads go through the batch's write transaction.
enum class Engine { memory, lmdb, lmdb_batch };

std::string name_of(Engine e) {
  return e == Engine::memory ? "memory" : e == Engine::lmdb ? "lmdb" : "lmdb_batch";
}
void PrintTo(Engine e, std::ostream* os) {
  *os << name_of(e);
}
std::string engine_name(const ::testing::TestParamInfo<Engine>& i) {
  return name_of(i.param);
}

// A fresh store of the engine under test; the LMDB one in a folder that is
// removed afterwards.
class StoreConformance : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override { s = make(); }
  std::unique_ptr<Store> make() {
    if (GetParam() == Engine::memory) return make_memory_store();
    store::LmdbOptions opts;
    opts.sync = store::Sync::none;  // what is tested here is not the disk (lmdb_folder_test is)
    store::Opened o = store::open_lmdb_store(dir.path() + "/data", opts);
    EXPECT_EQ(o.status, kOk) << o.error;
    if (o.store && GetParam() == Engine::lmdb_batch) {
      EXPECT_EQ(o.store->begin_batch(), kOk);
    }
    return std::move(o.store);
  }
  void fill() {
    for (uint8_t p : {0x10, 0x40, 0x80, 0xc0, 0xf0}) ASSERT_EQ(s->put(at(p), {p}, rec("v")), kOk);
  }
  TempDir dir;
  std::unique_ptr<Store> s;
};

TEST_P(StoreConformance, get_put_erase) {
  fill();
  EXPECT_EQ(s->size(), 5u);
  ASSERT_NE(s->get(at(0x40), {0x40}), nullptr);
  EXPECT_EQ(s->get(at(0x40), {0x41}), nullptr);
  EXPECT_EQ(s->get(at(0x41), {0x40}), nullptr);
  ASSERT_EQ(s->put(at(0x40), {0x40}, rec("new")), kOk);
  EXPECT_EQ(s->get(at(0x40), {0x40})->value, str("new"));
  EXPECT_TRUE(s->erase(at(0x40), {0x40}));
  EXPECT_FALSE(s->erase(at(0x40), {0x40}));
  EXPECT_EQ(s->get(at(0x40), {0x40}), nullptr);
  EXPECT_EQ(s->size(), 4u);
  EXPECT_EQ(s->error(), "");
}

TEST_P(StoreConformance, a_record_reads_back_with_every_field) {
  StoredRecord r = rec("value", 0x0123456789abcdefull);
  for (size_t i = 0; i < r.ver.writer.size(); i++) r.ver.writer[i] = static_cast<uint8_t>(i * 7);
  r.stamp = 0xfedcba9876543210ull;
  ASSERT_EQ(s->put(at(1), str("k"), r), kOk);
  const StoredRecord* got = s->get(at(1), str("k"));
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->value, r.value);
  EXPECT_EQ(got->ver, r.ver);
  EXPECT_EQ(got->stamp, r.stamp);
  EXPECT_FALSE(got->tomb);
}

TEST_P(StoreConformance, an_overwrite_replaces_value_and_version) {
  ASSERT_EQ(s->put(at(1), str("k"), rec("old", 5)), kOk);
  ASSERT_EQ(s->put(at(1), str("k"), rec("newer", 9)), kOk);
  EXPECT_EQ(s->size(), 1u);
  EXPECT_EQ(s->get(at(1), str("k"))->value, str("newer"));
  EXPECT_EQ(s->get(at(1), str("k"))->ver.hlc, 9u);
}

TEST_P(StoreConformance, a_tombstone_is_a_record_with_no_value) {
  ASSERT_EQ(s->put(at(1), str("k"), rec("v", 1)), kOk);
  StoredRecord t = rec("", 2);
  t.tomb = true;
  ASSERT_EQ(s->put(at(1), str("k"), t), kOk);
  const StoredRecord* got = s->get(at(1), str("k"));
  ASSERT_NE(got, nullptr);
  EXPECT_TRUE(got->tomb);
  EXPECT_TRUE(got->value.empty());
  EXPECT_EQ(s->size(), 1u);
  EXPECT_EQ(s->bytes(), 1 + Store::kRecordOverhead);
  int seen = 0;
  s->scan(at(0), at(0), nullptr, [&](const Id&, const Bytes&, const StoredRecord& r) {
    EXPECT_TRUE(r.tomb);
    return ++seen;
  });
  EXPECT_EQ(seen, 1);
}

TEST_P(StoreConformance, empty_keys_and_values_are_records) {
  ASSERT_EQ(s->put(at(3), {}, rec("")), kOk);
  ASSERT_NE(s->get(at(3), {}), nullptr);
  EXPECT_TRUE(s->get(at(3), {})->value.empty());
  EXPECT_EQ(s->bytes(), Store::kRecordOverhead);
  EXPECT_EQ(scan_keys(*s, at(0), at(0)), std::vector<Bytes>{Bytes{}});
}

TEST_P(StoreConformance, bytes_follow_puts_replacements_erasures_and_clear) {
  fill();
  const size_t each = 1 + 1 + Store::kRecordOverhead;  // a 1-byte key and value
  EXPECT_EQ(s->bytes(), 5 * each);
  ASSERT_EQ(s->put(at(0x40), {0x40}, rec("longer")), kOk);  // the old value no longer counts
  EXPECT_EQ(s->bytes(), 4 * each + 1 + 6 + Store::kRecordOverhead);
  s->erase(at(0x40), {0x40});
  EXPECT_EQ(s->bytes(), 4 * each);
  s->erase(at(0x40), {0x40});  // absent: nothing changes
  EXPECT_EQ(s->bytes(), 4 * each);
  s->clear();
  EXPECT_EQ(s->bytes(), 0u);
  EXPECT_EQ(s->size(), 0u);
  EXPECT_EQ(scan_firsts(*s, at(0), at(0)), std::vector<uint8_t>{});
  ASSERT_EQ(s->put(at(0x40), {0x40}, rec("v")), kOk);  // usable after a clear
  EXPECT_EQ(s->size(), 1u);
  EXPECT_EQ(s->bytes(), each);
}

TEST_P(StoreConformance, scan_is_open_closed) {
  fill();
  EXPECT_EQ(scan_firsts(*s, at(0x10), at(0x80)), (std::vector<uint8_t>{0x40, 0x80}));
  EXPECT_EQ(scan_firsts(*s, at(0x11), at(0x7f)), (std::vector<uint8_t>{0x40}));
}

TEST_P(StoreConformance, scan_wraps_in_ring_order) {
  fill();
  EXPECT_EQ(scan_firsts(*s, at(0x80), at(0x10)), (std::vector<uint8_t>{0xc0, 0xf0, 0x10}));
  EXPECT_EQ(scan_firsts(*s, at(0xf0), at(0x0f)), (std::vector<uint8_t>{}));
}

TEST_P(StoreConformance, scan_with_equal_bounds_covers_the_ring_starting_after_lo) {
  fill();
  EXPECT_EQ(scan_firsts(*s, at(0x80), at(0x80)),
            (std::vector<uint8_t>{0xc0, 0xf0, 0x10, 0x40, 0x80}));
  EXPECT_EQ(scan_firsts(*s, at(0x81), at(0x81)),
            (std::vector<uint8_t>{0xc0, 0xf0, 0x10, 0x40, 0x80}));
}

TEST_P(StoreConformance, scan_reaches_the_last_and_first_positions) {
  Id last;
  last.fill(0xff);
  ASSERT_EQ(s->put(last, {1}, rec("v")), kOk);
  ASSERT_EQ(s->put(Id{}, {2}, rec("v")), kOk);
  EXPECT_EQ(scan_keys(*s, at(0x80), Id{}), (std::vector<Bytes>{{1}, {2}}));
  EXPECT_EQ(scan_keys(*s, last, last), (std::vector<Bytes>{{2}, {1}}));
  EXPECT_EQ(scan_keys(*s, Id{}, last), (std::vector<Bytes>{{1}}));
}

TEST_P(StoreConformance, scan_resumes_after_a_key_on_either_side_of_zero) {
  fill();
  StoreKey a{at(0xc0), {0xc0}};
  EXPECT_EQ(scan_firsts(*s, at(0x80), at(0x40), &a), (std::vector<uint8_t>{0xf0, 0x10, 0x40}));
  StoreKey b{at(0x10), {0x10}};
  EXPECT_EQ(scan_firsts(*s, at(0x80), at(0x40), &b), (std::vector<uint8_t>{0x40}));
  StoreKey absent{at(0x20), {0x20}};  // need not be stored
  EXPECT_EQ(scan_firsts(*s, at(0x10), at(0xc0), &absent), (std::vector<uint8_t>{0x40, 0x80, 0xc0}));
  StoreKey outside{at(0xd0), {0}};  // outside (lo, hi]: ignored
  EXPECT_EQ(scan_firsts(*s, at(0x10), at(0xc0), &outside),
            (std::vector<uint8_t>{0x40, 0x80, 0xc0}));
}

TEST_P(StoreConformance, scan_stops_when_asked) {
  fill();
  int n = 0;
  s->scan(at(0), at(0), nullptr,
          [&](const Id&, const Bytes&, const StoredRecord&) { return ++n < 2; });
  EXPECT_EQ(n, 2);
}

TEST_P(StoreConformance, records_at_one_position_are_in_key_order) {
  for (const char* k : {"b", "ab", "a", "", "ba"}) ASSERT_EQ(s->put(at(5), str(k), rec(k)), kOk);
  ASSERT_EQ(s->put(at(4), str("z"), rec("z")), kOk);
  EXPECT_EQ(scan_keys(*s, at(4), at(5)),
            (std::vector<Bytes>{str(""), str("a"), str("ab"), str("b"), str("ba")}));
  StoreKey a{at(5), str("ab")};
  EXPECT_EQ(scan_keys(*s, at(4), at(5), &a), (std::vector<Bytes>{str("b"), str("ba")}));
  StoreKey between{at(5), str("aa")};
  EXPECT_EQ(scan_keys(*s, at(4), at(5), &between),
            (std::vector<Bytes>{str("ab"), str("b"), str("ba")}));
}

// Keys past what an LMDB key holds (store/lmdb_store.hpp: kInlineKey) share
// a position's entry when their first bytes agree; they must read, order and
// count as any other.
TEST_P(StoreConformance, long_keys_order_and_count_like_short_ones) {
  const Bytes base(store::kPrefixKey, 'x');
  Bytes k478(base.begin(), base.end() - 1), k479 = base;
  Bytes k480a = base, k480b = base, k900 = base, kfar = base;
  k480a.push_back('a');
  k480b.push_back('b');
  k900.resize(900, 'c');
  kfar.back() = 'y';  // differs within the prefix
  kfar.resize(600, 'd');
  const std::vector<Bytes> sorted = {k478, k479, k480a, k480b, k900, kfar};
  for (size_t i : {5, 3, 0, 4, 1, 2}) ASSERT_EQ(s->put(at(7), sorted[i], rec("v")), kOk);
  EXPECT_EQ(s->size(), 6u);
  EXPECT_EQ(scan_keys(*s, at(6), at(7)), sorted);
  StoreKey a{at(7), k480a};
  EXPECT_EQ(scan_keys(*s, at(6), at(7), &a), (std::vector<Bytes>{k480b, k900, kfar}));
  StoreKey b{at(7), k479};
  EXPECT_EQ(scan_keys(*s, at(6), at(7), &b), (std::vector<Bytes>{k480a, k480b, k900, kfar}));
  ASSERT_NE(s->get(at(7), k480b), nullptr);
  Bytes k480c = base;
  k480c.push_back('c');
  EXPECT_EQ(s->get(at(7), k480c), nullptr);
  size_t bytes = s->bytes();
  ASSERT_EQ(s->put(at(7), k900, rec("longer")), kOk);
  EXPECT_EQ(s->bytes(), bytes + 5);
  EXPECT_EQ(s->get(at(7), k900)->value, str("longer"));
  EXPECT_FALSE(s->erase(at(7), k480c));
  EXPECT_TRUE(s->erase(at(7), k480a));
  EXPECT_TRUE(s->erase(at(7), k480b));
  EXPECT_EQ(s->size(), 4u);
  EXPECT_EQ(s->bytes(), bytes + 5 - 2 * (480 + 1 + Store::kRecordOverhead));
  EXPECT_EQ(scan_keys(*s, at(6), at(7)), (std::vector<Bytes>{k478, k479, k900, kfar}));
}

// The memory engine is the reference: random puts, overwrites and erases at a
// few crowded positions (both ends of the ring among them), then scans with
// random bounds and cursors must visit the same records in the same order.
TEST_P(StoreConformance, random_operations_scan_like_the_memory_engine) {
  std::unique_ptr<Store> ref = make_memory_store();
  std::mt19937_64 rng(15);
  auto pos = [&] {
    static const uint8_t firsts[] = {0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff};
    Id id{};
    const uint8_t f = firsts[rng() % 6];
    id[0] = f;
    if (f == 0xff && rng() % 2) id.fill(0xff);
    return id;
  };
  auto key = [&] {
    const size_t lens[] = {0, 1, 2, 477, 478, 479, 480, 700};
    Bytes k(lens[rng() % 8], 'k');
    if (!k.empty()) k.back() = static_cast<uint8_t>('a' + rng() % 3);
    if (k.size() > 100) k[100] = static_cast<uint8_t>('a' + rng() % 2);
    return k;
  };
  std::vector<StoreKey> keys;
  for (int i = 0; i < 600; i++) {
    const uint64_t op = rng() % 10;
    if (op < 7 || keys.empty()) {
      StoreKey k{pos(), key()};
      StoredRecord r = rec(std::string(rng() % 40, 'v'), rng());
      r.tomb = rng() % 5 == 0;
      ASSERT_EQ(s->put(k.pos, k.key, r), kOk);
      ASSERT_EQ(ref->put(k.pos, k.key, r), kOk);
      keys.push_back(k);
    } else {
      const StoreKey& k = keys[rng() % keys.size()];
      ASSERT_EQ(s->erase(k.pos, k.key), ref->erase(k.pos, k.key));
    }
    ASSERT_EQ(s->size(), ref->size());
    ASSERT_EQ(s->bytes(), ref->bytes());
  }
  auto listing = [](const Store& st, const Id& lo, const Id& hi, const StoreKey* after) {
    std::vector<std::pair<StoreKey, uint64_t>> out;
    st.scan(lo, hi, after, [&](const Id& p, const Bytes& k, const StoredRecord& r) {
      out.push_back({StoreKey{p, k}, r.ver.hlc});
      return true;
    });
    return out;
  };
  for (int i = 0; i < 400; i++) {
    const Id lo = pos(), hi = rng() % 4 ? pos() : lo;
    StoreKey after{pos(), key()};
    if (rng() % 2 && !keys.empty()) after = keys[rng() % keys.size()];
    const StoreKey* a = rng() % 3 ? &after : nullptr;
    auto got = listing(*s, lo, hi, a), want = listing(*ref, lo, hi, a);
    ASSERT_EQ(got.size(), want.size()) << "scan " << i;
    for (size_t j = 0; j < got.size(); j++) {
      ASSERT_EQ(got[j].first.pos, want[j].first.pos) << "scan " << i << " record " << j;
      ASSERT_EQ(got[j].first.key, want[j].first.key) << "scan " << i << " record " << j;
      ASSERT_EQ(got[j].second, want[j].second) << "scan " << i << " record " << j;
    }
  }
  for (const StoreKey& k : keys) {
    const StoredRecord* w = ref->get(k.pos, k.key);
    const bool present = w != nullptr;
    const uint64_t hlc = w ? w->ver.hlc : 0;
    const StoredRecord* g = s->get(k.pos, k.key);
    ASSERT_EQ(g != nullptr, present);
    if (g) {
      EXPECT_EQ(g->ver.hlc, hlc);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, StoreConformance,
                         ::testing::Values(Engine::memory, Engine::lmdb, Engine::lmdb_batch),
                         engine_name);

}  // namespace
}  // namespace chord::core
