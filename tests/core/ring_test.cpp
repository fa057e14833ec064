// SPDX-License-Identifier: MIT
// Ring math on 256-bit ids.
#include <gtest/gtest.h>

#include "core/node.hpp"
#include "core/ring.hpp"

namespace chord::core {
namespace {

Id small(uint8_t v) {
  Id id{};
  id[31] = v;
  return id;
}
Id top(uint8_t v) {
  Id id{};
  id[0] = v;
  return id;
}

TEST(Ring, open_closed_interval_without_wrap) {
  EXPECT_TRUE(in_open_closed(small(5), small(3), small(9)));
  EXPECT_TRUE(in_open_closed(small(9), small(3), small(9)));
  EXPECT_FALSE(in_open_closed(small(3), small(3), small(9)));
  EXPECT_FALSE(in_open_closed(small(10), small(3), small(9)));
}

TEST(Ring, open_closed_interval_wraps_past_zero) {
  EXPECT_TRUE(in_open_closed(small(1), top(0xf0), small(3)));
  EXPECT_TRUE(in_open_closed(top(0xf8), top(0xf0), small(3)));
  EXPECT_TRUE(in_open_closed(Id{}, top(0xf0), small(3)));
  EXPECT_FALSE(in_open_closed(top(0x10), top(0xf0), small(3)));
}

TEST(Ring, equal_bounds_mean_the_whole_ring) {
  EXPECT_TRUE(in_open_closed(small(4), small(4), small(4)));
  EXPECT_TRUE(in_open_closed(small(7), small(4), small(4)));
  EXPECT_TRUE(in_open(small(7), small(4), small(4)));
  EXPECT_FALSE(in_open(small(4), small(4), small(4)));
}

TEST(Ring, open_interval_excludes_both_ends) {
  EXPECT_FALSE(in_open(small(9), small(3), small(9)));
  EXPECT_FALSE(in_open(small(3), small(3), small(9)));
  EXPECT_TRUE(in_open(small(4), small(3), small(9)));
  EXPECT_TRUE(in_open(small(0), top(0x80), small(1)));
}

TEST(Ring, distance_is_clockwise_and_wraps) {
  EXPECT_EQ(distance(small(3), small(10)), small(7));
  Id d = distance(small(10), small(3));  // 2^256 - 7
  Id expect;
  expect.fill(0xff);
  expect[31] = 0xf9;
  EXPECT_EQ(d, expect);
  EXPECT_EQ(distance(small(5), small(5)), Id{});
}

TEST(Ring, add_pow2_carries_and_wraps) {
  EXPECT_EQ(add_pow2(small(1), 0), small(2));
  Id a = small(0xff);
  Id b = add_pow2(a, 0);
  EXPECT_EQ(b[31], 0);
  EXPECT_EQ(b[30], 1);
  EXPECT_EQ(add_pow2(Id{}, 255), top(0x80));
  EXPECT_EQ(add_pow2(top(0x80), 255), Id{});  // 2^255 + 2^255 wraps to zero
  Id ones;
  ones.fill(0xff);
  EXPECT_EQ(add_one(ones), Id{});
}

TEST(Ring, hex_prints_big_endian) {
  EXPECT_EQ(hex(small(0xab)).substr(60), "00ab");
  EXPECT_EQ(short_hex(top(0x12)), "1200000000000000");
}

TEST(Ring, key_id_is_blake2b_256) {
  // BLAKE2b-256 of the empty string and of "abc" (RFC 7693 test vectors use
  // BLAKE2b-512; these are the 256-bit digests).
  Id e = key_id(nullptr, 0);
  EXPECT_EQ(hex(e), "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
  const uint8_t abc[] = {'a', 'b', 'c'};
  EXPECT_EQ(hex(key_id(abc, 3)),
            "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
  EXPECT_NE(key_id(abc, 2), key_id(abc, 3));
}

}  // namespace
}  // namespace chord::core
