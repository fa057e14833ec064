// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "alloc_counter.hpp"
#include "wire/status.hpp"
#include "crypto/aead_channel.hpp"
#include "crypto/identity.hpp"

namespace chord::crypto {
namespace {

using testing::AllocCounter;

ChannelKey key_of(uint8_t b) {
  ChannelKey k;
  k.fill(b);
  return k;
}

// a's sends are b's receives and the other way round.
struct Pair {
  explicit Pair(size_t max_frame = 1 << 16)
      : a(key_of(1), key_of(2), max_frame), b(key_of(2), key_of(1), max_frame) {}
  AeadChannel a, b;
};

struct Sink {
  std::vector<std::vector<uint8_t>> frames;
  std::function<void(const uint8_t *, size_t)> fn = [this](const uint8_t *p, size_t n) {
    frames.emplace_back(p, p + n);
  };
};

std::vector<uint8_t> msg(size_t n, uint8_t seed) {
  std::vector<uint8_t> m(n);
  for (size_t i = 0; i < n; ++i) m[i] = static_cast<uint8_t>(seed + i * 31);
  return m;
}

TEST(Channel, frames_round_trip_in_order_in_any_chunking) {
  for (size_t chunk : {size_t{1}, size_t{5}, size_t{20}, size_t{21}, size_t{4096}}) {
    Pair p;
    std::vector<uint8_t> wire;
    std::vector<std::vector<uint8_t>> sent;
    for (size_t i = 0; i < 40; ++i) {
      sent.push_back(msg(i * 37 % 1500, static_cast<uint8_t>(i)));
      ASSERT_EQ(p.a.seal(sent.back().data(), sent.back().size(), wire), kOk);
    }
    Sink s;
    std::string why;
    for (size_t off = 0; off < wire.size(); off += chunk)
      ASSERT_EQ(p.b.open(wire.data() + off, std::min(chunk, wire.size() - off), s.fn, why), kOk)
          << why;
    EXPECT_EQ(s.frames, sent) << "chunk " << chunk;
  }
}

TEST(Channel, seal_appends_to_the_callers_buffer) {
  Pair p;
  std::vector<uint8_t> wire = {0xaa, 0xbb};
  auto m = msg(10, 1);
  ASSERT_EQ(p.a.seal(m.data(), m.size(), wire), kOk);
  ASSERT_EQ(wire.size(), 2 + kFrameOverhead + 10);
  EXPECT_EQ(wire[0], 0xaa);
  EXPECT_EQ(wire[1], 0xbb);
  Sink s;
  std::string why;
  ASSERT_EQ(p.b.open(wire.data() + 2, wire.size() - 2, s.fn, why), kOk) << why;
  ASSERT_EQ(s.frames.size(), 1u);
  EXPECT_EQ(s.frames[0], m);
}

TEST(Channel, plaintext_does_not_appear_on_the_wire) {
  Pair p;
  std::string text = "a secret value that must not leak";
  std::vector<uint8_t> wire;
  ASSERT_EQ(p.a.seal(reinterpret_cast<const uint8_t *>(text.data()), text.size(), wire), kOk);
  std::string w(wire.begin(), wire.end());
  EXPECT_EQ(w.find("secret"), std::string::npos);
}

TEST(Channel, flipping_any_byte_of_a_frame_is_kproto_and_delivers_nothing) {
  auto m = msg(50, 3);
  std::vector<uint8_t> good;
  {
    Pair p;
    ASSERT_EQ(p.a.seal(m.data(), m.size(), good), kOk);
  }
  for (size_t pos = 0; pos < good.size(); ++pos) {
    Pair p;
    std::vector<uint8_t> wire = good;
    wire[pos] ^= 0x01;
    Sink s;
    std::string why;
    int rc = p.b.open(wire.data(), wire.size(), s.fn, why);
    // The length header is authenticated on its own, so even a flipped length
    // fails at once instead of waiting for bytes that will never come.
    EXPECT_EQ(rc, kProto) << "byte " << pos;
    EXPECT_TRUE(s.frames.empty()) << "byte " << pos;
  }
}

TEST(Channel, replayed_frame_is_kproto) {
  Pair p;
  auto m = msg(20, 4);
  std::vector<uint8_t> wire;
  ASSERT_EQ(p.a.seal(m.data(), m.size(), wire), kOk);
  Sink s;
  std::string why;
  ASSERT_EQ(p.b.open(wire.data(), wire.size(), s.fn, why), kOk) << why;
  EXPECT_EQ(p.b.open(wire.data(), wire.size(), s.fn, why), kProto);
  EXPECT_EQ(s.frames.size(), 1u);
  EXPECT_NE(why.find("replayed"), std::string::npos) << why;
}

TEST(Channel, reordered_frames_are_kproto) {
  Pair p;
  std::vector<uint8_t> first, second;
  auto m1 = msg(20, 5), m2 = msg(20, 6);
  ASSERT_EQ(p.a.seal(m1.data(), m1.size(), first), kOk);
  ASSERT_EQ(p.a.seal(m2.data(), m2.size(), second), kOk);
  Sink s;
  std::string why;
  EXPECT_EQ(p.b.open(second.data(), second.size(), s.fn, why), kProto);
  EXPECT_TRUE(s.frames.empty());
}

TEST(Channel, swapped_bodies_of_equal_length_are_kproto) {
  Pair p;
  std::vector<uint8_t> f1, f2;
  auto m1 = msg(20, 5), m2 = msg(20, 6);
  ASSERT_EQ(p.a.seal(m1.data(), m1.size(), f1), kOk);
  ASSERT_EQ(p.a.seal(m2.data(), m2.size(), f2), kOk);
  std::vector<uint8_t> mixed = f2;  // frame 1's body under frame 0's header
  std::copy(f1.begin(), f1.begin() + kFrameHeaderBytes, mixed.begin());
  Sink s;
  std::string why;
  EXPECT_EQ(p.b.open(mixed.data(), mixed.size(), s.fn, why), kProto);
  EXPECT_TRUE(s.frames.empty());
}

TEST(Channel, a_frame_reflected_back_to_its_sender_is_kproto) {
  Pair p;
  auto m = msg(8, 1);
  std::vector<uint8_t> wire;
  ASSERT_EQ(p.a.seal(m.data(), m.size(), wire), kOk);
  Sink s;
  std::string why;
  EXPECT_EQ(p.a.open(wire.data(), wire.size(), s.fn, why), kProto);
  EXPECT_TRUE(s.frames.empty());
}

TEST(Channel, partial_frame_delivers_nothing_until_complete) {
  Pair p;
  auto m = msg(100, 7);
  std::vector<uint8_t> wire;
  ASSERT_EQ(p.a.seal(m.data(), m.size(), wire), kOk);
  Sink s;
  std::string why;
  ASSERT_EQ(p.b.open(wire.data(), wire.size() - 1, s.fn, why), kOk) << why;
  EXPECT_TRUE(s.frames.empty());
  ASSERT_EQ(p.b.open(wire.data() + wire.size() - 1, 1, s.fn, why), kOk) << why;
  ASSERT_EQ(s.frames.size(), 1u);
  EXPECT_EQ(s.frames[0], m);
}

TEST(Channel, four_gib_length_is_ktoobig_without_allocating) {
  Pair p(1 << 20);
  uint8_t hdr[kFrameHeaderBytes];
  seal_frame_header(key_of(1), 0, 0xffffffffu, hdr);  // authentic, as a's frame 0
  Sink s;
  std::string why;
  int rc;
  {
    AllocCounter count;
    rc = p.b.open(hdr, sizeof hdr, s.fn, why);
    EXPECT_LT(count.largest(), 4096u) << "open() allocated for a length it refused";
  }
  EXPECT_EQ(rc, kTooBig);
  EXPECT_NE(why.find("4294967295"), std::string::npos) << why;
  EXPECT_TRUE(s.frames.empty());
}

TEST(Channel, a_length_just_over_the_limit_is_ktoobig_and_at_the_limit_is_fine) {
  Pair p(1000);
  auto ok = msg(1000, 1);
  std::vector<uint8_t> wire;
  ASSERT_EQ(p.a.seal(ok.data(), ok.size(), wire), kOk);
  Sink s;
  std::string why;
  ASSERT_EQ(p.b.open(wire.data(), wire.size(), s.fn, why), kOk) << why;
  ASSERT_EQ(s.frames.size(), 1u);
  uint8_t hdr[kFrameHeaderBytes];
  seal_frame_header(key_of(1), 1, 1001, hdr);
  EXPECT_EQ(p.b.open(hdr, sizeof hdr, s.fn, why), kTooBig);
}

TEST(Channel, seal_over_the_limit_is_ktoobig_and_leaves_out_unchanged) {
  Pair p(100);
  auto big = msg(101, 1);
  std::vector<uint8_t> wire = {1, 2, 3};
  EXPECT_EQ(p.a.seal(big.data(), big.size(), wire), kTooBig);
  EXPECT_EQ(wire, (std::vector<uint8_t>{1, 2, 3}));
  // The refused frame used no counter: the next one still opens.
  auto m = msg(5, 1);
  ASSERT_EQ(p.a.seal(m.data(), m.size(), wire), kOk);
  Sink s;
  std::string why;
  EXPECT_EQ(p.b.open(wire.data() + 3, wire.size() - 3, s.fn, why), kOk) << why;
}

TEST(Channel, empty_frames_are_delivered) {
  Pair p;
  std::vector<uint8_t> wire;
  ASSERT_EQ(p.a.seal(nullptr, 0, wire), kOk);
  ASSERT_EQ(p.a.seal(nullptr, 0, wire), kOk);
  Sink s;
  std::string why;
  ASSERT_EQ(p.b.open(wire.data(), wire.size(), s.fn, why), kOk) << why;
  EXPECT_EQ(s.frames.size(), 2u);
}

TEST(Channel, stays_dead_after_the_first_bad_frame) {
  Pair p;
  auto m = msg(10, 1);
  std::vector<uint8_t> bad, good;
  ASSERT_EQ(p.a.seal(m.data(), m.size(), bad), kOk);
  bad[kFrameHeaderBytes + 2] ^= 1;
  Sink s;
  std::string why;
  ASSERT_EQ(p.b.open(bad.data(), bad.size(), s.fn, why), kProto);
  Pair fresh;  // a valid frame 0 from the same keys
  ASSERT_EQ(fresh.a.seal(m.data(), m.size(), good), kOk);
  EXPECT_EQ(p.b.open(good.data(), good.size(), s.fn, why), kProto);
  EXPECT_TRUE(s.frames.empty());
}

TEST(Channel, open_does_not_allocate_per_frame_once_warm) {
  Pair p;
  std::vector<uint8_t> wire;
  auto m = msg(1000, 2);
  for (int i = 0; i < 200; ++i) ASSERT_EQ(p.a.seal(m.data(), m.size(), wire), kOk);
  size_t frame = kFrameOverhead + m.size();
  size_t frames = 0;
  std::function<void(const uint8_t *, size_t)> fn = [&](const uint8_t *, size_t) { ++frames; };
  std::string why;
  // Warm up: the first whole frame and the first split frame size the buffers.
  ASSERT_EQ(p.b.open(wire.data(), frame + 500, fn, why), kOk);
  ASSERT_EQ(p.b.open(wire.data() + frame + 500, frame - 500, fn, why), kOk);
  size_t allocs;
  {
    AllocCounter count;
    // Whole frames, and frames split across reads at an odd place.
    for (size_t off = 2 * frame; off < wire.size(); off += 777)
      ASSERT_EQ(p.b.open(wire.data() + off, std::min<size_t>(777, wire.size() - off), fn, why),
                kOk);
    allocs = count.allocs();
  }
  EXPECT_EQ(frames, 200u);
  EXPECT_EQ(allocs, 0u);
}

}  // namespace
}  // namespace chord::crypto
