// SPDX-License-Identifier: MIT
// libFuzzer target for the handshake's hello (wire/hello.hpp): arbitrary
// payloads never crash the reader, a refusal says why, and what it reads
// re-encodes to the bytes it read (fields a newer format appends excepted),
// with a consistent range and an address the wire can carry.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "wire/hello.hpp"
#include "wire/messages.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> in(data, data + size);
  chord::wire::Hello h;
  std::string why;
  if (!chord::wire::decode_hello(in, h, why)) {
    if (why.empty()) std::abort();
    return 0;
  }
  if (h.proto_min == 0 || h.proto_min > h.proto_max) std::abort();
  if (h.addr.size() > chord::wire::kMaxAddr) std::abort();
  std::vector<uint8_t> once = chord::wire::encode_hello(h);
  // Format 1's bytes are a prefix of what was read (the format byte aside:
  // a newer one is read as format 1).
  if (once.size() > size) std::abort();
  for (size_t i = 0; i < once.size(); i++)
    if (i != 1 && once[i] != data[i]) std::abort();
  chord::wire::Hello again;
  if (!chord::wire::decode_hello(once, again, why)) std::abort();
  if (again.proto_min != h.proto_min || again.proto_max != h.proto_max ||
      again.features != h.features || again.addr != h.addr)
    std::abort();
  return 0;
}
