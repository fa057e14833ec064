// SPDX-License-Identifier: MIT
// The LMDB engine's data folder: what survives a close, which folders are
// refused and with what, and a full map.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <lmdb.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include "store/lmdb_store.hpp"
#include "store_test_util.hpp"
#include "wire/status.hpp"

namespace chord::store {
namespace {

using core::Bytes;
using core::StoredRecord;
using test::TempDir;

wire::Id at(uint8_t hi) {
  wire::Id id{};
  id[0] = hi;
  return id;
}

StoredRecord rec(size_t n, uint64_t hlc = 1) {
  StoredRecord r;
  r.value.assign(n, 'v');
  r.ver.hlc = hlc;
  return r;
}

// Puts records of 64 KiB at positions first, first + 1, ... until one
// fails or `last` is passed; the code of the last put. *stored: how many
// went in.
int fill(LmdbStore& s, uint8_t first, uint8_t last, uint8_t* stored = nullptr) {
  int rc = kOk;
  uint8_t n = first;
  for (; rc == kOk && n <= last; n++) rc = s.put(at(n), {n}, rec(64 * 1024));
  if (stored) *stored = static_cast<uint8_t>(n - first - (rc == kOk ? 0 : 1));
  return rc;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// Sets the meta record "format" of the folder's LMDB file, as a newer
// release would.
void set_format(const std::string& dir, uint32_t format) {
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  ASSERT_EQ(mdb_env_set_maxdbs(env, 2), 0);
  ASSERT_EQ(mdb_env_open(env, dir.c_str(), 0, 0600), 0);
  MDB_txn* txn = nullptr;
  MDB_dbi meta = 0;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  ASSERT_EQ(mdb_dbi_open(txn, "meta", 0, &meta), 0);
  uint8_t v[4] = {static_cast<uint8_t>(format), static_cast<uint8_t>(format >> 8),
                  static_cast<uint8_t>(format >> 16), static_cast<uint8_t>(format >> 24)};
  MDB_val k{6, const_cast<char*>("format")}, d{4, v};
  ASSERT_EQ(mdb_put(txn, meta, &k, &d, 0), 0);
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

TEST(LmdbFolder, records_and_tombstones_survive_close_and_reopen) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/data";
  size_t bytes = 0;
  {
    Opened o = open_lmdb_store(dir);
    ASSERT_EQ(o.status, kOk) << o.error;
    ASSERT_EQ(o.store->put(at(1), {1}, rec(10, 7)), kOk);
    StoredRecord t = rec(0, 8);
    t.tomb = true;
    ASSERT_EQ(o.store->put(at(2), {2}, t), kOk);
    ASSERT_EQ(o.store->put(at(3), Bytes(700, 'k'), rec(3)), kOk);  // a long key
    bytes = o.store->bytes();
  }
  Opened o = open_lmdb_store(dir);
  ASSERT_EQ(o.status, kOk) << o.error;
  EXPECT_EQ(o.store->size(), 3u);
  EXPECT_EQ(o.store->bytes(), bytes);
  ASSERT_NE(o.store->get(at(1), {1}), nullptr);
  EXPECT_EQ(o.store->get(at(1), {1})->ver.hlc, 7u);
  ASSERT_NE(o.store->get(at(2), {2}), nullptr);
  EXPECT_TRUE(o.store->get(at(2), {2})->tomb);
  EXPECT_NE(o.store->get(at(3), Bytes(700, 'k')), nullptr);
}

TEST(LmdbFolder, a_missing_folder_is_created_private) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/new";
  Opened o = open_lmdb_store(dir);
  ASSERT_EQ(o.status, kOk) << o.error;
  struct stat st;
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(stat((dir + "/data.mdb").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u);
}

TEST(LmdbFolder, a_folder_whose_parent_is_missing_is_refused) {
  TempDir tmp;
  Opened o = open_lmdb_store(tmp.path() + "/no/such");
  EXPECT_EQ(o.status, kIo);
  EXPECT_NE(o.error.find("cannot create data folder"), std::string::npos) << o.error;
  EXPECT_EQ(o.store, nullptr);
}

TEST(LmdbFolder, a_path_that_is_not_a_directory_is_refused) {
  TempDir tmp;
  const std::string file = tmp.path() + "/file";
  write_file(file, "x");
  Opened o = open_lmdb_store(file);
  EXPECT_EQ(o.status, kInval);
  EXPECT_EQ(o.error, "data folder " + file + " is not a directory");
}

TEST(LmdbFolder, a_folder_of_a_newer_format_version_is_refused) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/data";
  ASSERT_EQ(open_lmdb_store(dir).status, kOk);
  set_format(dir, kFormatVersion + 1);
  Opened o = open_lmdb_store(dir);
  EXPECT_EQ(o.status, kInval);
  EXPECT_EQ(o.error, "data folder " + dir + " has format version 2, newer than this build reads " +
                         "(1): a newer libchord wrote it");
  set_format(dir, kFormatVersion);  // and the same folder back at ours opens
  EXPECT_EQ(open_lmdb_store(dir).status, kOk);
}

TEST(LmdbFolder, a_corrupt_data_file_is_refused) {
  TempDir tmp;
  const std::string dir = tmp.path();
  std::string junk(64 * 1024, '\0');
  for (size_t i = 0; i < junk.size(); i++) junk[i] = static_cast<char>(i * 131 + 7);
  write_file(dir + "/data.mdb", junk);
  Opened o = open_lmdb_store(dir);
  EXPECT_EQ(o.status, kInval);
  EXPECT_NE(o.error.find("not a store this build reads"), std::string::npos) << o.error;
  write_file(dir + "/data.mdb", "short");
  o = open_lmdb_store(dir);
  EXPECT_NE(o.status, kOk);
  EXPECT_EQ(o.store, nullptr);
}

TEST(LmdbFolder, another_programs_lmdb_file_is_refused) {
  TempDir tmp;
  const std::string dir = tmp.path();
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  ASSERT_EQ(mdb_env_open(env, dir.c_str(), 0, 0600), 0);
  MDB_txn* txn = nullptr;
  MDB_dbi main = 0;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  ASSERT_EQ(mdb_dbi_open(txn, nullptr, 0, &main), 0);
  MDB_val k{5, const_cast<char*>("hello")}, d{5, const_cast<char*>("world")};
  ASSERT_EQ(mdb_put(txn, main, &k, &d, 0), 0);
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
  Opened o = open_lmdb_store(dir);
  EXPECT_EQ(o.status, kInval);
  EXPECT_EQ(o.error, "data folder " + dir + " holds an LMDB database that is not a libchord store");
}

TEST(LmdbFolder, a_record_that_does_not_decode_reads_as_an_error_and_a_put_replaces_it) {
  TempDir tmp;
  ASSERT_EQ(open_lmdb_store(tmp.path()).status, kOk);
  {  // a value of a format this build does not know, as a bad disk might leave
    MDB_env* env = nullptr;
    ASSERT_EQ(mdb_env_create(&env), 0);
    ASSERT_EQ(mdb_env_set_maxdbs(env, 2), 0);
    ASSERT_EQ(mdb_env_open(env, tmp.path().c_str(), 0, 0600), 0);
    MDB_txn* txn = nullptr;
    MDB_dbi records = 0;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
    ASSERT_EQ(mdb_dbi_open(txn, "records", 0, &records), 0);
    const wire::Id pos = at(5);
    Bytes k(pos.begin(), pos.end());
    k.push_back(5);
    std::string junk(60, '\x09');
    MDB_val kv{k.size(), k.data()}, d{junk.size(), junk.data()};
    ASSERT_EQ(mdb_put(txn, records, &kv, &d, 0), 0);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
  }
  Opened o = open_lmdb_store(tmp.path());
  ASSERT_EQ(o.status, kOk) << o.error;
  ASSERT_EQ(o.store->put(at(4), {4}, rec(1)), kOk);
  ASSERT_EQ(o.store->put(at(6), {6}, rec(1)), kOk);
  EXPECT_EQ(o.store->get(at(5), {5}), nullptr);
  EXPECT_EQ(o.store->error(),
            "cannot read the store: the data file is corrupt (a page or a record does not decode)");
  EXPECT_EQ(o.store->failures(), 1u);
  // A scan skips it, says so, and goes on with the rest of the range.
  std::vector<uint8_t> visited;
  o.store->scan(at(0), at(0), nullptr, [&](const wire::Id& p, const Bytes&, const StoredRecord&) {
    visited.push_back(p[0]);
    return true;
  });
  EXPECT_EQ(visited, (std::vector<uint8_t>{4, 6}));
  EXPECT_EQ(o.store->failures(), 2u);
  EXPECT_EQ(o.store->error(),
            "cannot read 1 entries of the store, skipped: the data file is corrupt (a page or a "
            "record does not decode)");
  // A put replaces it (so does a repair by anti-entropy: get says absent).
  ASSERT_EQ(o.store->put(at(5), {5}, rec(1)), kOk) << o.store->error();
  ASSERT_NE(o.store->get(at(5), {5}), nullptr);
  EXPECT_EQ(o.store->get(at(5), {5})->value.size(), 1u);
}

TEST(LmdbFolder, a_folder_opens_once_at_a_time) {
  TempDir tmp;
  Opened first = open_lmdb_store(tmp.path());
  ASSERT_EQ(first.status, kOk) << first.error;
  Opened second = open_lmdb_store(tmp.path());
  EXPECT_EQ(second.status, kBusy);
  EXPECT_NE(second.error.find("is in use"), std::string::npos) << second.error;
  first.store.reset();
  EXPECT_EQ(open_lmdb_store(tmp.path()).status, kOk);
}

TEST(LmdbFolder, a_full_map_fails_the_write_cleanly_and_keeps_the_rest) {
  TempDir tmp;
  LmdbOptions opts;
  opts.map_bytes = opts.max_map_bytes = 1 << 20;
  Opened o = open_lmdb_store(tmp.path(), opts);
  ASSERT_EQ(o.status, kOk) << o.error;
  LmdbStore& s = *o.store;
  uint8_t stored = 0;
  ASSERT_EQ(fill(s, 0, 254, &stored), kNoMem) << "the map never filled";
  EXPECT_NE(s.error().find("the store is full"), std::string::npos) << s.error();
  EXPECT_EQ(s.failures(), 1u);
  EXPECT_EQ(s.size(), stored);
  EXPECT_EQ(s.get(at(stored), {stored}), nullptr);
  ASSERT_NE(s.get(at(0), {0}), nullptr);
  EXPECT_EQ(s.get(at(0), {0})->value.size(), 64u * 1024);
  // Space freed is space to write in again (LMDB reuses a page two commits
  // after the one that freed it: free a few).
  for (uint8_t i = 0; i < 4; i++) EXPECT_TRUE(s.erase(at(i), {i})) << s.error();
  EXPECT_EQ(s.put(at(stored), {stored}, rec(64 * 1024)), kOk) << s.error();
  EXPECT_EQ(s.size(), stored - 3u);
}

TEST(LmdbFolder, a_committed_batch_survives_reopen_and_an_open_one_is_dropped) {
  TempDir tmp;
  {
    Opened o = open_lmdb_store(tmp.path());
    ASSERT_EQ(o.status, kOk) << o.error;
    LmdbStore& s = *o.store;
    ASSERT_EQ(s.begin_batch(), kOk);
    EXPECT_EQ(s.begin_batch(), kInval);
    for (uint8_t n = 0; n < 10; n++) ASSERT_EQ(s.put(at(n), {n}, rec(8)), kOk);
    EXPECT_TRUE(s.erase(at(9), {9}));
    EXPECT_EQ(s.size(), 9u);
    ASSERT_EQ(s.commit_batch(), kOk) << s.error();
    EXPECT_FALSE(s.in_batch());
    EXPECT_EQ(s.commit_batch(), kInval);
    ASSERT_EQ(s.begin_batch(), kOk);
    ASSERT_EQ(s.put(at(20), {20}, rec(8)), kOk);
    s.clear();
    EXPECT_EQ(s.size(), 0u);
  }  // closed with the second batch open: as a crash before its commit
  Opened o = open_lmdb_store(tmp.path());
  ASSERT_EQ(o.status, kOk) << o.error;
  EXPECT_EQ(o.store->size(), 9u);
  EXPECT_EQ(o.store->bytes(), 9 * (1 + 8 + core::Store::kRecordOverhead));
  EXPECT_NE(o.store->get(at(8), {8}), nullptr);
  EXPECT_EQ(o.store->get(at(9), {9}), nullptr);
  EXPECT_EQ(o.store->get(at(20), {20}), nullptr);
}

// 64 records of 64 KiB in a map of 1 MiB that may grow to 8: one a
// transaction, or all in one batch (written again into each larger map).
TEST(LmdbFolder, the_map_grows_up_to_its_bound_alone_or_in_a_batch) {
  for (bool batch : {false, true}) {
    SCOPED_TRACE(batch ? "in a batch" : "alone");
    TempDir tmp;
    LmdbOptions opts;
    opts.map_bytes = 1 << 20;
    opts.max_map_bytes = 8 << 20;
    {
      Opened o = open_lmdb_store(tmp.path(), opts);
      ASSERT_EQ(o.status, kOk) << o.error;
      if (batch) {
        ASSERT_EQ(o.store->begin_batch(), kOk);
      }
      for (uint8_t n = 0; n < 64; n++)
        ASSERT_EQ(o.store->put(at(n), {n}, rec(64 * 1024)), kOk) << +n << o.store->error();
      if (batch) {
        ASSERT_EQ(o.store->commit_batch(), kOk) << o.store->error();
      }
      EXPECT_GT(o.store->map_bytes(), 1u << 20);
      EXPECT_LE(o.store->map_bytes(), 8u << 20);
      EXPECT_EQ(o.store->failures(), 0u);
    }
    Opened o = open_lmdb_store(tmp.path(), opts);
    ASSERT_EQ(o.status, kOk) << o.error;
    EXPECT_EQ(o.store->size(), 64u);
    ASSERT_NE(o.store->get(at(63), {63}), nullptr);
    EXPECT_EQ(o.store->get(at(63), {63})->value.size(), 64u * 1024);
  }
}

TEST(LmdbFolder, a_full_map_in_a_batch_fails_that_write_and_keeps_the_others) {
  TempDir tmp;
  LmdbOptions opts;
  opts.map_bytes = opts.max_map_bytes = 1 << 20;
  uint8_t stored = 0;
  {
    Opened o = open_lmdb_store(tmp.path(), opts);
    ASSERT_EQ(o.status, kOk) << o.error;
    LmdbStore& s = *o.store;
    ASSERT_EQ(s.begin_batch(), kOk);
    ASSERT_EQ(fill(s, 0, 254, &stored), kNoMem) << "the map never filled";
    EXPECT_NE(s.error().find("the store is full"), std::string::npos) << s.error();
    EXPECT_EQ(s.size(), stored);
    EXPECT_EQ(s.get(at(stored), {stored}), nullptr);
    ASSERT_EQ(s.put(at(200), {200}, rec(8)), kOk) << s.error();  // a small one still fits
    ASSERT_EQ(s.commit_batch(), kOk) << s.error();
  }
  Opened o = open_lmdb_store(tmp.path(), opts);
  ASSERT_EQ(o.status, kOk) << o.error;
  EXPECT_EQ(o.store->size(), stored + 1u);
  EXPECT_NE(o.store->get(at(0), {0}), nullptr);
  EXPECT_NE(o.store->get(at(200), {200}), nullptr);
}

// A disk that refuses to grow the file (RLIMIT_FSIZE stands in for a full
// disk: EFBIG where a full one says ENOSPC): the write fails with kIo and
// says why, reads go on, and writes work again once the file may grow.
TEST(LmdbFolder, a_file_that_cannot_grow_fails_the_write_and_recovers) {
  TempDir tmp;
  Opened o = open_lmdb_store(tmp.path());
  ASSERT_EQ(o.status, kOk) << o.error;
  LmdbStore& s = *o.store;
  ASSERT_EQ(s.put(at(1), {1}, rec(100)), kOk);
  struct stat st;
  ASSERT_EQ(stat((tmp.path() + "/data.mdb").c_str(), &st), 0);
  struct rlimit old_limit, small;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  small = old_limit;
  small.rlim_cur = static_cast<rlim_t>(st.st_size);
  void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  const int rc = fill(s, 2, 40);
  const std::string why = s.error();
  const size_t size = s.size();
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  signal(SIGXFSZ, old_handler);
  EXPECT_EQ(rc, kIo);
  EXPECT_NE(why.find("cannot write to the store: File too large (the file system of"),
            std::string::npos)
      << why;
  ASSERT_NE(s.get(at(1), {1}), nullptr);
  EXPECT_EQ(s.get(at(1), {1})->value.size(), 100u);
  EXPECT_EQ(s.put(at(50), {50}, rec(64 * 1024)), kOk) << s.error();
  EXPECT_EQ(s.size(), size + 1);
  o.store.reset();
  Opened again = open_lmdb_store(tmp.path());
  ASSERT_EQ(again.status, kOk) << again.error;
  EXPECT_EQ(again.store->size(), size + 1);
  EXPECT_NE(again.store->get(at(50), {50}), nullptr);
}

// A small tmpfs of our own, unmounted afterwards; none without the right
// to mount (not root, or no CAP_SYS_ADMIN): the test is skipped.
class SmallDisk {
 public:
  explicit SmallDisk(const std::string& dir) : dir_(dir) {
    mounted_ = mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=2m,mode=0700") == 0;
  }
  ~SmallDisk() {
    if (mounted_) umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }

 private:
  std::string dir_;
  bool mounted_ = false;
};

TEST(LmdbFolder, a_full_disk_fails_writes_with_kio_and_they_work_again_once_space_is_freed) {
  TempDir tmp;
  SmallDisk disk(tmp.path());
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
  const std::string filler = tmp.path() + "/filler";
  write_file(filler, std::string(768 * 1024, 'f'));
  {
    LmdbOptions opts;
    opts.map_bytes = opts.max_map_bytes = 64 << 20;  // the disk fills first
    Opened o = open_lmdb_store(tmp.path() + "/data", opts);
    ASSERT_EQ(o.status, kOk) << o.error;
    LmdbStore& s = *o.store;
    ASSERT_EQ(fill(s, 0, 63), kIo) << "the disk never filled";
    // LMDB says EIO when the disk cuts a write short; the detail adds what is left.
    EXPECT_NE(s.error().find("bytes free)"), std::string::npos) << s.error();
    const size_t size = s.size();
    ASSERT_GT(size, 0u);
    ASSERT_NE(s.get(at(0), {0}), nullptr);  // reads go on
    ASSERT_EQ(unlink(filler.c_str()), 0);
    EXPECT_EQ(s.put(at(100), {100}, rec(64 * 1024)), kOk) << s.error();
    EXPECT_EQ(s.size(), size + 1);
  }
  Opened o = open_lmdb_store(tmp.path() + "/data");
  ASSERT_EQ(o.status, kOk) << o.error;
  EXPECT_NE(o.store->get(at(100), {100}), nullptr);
}

TEST(LmdbFolder, sync_flushes_a_relaxed_store) {
  TempDir tmp;
  LmdbOptions opts;
  opts.sync = Sync::none;
  {
    Opened o = open_lmdb_store(tmp.path(), opts);
    ASSERT_EQ(o.status, kOk) << o.error;
    ASSERT_EQ(o.store->put(at(1), {1}, rec(1)), kOk);
    EXPECT_EQ(o.store->sync(), kOk);
  }
  Opened o = open_lmdb_store(tmp.path());
  ASSERT_EQ(o.status, kOk) << o.error;
  EXPECT_NE(o.store->get(at(1), {1}), nullptr);
}

}  // namespace
}  // namespace chord::store
