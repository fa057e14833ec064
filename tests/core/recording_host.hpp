// SPDX-License-Identifier: MIT
// A core::Host that records what the core asks of it, with a clock the test
// moves by hand: node_test.cpp and modules_test.cpp drive the core with it;
// and b("text"), the bytes of a string.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/node.hpp"
#include "sim/seeded_keys.hpp"

namespace chord::core::test {

class RecordingHost : public Host {
 public:
  uint64_t now = 1000;
  uint64_t rng = 1;
  std::vector<std::pair<Peer, wire::Message>> sent;
  std::vector<Event> events;
  uint64_t now_ms() override { return now; }
  uint64_t wall_ms() override { return 1796083200000ull + now; }
  uint64_t random_u64() override { return rng = rng * 6364136223846793005ull + 1; }
  void send(const Peer& to, wire::Message&& m) override { sent.emplace_back(to, std::move(m)); }
  void emit(Event&& ev) override { events.push_back(std::move(ev)); }
  void log(int, const std::string&) override {}
  // Signs as self_id; checks against the seeded key of any id (sim::SeededKeys).
  core::Id self_id{};
  sim::SeededKeys keys;
  void sign(const Bytes& msg, wire::PublicKey& pk, wire::Signature& sig) override {
    keys.sign(self_id, msg, pk, sig);
  }
  bool verify(const Id& id, const wire::PublicKey& pk, const Bytes& msg,
              const wire::Signature& sig) override {
    return keys.verify(id, pk, msg, sig);
  }

  // The messages of type T sent so far, with their destinations.
  template <class T>
  std::vector<std::pair<Peer, wire::Message>> sent_of() const {
    std::vector<std::pair<Peer, wire::Message>> out;
    for (const auto& [to, m] : sent)
      if (std::holds_alternative<T>(m.body)) out.emplace_back(to, m);
    return out;
  }
};

inline Bytes b(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

}  // namespace chord::core::test
