// SPDX-License-Identifier: MIT
// chord-store-bench: the latency of Store::put and get on each engine and
// sync policy: one put per transaction as the core calls it today; Sync::none
// with one sync() per group of puts; and group commit, a batch of puts per
// transaction under Sync::full (what the host will drive, one batch a loop
// turn). The folder must be on the disk to measure (not a tmpfs).
//
//   chord-store-bench [--dir DIR] [--puts N] [--value-bytes B] [--group G]
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/store.hpp"
#include "store/lmdb_store.hpp"
#include "wire/status.hpp"

namespace {

using chord::core::Bytes;
using chord::core::Store;
using chord::core::StoredRecord;
using Clock = std::chrono::steady_clock;

struct Figures {
  double p50 = 0, p99 = 0, mean = 0;
};

Figures figures(std::vector<double> us) {
  Figures f;
  if (us.empty()) return f;
  std::sort(us.begin(), us.end());
  f.p50 = us[us.size() / 2];
  f.p99 = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  for (double u : us) f.mean += u;
  f.mean /= static_cast<double>(us.size());
  return f;
}

struct Run {
  Figures put, get;
  double scan_ns = 0;  // a whole-ring scan, per record (what a digest pays)
  bool ok = true;
};

// N puts of fresh keys, then N gets; group > 0 calls flush after every group
// puts and counts its time in the put that closed the group.
template <typename Flush>
Run measure(Store& s, size_t n, size_t value_bytes, size_t group, Flush flush) {
  std::mt19937_64 rng(15);
  std::vector<std::pair<chord::wire::Id, Bytes>> keys(n);
  for (auto& [pos, key] : keys) {
    for (auto& b : pos) b = static_cast<uint8_t>(rng());
    key.resize(16);
    for (auto& b : key) b = static_cast<uint8_t>(rng());
  }
  Run r;
  std::vector<double> put_us, get_us;
  for (size_t i = 0; i < n; i++) {
    StoredRecord rec;
    rec.value.assign(value_bytes, 'v');
    rec.ver.hlc = i + 1;
    const auto t0 = Clock::now();
    r.ok = r.ok && s.put(keys[i].first, keys[i].second, std::move(rec)) == chord::kOk;
    if (group && ((i + 1) % group == 0 || i + 1 == n)) r.ok = r.ok && flush();
    put_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  for (size_t i = 0; i < n; i++) {
    const auto t0 = Clock::now();
    r.ok = r.ok && s.get(keys[i].first, keys[i].second) != nullptr;
    get_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  size_t seen = 0;
  const auto t0 = Clock::now();
  s.scan(chord::wire::Id{}, chord::wire::Id{}, nullptr,
         [&](const chord::wire::Id&, const Bytes&, const StoredRecord&) { return ++seen; });
  r.scan_ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count() /
              static_cast<double>(std::max<size_t>(seen, 1));
  r.ok = r.ok && seen == n;
  r.put = figures(std::move(put_us));
  r.get = figures(std::move(get_us));
  return r;
}

void print(const char* name, const Run& r) {
  const double per = r.put.mean;
  std::printf("%-31s %9.1f %9.1f %9.1f %10.0f %9.2f %9.2f %9.0f%s\n", name, r.put.p50, r.put.p99,
              per, per > 0 ? 1e6 / per : 0, r.get.p50, r.get.p99, r.scan_ns,
              r.ok ? "" : "  (failures!)");
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  size_t n = 2000, value_bytes = 32, group = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--dir")
      dir = argv[i + 1];
    else if (a == "--puts")
      n = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--value-bytes")
      value_bytes = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--group")
      group = std::strtoull(argv[i + 1], nullptr, 10);
    else {
      std::fprintf(stderr, "usage: %s [--dir DIR] [--puts N] [--value-bytes B] [--group G]\n",
                   argv[0]);
      return 2;
    }
  }
  const bool own_dir = dir.empty();
  std::error_code ec;
  if (!own_dir) std::filesystem::create_directories(dir, ec);
  if (own_dir) {
    std::string tmpl = std::filesystem::current_path().string() + "/chord-store-bench-XXXXXX";
    if (!mkdtemp(tmpl.data())) {
      std::perror("mkdtemp");
      return 1;
    }
    dir = tmpl;
  }
  std::printf("%zu puts of %zu-byte values, 16-byte keys, in %s\n", n, value_bytes, dir.c_str());
  std::printf("%-31s %9s %9s %9s %10s %9s %9s %9s\n", "engine", "put p50", "put p99", "put mean",
              "puts/s", "get p50", "get p99", "scan");
  std::printf("%-31s %9s %9s %9s %10s %9s %9s %9s\n", "", "(us)", "(us)", "(us)", "", "(us)",
              "(us)", "(ns/rec)");
  int rc = 0;
  {
    auto mem = chord::core::make_memory_store();
    print("memory", measure(*mem, n, value_bytes, 0, [] { return true; }));
  }
  enum Mode { alone, sync_each_group, batch };
  struct Policy {
    const char* name;
    chord::store::Sync sync;
    Mode mode;
  } policies[] = {{"lmdb full sync", chord::store::Sync::full, alone},
                  {"lmdb no_meta_sync", chord::store::Sync::no_meta_sync, alone},
                  {"lmdb none (no fsync)", chord::store::Sync::none, alone},
                  {"lmdb none + sync()/group", chord::store::Sync::none, sync_each_group},
                  {"lmdb full sync, batch of", chord::store::Sync::full, batch},
                  {"lmdb no_meta_sync, batch of", chord::store::Sync::no_meta_sync, batch}};
  int k = 0;
  for (const Policy& p : policies) {
    const std::string sub = dir + "/" + std::to_string(k++);
    chord::store::LmdbOptions opts;
    opts.sync = p.sync;
    chord::store::Opened o = chord::store::open_lmdb_store(sub, opts);
    if (o.status != chord::kOk) {
      std::fprintf(stderr, "%s\n", o.error.c_str());
      rc = 1;
      break;
    }
    chord::store::LmdbStore& s = *o.store;
    if (p.mode == batch && s.begin_batch() != chord::kOk) rc = 1;
    // A group's last put pays for the sync (or the batch's commit).
    Run r = measure(s, n, value_bytes, p.mode == alone ? 0 : group, [&s, &p] {
      if (p.mode == sync_each_group) return s.sync() == chord::kOk;
      return s.commit_batch() == chord::kOk && s.begin_batch() == chord::kOk;
    });
    if (p.mode == batch && s.commit_batch() != chord::kOk) rc = 1;
    std::string name = p.name;
    if (p.mode != alone) name += " " + std::to_string(group);
    print(name.c_str(), r);
    if (!r.ok) rc = 1;
  }
  if (own_dir) std::filesystem::remove_all(dir);
  return rc;
}
