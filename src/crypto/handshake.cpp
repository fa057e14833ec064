// SPDX-License-Identifier: MIT
// The handshake: a SIGMA-I style exchange over X25519 ephemerals, keyed by a
// network pre-shared key as in Scuttlebutt's Secret Handshake. The byte layout,
// keys and labels are in docs/protocol.md; keep the two in step.
//
//   1. I -> R  hello  e_i || BLAKE2b(key=psk, "libchord v1 hello" || e_i)
//   2. R -> I  reply  e_r || AEAD(k_r, ad=h2, pk_r || len || payload || sig_r)
//   3. I -> R  proof        AEAD(k_i, ad=h3, pk_i || len || payload || sig_i)
#include "crypto/handshake.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "wire/status.hpp"
#include "crypto/aead_channel.hpp"

namespace chord::crypto {
namespace {

using Key = std::array<uint8_t, 32>;

constexpr char kPskLabel[] = "libchord v1";
constexpr char kHelloLabel[] = "libchord v1 hello";
constexpr char kTranscriptLabel[] = "libchord v1 transcript";
constexpr char kResponderSigLabel[] = "libchord v1 responder";
constexpr char kInitiatorSigLabel[] = "libchord v1 initiator";
constexpr char kSessionLabel[] = "libchord v1 session";
constexpr char kHandshakeKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "chordhs1";
constexpr char kChannelKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "chordch1";

// The identity block carried encrypted in messages 2 and 3.
constexpr size_t kPkBytes = crypto_sign_PUBLICKEYBYTES;
constexpr size_t kSigBytes = crypto_sign_BYTES;
constexpr size_t kSignedBytes = kPkBytes + 2 + kMaxHandshakePayload;  // pk || len || payload
constexpr size_t kIdentityBytes = kSignedBytes + kSigBytes;
constexpr size_t kBoxBytes = kIdentityBytes + crypto_aead_chacha20poly1305_ietf_ABYTES;
static_assert(kHandshakeHelloBytes == 32 + 32);
static_assert(kHandshakeReplyBytes == 32 + kBoxBytes);
static_assert(kHandshakeProofBytes == kBoxBytes);

template <size_t N>
void wipe(std::array<uint8_t, N> &a) {
  sodium_memzero(a.data(), a.size());
}

// BLAKE2b-256 of the concatenation of parts, optionally keyed.
struct Part {
  const void *p;
  size_t n;
};
Key hash(const Key *key, std::initializer_list<Part> parts) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, key ? key->data() : nullptr, key ? key->size() : 0, 32);
  for (const Part &part : parts)
    crypto_generichash_update(&st, static_cast<const uint8_t *>(part.p), part.n);
  Key out{};
  crypto_generichash_final(&st, out.data(), out.size());
  sodium_memzero(&st, sizeof st);
  return out;
}
Part label(const char *s) {
  return {s, std::strlen(s)};
}
Part bytes(const Key &k) {
  return {k.data(), k.size()};
}

Key kdf(const Key &master, uint64_t id, const char *ctx) {
  Key out{};
  crypto_kdf_derive_from_key(out.data(), out.size(), id, ctx, master.data());
  return out;
}

std::string short_hex(const Id &id) {
  char hex[2 * 8 + 1];
  sodium_bin2hex(hex, sizeof hex, id.data(), 8);
  return std::string(hex) + "...";
}

}  // namespace

std::string refusal_reason(const std::string &network, bool has_key) {
  return "handshake refused: the peer is not of network '" + network + "' or " +
         (has_key ? "holds another network key" : "requires a network key");
}

struct Handshake::Impl {
  bool initiator;
  HandshakeConfig cfg;
  State state = State::InProgress;
  int rc = kOk;
  std::string why;

  Key psk{};
  Key e_pk{}, e_sk{};  // our ephemeral X25519 pair
  Key peer_e{};
  Key h{};                 // transcript hash so far
  Key k_send{}, k_recv{};  // channel keys, once Done
  bool channel_made = false;

  std::vector<uint8_t> out;
  std::array<uint8_t, kHandshakeReplyBytes> in{};  // the largest message
  size_t in_have = 0;
  size_t in_need = 0;
  std::vector<uint8_t> leftover;

  Id peer_id{};
  std::vector<uint8_t> peer_payload;

  ~Impl() {
    wipe(psk);
    wipe(e_sk);
    wipe(k_send);
    wipe(k_recv);
    sodium_memzero(in.data(), in.size());
    if (cfg.network_key) wipe(*cfg.network_key);
  }

  int fail(int code, std::string msg) {
    state = State::Failed;
    rc = code;
    why = std::move(msg);
    wipe(e_sk);
    return code;
  }
  std::string refused() const { return refusal_reason(cfg.network, cfg.network_key.has_value()); }

  void start();
  int on_message();
  int on_hello();
  int on_reply();
  int on_proof();
  void seal_identity(const char *sig_label, const Key &key, uint8_t *box);
  int open_identity(const char *sig_label, const Key &key, const uint8_t *box);
  int derive_handshake_keys(Key &k_responder, Key &k_initiator);
  void finish();
};

