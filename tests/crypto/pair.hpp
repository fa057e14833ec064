// SPDX-License-Identifier: MIT
// Two handshakes wired back to back, for the crypto tests.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "crypto/handshake.hpp"

namespace chord::crypto::testing {

struct Result {
  int init_rc = 0, resp_rc = 0;
  std::string init_why, resp_why;
};

// Moves bytes between a and b until neither has anything to say, feeding
// chunk bytes at a time (0: everything at once). mutate (may be empty) sees
// each message before delivery: (message index, bytes).
template <class Mutate>
Result run_pair(Handshake &init, Handshake &resp, size_t chunk, Mutate mutate) {
  Result r;
  int index = 0;
  auto deliver = [&](Handshake &to, std::vector<uint8_t> msg, int &rc, std::string &why) {
    mutate(index++, msg);
    size_t step = chunk == 0 ? msg.size() : chunk;
    for (size_t off = 0; off < msg.size() && rc == 0; off += step)
      rc = to.feed(msg.data() + off, std::min(step, msg.size() - off), why);
  };
  for (int round = 0; round < 8; ++round) {  // three messages; bounded anyway
    std::vector<uint8_t> a = init.take_output();
    bool sent_a = !a.empty();
    if (sent_a && r.resp_rc == 0) deliver(resp, std::move(a), r.resp_rc, r.resp_why);
    std::vector<uint8_t> b = resp.take_output();
    bool sent_b = !b.empty();
    if (sent_b && r.init_rc == 0) deliver(init, std::move(b), r.init_rc, r.init_why);
    if (!sent_a && !sent_b) break;
  }
  return r;
}

inline Result run_pair(Handshake &init, Handshake &resp, size_t chunk = 0) {
  return run_pair(init, resp, chunk, [](int, std::vector<uint8_t> &) {});
}

}  // namespace chord::crypto::testing
