// SPDX-License-Identifier: MIT
// The in-memory Store: get/put/erase and ring-ordered range scans.
#include <gtest/gtest.h>

#include "core/store.hpp"

namespace chord::core {
namespace {

Id at(uint8_t hi) {
  Id id{};
  id[0] = hi;
  return id;
}

StoredRecord rec(const std::string& v) {
  StoredRecord r;
  r.value.assign(v.begin(), v.end());
  return r;
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

class StoreTest : public ::testing::Test {
 protected:
  StoreTest() : s(make_memory_store()) {
    for (uint8_t p : {0x10, 0x40, 0x80, 0xc0, 0xf0}) s->put(at(p), {p}, rec("v"));
  }
  std::unique_ptr<Store> s;
};

TEST_F(StoreTest, get_put_erase) {
  EXPECT_EQ(s->size(), 5u);
  ASSERT_NE(s->get(at(0x40), {0x40}), nullptr);
  EXPECT_EQ(s->get(at(0x40), {0x41}), nullptr);
  s->put(at(0x40), {0x40}, rec("new"));
  EXPECT_EQ(s->get(at(0x40), {0x40})->value, Bytes({'n', 'e', 'w'}));
  EXPECT_TRUE(s->erase(at(0x40), {0x40}));
  EXPECT_FALSE(s->erase(at(0x40), {0x40}));
  EXPECT_EQ(s->get(at(0x40), {0x40}), nullptr);
  EXPECT_EQ(s->size(), 4u);
}

TEST_F(StoreTest, bytes_follow_puts_replacements_erasures_and_clear) {
  const size_t each = 1 + 1 + Store::kRecordOverhead;  // a 1-byte key and value
  EXPECT_EQ(s->bytes(), 5 * each);
  s->put(at(0x40), {0x40}, rec("longer"));  // replaces: the old value no longer counts
  EXPECT_EQ(s->bytes(), 4 * each + 1 + 6 + Store::kRecordOverhead);
  s->erase(at(0x40), {0x40});
  EXPECT_EQ(s->bytes(), 4 * each);
  s->erase(at(0x40), {0x40});  // absent: nothing changes
  EXPECT_EQ(s->bytes(), 4 * each);
  s->clear();
  EXPECT_EQ(s->bytes(), 0u);
}

TEST_F(StoreTest, scan_is_open_closed) {
  EXPECT_EQ(scan_firsts(*s, at(0x10), at(0x80)), (std::vector<uint8_t>{0x40, 0x80}));
}

TEST_F(StoreTest, scan_wraps_in_ring_order) {
  EXPECT_EQ(scan_firsts(*s, at(0x80), at(0x10)), (std::vector<uint8_t>{0xc0, 0xf0, 0x10}));
}

TEST_F(StoreTest, scan_with_equal_bounds_covers_the_ring_starting_after_lo) {
  EXPECT_EQ(scan_firsts(*s, at(0x80), at(0x80)),
            (std::vector<uint8_t>{0xc0, 0xf0, 0x10, 0x40, 0x80}));
}

TEST_F(StoreTest, scan_resumes_after_a_key_on_either_side_of_zero) {
  StoreKey a{at(0xc0), {0xc0}};
  EXPECT_EQ(scan_firsts(*s, at(0x80), at(0x40), &a), (std::vector<uint8_t>{0xf0, 0x10, 0x40}));
  StoreKey b{at(0x10), {0x10}};
  EXPECT_EQ(scan_firsts(*s, at(0x80), at(0x40), &b), (std::vector<uint8_t>{0x40}));
}

TEST_F(StoreTest, scan_stops_when_asked) {
  int n = 0;
  s->scan(at(0), at(0), nullptr,
          [&](const Id&, const Bytes&, const StoredRecord&) { return ++n < 2; });
  EXPECT_EQ(n, 2);
}

}  // namespace
}  // namespace chord::core