void Handshake::Impl::start() {
  if (init() != kOk) {
    fail(kInternal, "handshake: libsodium failed to initialise");
    return;
  }
  if (cfg.self == nullptr) {
    fail(kInval, "handshake: no identity");
    return;
  }
  if (cfg.payload.size() > kMaxHandshakePayload) {
    fail(kInval, "handshake: payload of " + std::to_string(cfg.payload.size()) + " bytes exceeds " +
                     std::to_string(kMaxHandshakePayload));
    return;
  }
  // Keyed BLAKE2b differs from unkeyed even for an all-zero key, so "no key"
  // and "a key of zeros" are different networks.
  Key net_key{};
  if (cfg.network_key) std::copy(cfg.network_key->begin(), cfg.network_key->end(), net_key.begin());
  psk = hash(cfg.network_key ? &net_key : nullptr,
             {label(kPskLabel), {cfg.network.data(), cfg.network.size()}});
  wipe(net_key);

  randombytes_buf(e_sk.data(), e_sk.size());
  crypto_scalarmult_base(e_pk.data(), e_sk.data());

  if (initiator) {
    out.resize(kHandshakeHelloBytes);
    Key tag = hash(&psk, {label(kHelloLabel), bytes(e_pk)});
    std::memcpy(out.data(), e_pk.data(), 32);
    std::memcpy(out.data() + 32, tag.data(), 32);
    h = hash(&psk, {label(kTranscriptLabel), {out.data(), out.size()}});
    in_need = kHandshakeReplyBytes;
  } else {
    in_need = kHandshakeHelloBytes;
  }
}

// Both sides, once peer_e is known and h covers e_r: the keys that seal the
// identity messages. They depend on the ephemerals and the psk only.
int Handshake::Impl::derive_handshake_keys(Key &k_responder, Key &k_initiator) {
  Key ss{};
  if (crypto_scalarmult(ss.data(), e_sk.data(), peer_e.data()) != 0)
    return fail(kProto, "handshake: the peer's ephemeral key is invalid");
  Key hs = hash(&psk, {bytes(ss), bytes(h)});
  wipe(ss);
  k_responder = kdf(hs, 1, kHandshakeKdfContext);
  k_initiator = kdf(hs, 2, kHandshakeKdfContext);
  // The session keys come from hs and the whole transcript; keep hs in psk's
  // place (the psk has no further use).
  psk = hs;
  wipe(hs);
  return kOk;
}

void Handshake::Impl::seal_identity(const char *sig_label, const Key &key, uint8_t *box) {
  std::array<uint8_t, kIdentityBytes> plain{};
  std::memcpy(plain.data(), cfg.self->public_key.data(), kPkBytes);
  plain[kPkBytes] = static_cast<uint8_t>(cfg.payload.size());
  plain[kPkBytes + 1] = static_cast<uint8_t>(cfg.payload.size() >> 8);
  if (!cfg.payload.empty())
    std::memcpy(plain.data() + kPkBytes + 2, cfg.payload.data(), cfg.payload.size());
  Key to_sign = hash(nullptr, {label(sig_label), bytes(h), {plain.data(), kSignedBytes}});
  crypto_sign_detached(plain.data() + kSignedBytes, nullptr, to_sign.data(), to_sign.size(),
                       cfg.self->secret_key.data());
  uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES] = {0};  // each key seals once
  crypto_aead_chacha20poly1305_ietf_encrypt(box, nullptr, plain.data(), plain.size(), h.data(),
                                            h.size(), nullptr, nonce, key.data());
}

int Handshake::Impl::open_identity(const char *sig_label, const Key &key, const uint8_t *box) {
  std::array<uint8_t, kIdentityBytes> plain{};
  uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES] = {0};
  if (crypto_aead_chacha20poly1305_ietf_decrypt(plain.data(), nullptr, nullptr, box, kBoxBytes,
                                                h.data(), h.size(), nonce, key.data()) != 0)
    return fail(kRefused, refused());
  std::array<uint8_t, kPkBytes> pk{};
  std::memcpy(pk.data(), plain.data(), kPkBytes);
  Key to_sign = hash(nullptr, {label(sig_label), bytes(h), {plain.data(), kSignedBytes}});
  if (crypto_sign_verify_detached(plain.data() + kSignedBytes, to_sign.data(), to_sign.size(),
                                  pk.data()) != 0)
    return fail(kRefused, "handshake refused: the peer failed to prove its identity key");
  size_t len = plain[kPkBytes] | static_cast<size_t>(plain[kPkBytes + 1]) << 8;
  if (len > kMaxHandshakePayload)
    return fail(kProto, "handshake: the peer's payload length " + std::to_string(len) +
                            " exceeds " + std::to_string(kMaxHandshakePayload));
  peer_id = id_of_public_key(pk);
  peer_payload.assign(plain.begin() + kPkBytes + 2, plain.begin() + kPkBytes + 2 + len);
  return kOk;
}

int Handshake::Impl::on_message() {
  if (!initiator && in_need == kHandshakeHelloBytes) return on_hello();
  if (initiator) return on_reply();
  return on_proof();
}

