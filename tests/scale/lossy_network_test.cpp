// SPDX-License-Identifier: MIT
// Message loss of 1 to 5 % with reordering (per-message jitter larger than
// the spread of link latencies) and every message through the wire codec.
// Every operation completes, with success or an error: none hangs, and none
// reads a value that was never written or that a later acknowledged write
// replaced.
#include <gtest/gtest.h>

#include <memory>
#include <set>

#include "scale_scenario.hpp"

namespace chord::sim {
namespace {

struct KeyState {
  bool busy = false;  // one operation per key at a time keeps the model exact
  bool has_acked = false;
  std::string acked;
  std::set<std::string> maybe;  // writes that failed since the last ack
  std::set<std::string> ever;
};

struct Tally {
  int started = 0, completed = 0, ok = 0, notfound = 0, errors = 0, stale = 0, wrong = 0;
  int late = 0;  // completed after their timeout (plus one RPC timeout)
  std::map<int, int> by_status;
};

class LossyNetwork : public ::testing::TestWithParam<double> {};

TEST_P(LossyNetwork, every_op_succeeds_or_errors_and_none_reads_a_wrong_value) {
  const double loss = GetParam();
  const uint64_t seed = scenario_seed(7600 + static_cast<uint64_t>(loss * 100));
  CHORD_SCENARIO_SEED(seed);
  Config cfg = scale_config(seed, 200);
  cfg.wire_roundtrip = true;
  cfg.jitter_ms = 40;      // more than the spread of link latencies: messages reorder
  cfg.fifo_links = false;  // even on one link, harsher than TCP
  Sim sim(cfg);
  ASSERT_EQ(grow_ring(sim, 32), "");
  ASSERT_TRUE(sim.run_until_ideal(60000)) << sim.check(true);

  const int nkeys = 100;
  const uint32_t timeout_ms = 3000;
  auto keys = std::make_shared<std::vector<KeyState>>(nkeys);
  auto tally = std::make_shared<Tally>();
  auto key_name = [](int k) { return "lossy-" + std::to_string(k); };
  sim.set_loss(loss);
  int seq = 0;
  for (int step = 0; step < 300; step++) {  // 30 s of simulated time
    std::vector<int> m = sim.members();
    for (int j = 0; j < 4; j++) {
      int k = static_cast<int>(sim.random_u64() % nkeys);
      KeyState &ks = (*keys)[k];
      if (ks.busy) continue;
      ks.busy = true;
      tally->started++;
      int via = m[sim.random_u64() % m.size()];
      const uint64_t t_start = sim.now();
      Sim *s = &sim;
      auto finish = [keys, tally, k, t_start, s, timeout_ms](int status) {
        (*keys)[k].busy = false;
        tally->completed++;
        tally->by_status[status]++;
        if (s->now() > t_start + timeout_ms + 1000) tally->late++;
      };
      if (sim.random_u64() % 3 == 0) {
        std::string v = "w" + std::to_string(seq++);
        ks.ever.insert(v);
        sim.node(via).set(Sim::bytes(key_name(k)), Sim::bytes(v), timeout_ms,
                          [keys, tally, k, v, finish](core::Result &&res) {
                            KeyState &st = (*keys)[k];
                            if (res.status == kOk) {
                              tally->ok++;
                              st.has_acked = true;
                              st.acked = v;
                              st.maybe.clear();
                            } else {
                              tally->errors++;
                              st.maybe.insert(v);
                            }
                            finish(res.status);
                          });
      } else {
        sim.node(via).get(Sim::bytes(key_name(k)), timeout_ms,
                          [keys, tally, k, finish](core::Result &&res) {
                            KeyState &st = (*keys)[k];
                            if (res.status == kOk) {
                              tally->ok++;
                              std::string v = Sim::str(res.value);
                              if (!st.ever.count(v))
                                tally->wrong++;
                              else if (!(st.has_acked && v == st.acked) && !st.maybe.count(v))
                                tally->stale++;
                            } else if (res.status == kNotFound) {
                              tally->notfound++;
                              if (st.has_acked) tally->stale++;
                            } else {
                              tally->errors++;
                            }
                            finish(res.status);
                          });
      }
    }
    sim.run_for(100);
  }
  sim.run_for(timeout_ms + 2000);  // every operation has had its time
  const Tally &t = *tally;
  std::string statuses;
  for (const auto &[st, n] : t.by_status)
    statuses += " " + std::to_string(st) + ":" + std::to_string(n);
  std::fprintf(stderr,
               "[ lossy    ] loss %.0f%%: %d ops, %d ok, %d notfound, %d errors (%.4f), %d "
               "stale, %d wrong, %d late; %llu of %llu messages dropped; by status%s\n",
               loss * 100, t.started, t.ok, t.notfound, t.errors,
               t.started ? static_cast<double>(t.errors) / t.started : 0.0, t.stale, t.wrong,
               t.late, static_cast<unsigned long long>(sim.messages_dropped()),
               static_cast<unsigned long long>(sim.messages_sent()), statuses.c_str());
  EXPECT_EQ(t.completed, t.started) << "an operation never completed";
  EXPECT_EQ(t.late, 0) << "an operation outlived its timeout";
  EXPECT_EQ(t.wrong, 0);
  EXPECT_EQ(t.stale, 0);
  EXPECT_GT(t.ok + t.notfound, t.started * 9 / 10) << "errors should stay rare";
  for (const auto &[st, n] : t.by_status)
    EXPECT_TRUE(st == kOk || st == kNotFound || st == kTimedOut || st == kNoQuorum ||
                st == kUnreachable || st == kBusy)
        << "unexpected status " << st;
  // The loss stops: the ring is whole again.
  sim.set_loss(0);
  EXPECT_TRUE(sim.run_until_ideal(60000)) << sim.check(true);
  EXPECT_EQ(sim.violation(), "");
}

INSTANTIATE_TEST_SUITE_P(Loss, LossyNetwork, ::testing::Values(0.01, 0.03, 0.05),
                         [](const ::testing::TestParamInfo<double> &p) {
                           return "loss_" + std::to_string(static_cast<int>(p.param * 100)) + "pct";
                         });

}  // namespace
}  // namespace chord::sim
