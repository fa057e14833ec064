// SPDX-License-Identifier: MIT
// The LMDB engine under kill -9: a child process writes and reports each
// write once the store has acknowledged it; the parent kills it at a random
// moment, reopens the folder and checks every acknowledged write.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "store/lmdb_store.hpp"
#include "store_test_util.hpp"
#include "wire/status.hpp"

namespace chord::store {
namespace {

using core::Bytes;
using core::StoredRecord;

wire::Id pos_of(uint64_t i) {
  wire::Id id{};
  for (int b = 0; b < 8; b++) id[b] = static_cast<uint8_t>(i >> (56 - 8 * b));
  id[8] = static_cast<uint8_t>(i * 131);  // spread over the ring
  return id;
}
Bytes key_of(uint64_t i) {
  const std::string s = "key-" + std::to_string(i);
  return Bytes(s.begin(), s.end());
}
StoredRecord rec_of(uint64_t i) {
  StoredRecord r;
  const std::string v = "value-" + std::to_string(i);
  r.value.assign(v.begin(), v.end());
  r.ver.hlc = i;
  return r;
}

// The child: writes records from `from` on (in batches of `batch` if
// non-zero) and reports each index on fd once it is acknowledged.
[[noreturn]] void writer(const std::string& dir, Sync sync, size_t batch, uint64_t from, int fd) {
  LmdbOptions opts;
  opts.sync = sync;
  Opened o = open_lmdb_store(dir, opts);
  if (o.status != kOk) _exit(3);
  LmdbStore& s = *o.store;
  for (uint64_t i = from;; i += batch ? batch : 1) {
    const uint64_t n = batch ? batch : 1;
    if (batch && s.begin_batch() != kOk) _exit(4);
    for (uint64_t j = i; j < i + n; j++)
      if (s.put(pos_of(j), key_of(j), rec_of(j)) != kOk) _exit(5);
    if (batch && s.commit_batch() != kOk) _exit(6);
    for (uint64_t j = i; j < i + n; j++)
      if (write(fd, &j, sizeof j) != sizeof j) _exit(7);
  }
}

TEST(LmdbCrash, every_acknowledged_write_survives_a_kill_9_at_a_random_moment) {
  test::TempDir tmp;
  const std::string dir = tmp.path() + "/data";
  std::mt19937_64 rng(15);
  std::vector<uint64_t> acked;
  uint64_t next = 0;
  const int kKills = 30;
  for (int kill_no = 0; kill_no < kKills; kill_no++) {
    // A commit per put and fsync; a batch of 16 per commit and fsync; a
    // commit per put without fsync (a process crash loses nothing either).
    const Sync sync = kill_no % 3 == 2 ? Sync::none : Sync::full;
    const size_t batch = kill_no % 3 == 1 ? 16 : 0;
    SCOPED_TRACE("kill " + std::to_string(kill_no));
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(fds[0]);
      writer(dir, sync, batch, next, fds[1]);
    }
    close(fds[1]);
    std::this_thread::sleep_for(std::chrono::microseconds(2000 + rng() % 30000));
    ASSERT_EQ(kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer exited by itself, code " << WEXITSTATUS(status);
    uint64_t i;
    while (read(fds[0], &i, sizeof i) == sizeof i) {
      acked.push_back(i);
      next = std::max(next, i + 1);
    }
    close(fds[0]);
    if (batch) next += batch;  // past a batch that may be half reported

    Opened o = open_lmdb_store(dir);
    ASSERT_EQ(o.status, kOk) << o.error;
    for (uint64_t a : acked) {
      const StoredRecord* r = o.store->get(pos_of(a), key_of(a));
      ASSERT_NE(r, nullptr) << "acknowledged write " << a << " is gone";
      ASSERT_EQ(r->value, rec_of(a).value);
    }
    size_t seen = 0, bytes = 0;
    o.store->scan(wire::Id{}, wire::Id{}, nullptr,
                  [&](const wire::Id&, const Bytes& k, const StoredRecord& r) {
                    seen++;
                    bytes += core::Store::record_bytes(k, r);
                    return true;
                  });
    EXPECT_EQ(o.store->size(), seen);  // the counters commit with the records
    EXPECT_EQ(o.store->bytes(), bytes);
  }
  EXPECT_GT(acked.size(), static_cast<size_t>(kKills));  // the writers got somewhere
  std::printf("%d kills, %zu acknowledged writes, all present\n", kKills, acked.size());
}

}  // namespace
}  // namespace chord::store
