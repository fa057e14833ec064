// SPDX-License-Identifier: MIT
// Messaging as in py2p's MeshSocket: broadcast, whisper, recv, reply.
#include "capi/handles.hpp"

using namespace chord::capi;
namespace core = chord::core;

namespace {

int check_payload(const chord_node *n, const uint8_t *data, size_t len) {
  if (!n) return fail(CHORD_EINVAL, "node is NULL");
  if (!data && len) return fail(CHORD_EINVAL, "data is NULL with a non-zero length");
  if (len > n->max_value)
    return fail(CHORD_ETOOBIG, "message of " + std::to_string(len) +
                                   " bytes exceeds max_value_bytes (" +
                                   std::to_string(n->max_value) + ")");
  if (n->closed.load()) return fail(CHORD_ECLOSED, "the node is closed");
  return CHORD_OK;
}

int finish(const core::Result &r, const char *what) {
  if (r.status != 0) return fail(r.status, r.detail.empty() ? what : r.detail);
  clear_error();
  return CHORD_OK;
}

}  // namespace

extern "C" {

int chord_broadcast(chord_node *node, const uint8_t *data, size_t len, int timeout_ms) {
  return chord::capi::guarded([&]() -> int {
    if (int rc = check_payload(node, data, len)) return rc;
    core::Bytes payload(data, data + len);
    core::Result r = run_blocking<core::Result>(
        node, timeout_of(node, timeout_ms),
        [payload = std::move(payload)](core::Node &cn,
                                       std::function<void(core::Result &&)> d) mutable {
          cn.broadcast(std::move(payload), std::move(d));
        });
    return finish(r, "broadcast failed");
  });
}

int chord_whisper(chord_node *node, const uint8_t to[32], const uint8_t *data, size_t len,
                  int timeout_ms) {
  return chord::capi::guarded([&]() -> int {
    if (!to) return fail(CHORD_EINVAL, "to is NULL");
    if (int rc = check_payload(node, data, len)) return rc;
    core::Id id;
    std::memcpy(id.data(), to, 32);
    core::Bytes payload(data, data + len);
    uint32_t t = timeout_of(node, timeout_ms);
    core::Result r = run_blocking<core::Result>(
        node, t,
        [id, t, payload = std::move(payload)](core::Node &cn,
                                              std::function<void(core::Result &&)> d) mutable {
          cn.whisper(id, std::move(payload), t, std::move(d));
        });
    set_last_hops(r.hops);
    return finish(r, "whisper failed");
  });
}

int chord_recv(chord_event *out, chord_node *node, int timeout_ms) {
  return chord::capi::guarded([&]() -> int {
    if (!out || !node) return fail(CHORD_EINVAL, out ? "node is NULL" : "out is NULL");
    std::memset(out, 0, sizeof *out);
    return node->inbox->next(out, timeout_ms);
  });
}

int chord_reply(chord_node *node, const chord_event *msg, const uint8_t *data, size_t len,
                int timeout_ms) {
  return chord::capi::guarded([&]() -> int {
    if (!msg) return fail(CHORD_EINVAL, "msg is NULL");
    if (msg->type != CHORD_EV_MESSAGE) return fail(CHORD_EINVAL, "msg is not a message event");
    return chord_whisper(node, msg->peer_id, data, len, timeout_ms);
  });
}

}  // extern "C"
