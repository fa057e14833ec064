// SPDX-License-Identifier: MIT
// libFuzzer target for the wire decoder: arbitrary bytes must never crash it;
// whatever decodes must re-encode to bytes that decode to the same encoding.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "wire/messages.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  chord::wire::Limits lim;
  lim.max_key = 64;  // small limits reach the limit checks more often
  lim.max_value = 4096;
  lim.max_frame = 1 << 16;
  chord::wire::Message m;
  std::string why;
  if (chord::wire::decode(data, size, lim, m, why) != 0) {
    if (why.empty()) std::abort();  // a refusal always says why
    return 0;
  }
  std::vector<uint8_t> once;
  chord::wire::encode(m, once);
  // The encoding is canonical: a decoded frame re-encodes to itself.
  if (once.size() != size || !std::equal(once.begin(), once.end(), data)) std::abort();
  chord::wire::Message again;
  if (chord::wire::decode(once.data(), once.size(), lim, again, why) != 0) std::abort();
  std::vector<uint8_t> twice;
  chord::wire::encode(again, twice);
  if (twice != once) std::abort();
  return 0;
}
