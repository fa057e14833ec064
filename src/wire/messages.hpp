// Protocol messages and their encoding. Decoding never trusts its input: every
// length is checked against Limits before anything is allocated.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace chord::wire {

using Id = std::array<uint8_t, 32>;

struct Limits {
  size_t max_key = 1024;
  size_t max_value = 1 << 20;
  size_t max_frame = (1 << 20) + (1 << 16);
};

// TODO(core): the message structs and `struct Message` (a tagged union of them).
struct Message;

// Appends the encoding of m to out.
void encode(const Message& m, std::vector<uint8_t>& out);
// Decodes exactly one message from p[0..n). Returns 0, or kProto / kTooBig
// with a one-line why.
int decode(const uint8_t* p, size_t n, const Limits& lim, Message& out, std::string& why);

}  // namespace chord::wire