int Handshake::Impl::on_hello() {
  const uint8_t *e_i = in.data();
  Key expect = hash(&psk, {label(kHelloLabel), {e_i, 32}});
  bool ok = sodium_memcmp(expect.data(), in.data() + 32, 32) == 0;
  if (!ok) return fail(kRefused, refused());  // say nothing: the peer learns nothing
  std::memcpy(peer_e.data(), e_i, 32);
  h = hash(&psk, {label(kTranscriptLabel), {in.data(), kHandshakeHelloBytes}});
  h = hash(nullptr, {bytes(h), bytes(e_pk)});
  Key k_r{}, k_i{};
  if (int rc = derive_handshake_keys(k_r, k_i)) return rc;
  out.resize(kHandshakeReplyBytes);
  std::memcpy(out.data(), e_pk.data(), 32);
  seal_identity(kResponderSigLabel, k_r, out.data() + 32);
  h = hash(nullptr, {bytes(h), {out.data() + 32, kBoxBytes}});
  wipe(k_r);
  k_recv = k_i;  // parked here until message 3 arrives
  wipe(k_i);
  in_need = kHandshakeProofBytes;
  return kOk;
}

int Handshake::Impl::on_reply() {
  std::memcpy(peer_e.data(), in.data(), 32);
  h = hash(nullptr, {bytes(h), bytes(peer_e)});
  Key k_r{}, k_i{};
  if (int rc = derive_handshake_keys(k_r, k_i)) return rc;
  int rc = open_identity(kResponderSigLabel, k_r, in.data() + 32);
  wipe(k_r);
  if (rc != kOk) {
    wipe(k_i);
    return rc;
  }
  if (cfg.expected_peer && sodium_memcmp(cfg.expected_peer->data(), peer_id.data(), 32) != 0) {
    wipe(k_i);
    return fail(kRefused, "handshake refused: the peer is " + short_hex(peer_id) +
                              ", not the expected " + short_hex(*cfg.expected_peer));
  }
  h = hash(nullptr, {bytes(h), {in.data() + 32, kBoxBytes}});
  out.resize(kHandshakeProofBytes);
  seal_identity(kInitiatorSigLabel, k_i, out.data());
  wipe(k_i);
  h = hash(nullptr, {bytes(h), {out.data(), kBoxBytes}});
  finish();
  return kOk;
}

int Handshake::Impl::on_proof() {
  Key k_i = k_recv;
  wipe(k_recv);
  int rc = open_identity(kInitiatorSigLabel, k_i, in.data());
  wipe(k_i);
  if (rc != kOk) return rc;
  h = hash(nullptr, {bytes(h), {in.data(), kBoxBytes}});
  finish();
  return kOk;
}

void Handshake::Impl::finish() {
  // psk holds the handshake secret hs by now.
  Key ms = hash(&psk, {label(kSessionLabel), bytes(h)});
  Key i2r = kdf(ms, 1, kChannelKdfContext);
  Key r2i = kdf(ms, 2, kChannelKdfContext);
  k_send = initiator ? i2r : r2i;
  k_recv = initiator ? r2i : i2r;
  wipe(ms);
  wipe(i2r);
  wipe(r2i);
  wipe(psk);
  wipe(e_sk);
  state = State::Done;
}

Handshake::Handshake(bool initiator, HandshakeConfig cfg) : impl_(new Impl{}) {
  impl_->initiator = initiator;
  impl_->cfg = std::move(cfg);
  impl_->start();
}

Handshake::~Handshake() = default;

std::vector<uint8_t> Handshake::take_output() {
  return std::move(impl_->out);
}

int Handshake::feed(const uint8_t *p, size_t n, std::string &why) {
  Impl &s = *impl_;
  while (n > 0 && s.state == State::InProgress) {
    size_t take = std::min(s.in_need - s.in_have, n);
    std::memcpy(s.in.data() + s.in_have, p, take);
    s.in_have += take;
    p += take;
    n -= take;
    if (s.in_have < s.in_need) break;
    s.in_have = 0;
    s.on_message();
  }
  if (s.state == State::Failed) {
    why = s.why;
    return s.rc;
  }
  if (n > 0 && s.state == State::Done) s.leftover.insert(s.leftover.end(), p, p + n);
  return kOk;
}

Handshake::State Handshake::state() const {
  return impl_->state;
}
const Id &Handshake::peer_id() const {
  return impl_->peer_id;
}
const std::vector<uint8_t> &Handshake::peer_payload() const {
  return impl_->peer_payload;
}

std::unique_ptr<Channel> Handshake::make_channel(std::vector<uint8_t> &leftover) {
  Impl &s = *impl_;
  if (s.state != State::Done || s.channel_made) return nullptr;
  s.channel_made = true;
  auto ch = std::make_unique<AeadChannel>(s.k_send, s.k_recv, s.cfg.max_frame);
  wipe(s.k_send);
  wipe(s.k_recv);
  leftover = std::move(s.leftover);
  s.leftover.clear();
  return ch;
}

}  // namespace chord::crypto
