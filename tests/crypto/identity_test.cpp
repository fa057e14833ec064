// SPDX-License-Identifier: MIT
#include "crypto/identity.hpp"

#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "wire/status.hpp"

namespace chord::crypto {
namespace {

class IdentityFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/chord-identity-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/node.id";
  }
  void TearDown() override {
    std::remove(path_.c_str());
    rmdir(dir_.c_str());
  }
  void write_raw(const std::string &bytes) {
    std::ofstream f(path_, std::ios::binary | std::ios::trunc);
    f << bytes;
  }
  std::string read_raw() {
    std::ifstream f(path_, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
  std::string dir_, path_;
};

TEST(Identity, id_is_blake2b_of_public_key) {
  Identity a;
  ASSERT_EQ(identity_generate(a), kOk);
  Id expect{};
  crypto_generichash(expect.data(), 32, a.public_key.data(), 32, nullptr, 0);
  EXPECT_EQ(a.id, expect);
  EXPECT_EQ(id_of_public_key(a.public_key), expect);
}

TEST(Identity, generated_key_signs_and_verifies) {
  Identity a;
  ASSERT_EQ(identity_generate(a), kOk);
  uint8_t sig[crypto_sign_BYTES];
  const uint8_t msg[] = "hello";
  crypto_sign_detached(sig, nullptr, msg, sizeof msg, a.secret_key.data());
  EXPECT_EQ(crypto_sign_verify_detached(sig, msg, sizeof msg, a.public_key.data()), 0);
}

TEST(Identity, two_generated_identities_differ) {
  Identity a, b;
  ASSERT_EQ(identity_generate(a), kOk);
  ASSERT_EQ(identity_generate(b), kOk);
  EXPECT_NE(a.id, b.id);
}

TEST_F(IdentityFile, is_created_with_mode_0600) {
  Identity a;
  std::string err;
  ASSERT_EQ(identity_load_or_create(path_, a, err), kOk) << err;
  struct stat st {};
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 72);
  EXPECT_EQ(read_raw().substr(0, 8), "CHORDID1");
}

TEST_F(IdentityFile, is_created_0600_even_with_a_permissive_umask) {
  mode_t old = umask(0);
  Identity a;
  std::string err;
  int rc = identity_load_or_create(path_, a, err);
  umask(old);
  ASSERT_EQ(rc, kOk) << err;
  struct stat st {};
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(IdentityFile, reload_gives_the_same_identity) {
  Identity a, b;
  std::string err;
  ASSERT_EQ(identity_load_or_create(path_, a, err), kOk) << err;
  ASSERT_EQ(identity_load_or_create(path_, b, err), kOk) << err;
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.public_key, b.public_key);
  EXPECT_EQ(a.secret_key, b.secret_key);
}

TEST_F(IdentityFile, leaves_no_temporary_file_behind) {
  Identity a;
  std::string err;
  ASSERT_EQ(identity_load_or_create(path_, a, err), kOk) << err;
  std::remove(path_.c_str());
  EXPECT_EQ(rmdir(dir_.c_str()), 0) << "directory not empty";
  ASSERT_EQ(mkdir(dir_.c_str(), 0700), 0);
}

TEST_F(IdentityFile, concurrent_creators_agree_on_one_identity) {
  constexpr int kThreads = 8;
  std::vector<Identity> ids(kThreads);
  std::vector<int> rcs(kThreads, -1);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      std::string err;
      rcs[t] = identity_load_or_create(path_, ids[t], err);
    });
  for (auto &th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(rcs[t], kOk) << "thread " << t;
    EXPECT_EQ(ids[t].id, ids[0].id) << "thread " << t;
  }
  Identity reloaded;
  std::string err;
  ASSERT_EQ(identity_load_or_create(path_, reloaded, err), kOk) << err;
  EXPECT_EQ(reloaded.id, ids[0].id);
}

TEST_F(IdentityFile, garbage_file_is_refused_with_kio) {
  write_raw("this is not a key");
  Identity a;
  std::string err;
  EXPECT_EQ(identity_load_or_create(path_, a, err), kIo);
  EXPECT_NE(err.find(path_), std::string::npos) << err;
  EXPECT_EQ(read_raw(), "this is not a key") << "a bad file must not be overwritten";
}

TEST_F(IdentityFile, right_size_with_bad_magic_is_refused) {
  write_raw(std::string(72, 'x'));
  Identity a;
  std::string err;
  EXPECT_EQ(identity_load_or_create(path_, a, err), kIo);
  EXPECT_NE(err.find("magic"), std::string::npos) << err;
}

TEST_F(IdentityFile, unknown_version_is_refused) {
  Identity a;
  std::string err;
  ASSERT_EQ(identity_load_or_create(path_, a, err), kOk) << err;
  std::string raw = read_raw();
  raw[7] = '9';
  write_raw(raw);
  EXPECT_EQ(identity_load_or_create(path_, a, err), kIo);
  EXPECT_NE(err.find("version"), std::string::npos) << err;
}

TEST_F(IdentityFile, corrupted_seed_is_refused) {
  Identity a;
  std::string err;
  ASSERT_EQ(identity_load_or_create(path_, a, err), kOk) << err;
  std::string raw = read_raw();
  raw[8 + 5] ^= 1;
  write_raw(raw);
  Identity b;
  EXPECT_EQ(identity_load_or_create(path_, b, err), kIo);
  EXPECT_NE(err.find("corrupt"), std::string::npos) << err;
}

TEST_F(IdentityFile, unwritable_directory_is_kio) {
  Identity a;
  std::string err;
  EXPECT_EQ(identity_load_or_create(dir_ + "/missing/sub/node.id", a, err), kIo);
  EXPECT_FALSE(err.empty());
}

}  // namespace
}  // namespace chord::crypto
