// SPDX-License-Identifier: MIT
// The dictionary: get, set, delete, pop, popitem, update; blocking and async.
#include <cstdlib>

#include "capi/handles.hpp"

using namespace chord::capi;
namespace core = chord::core;

namespace chord::capi {

int async_call(chord_node *n, Start start, chord_result_cb cb, void *ud) {
  if (!cb) return fail(CHORD_EINVAL, "cb is NULL");
  if (n->closed.load()) return fail(CHORD_ECLOSED, "the node is closed");
  bool ok = submit<core::Result>(n, std::move(start), [cb, ud](core::Result &&r) {
    chord_result res{};
    res.status = r.status;
    res.key = r.key.data();
    res.key_len = r.key.size();
    res.value = r.value.data();
    res.value_len = r.value.size();
    res.hops = r.hops;
    res.detail = r.detail.c_str();
    cb(&res, ud);
  });
  if (!ok) return fail(CHORD_ECLOSED, "the node is closed");
  clear_error();
  return CHORD_OK;
}

}  // namespace chord::capi

namespace {

int check_key(const chord_node *n, const uint8_t *key, size_t len) {
  if (!n) return fail(CHORD_EINVAL, "node is NULL");
  if (!key && len) return fail(CHORD_EINVAL, "key is NULL with a non-zero length");
  if (len > n->max_key)
    return fail(CHORD_ETOOBIG, "key of " + std::to_string(len) + " bytes exceeds max_key_bytes (" +
                                   std::to_string(n->max_key) + ")");
  return CHORD_OK;
}

int check_value(const chord_node *n, const uint8_t *v, size_t len) {
  if (!v && len) return fail(CHORD_EINVAL, "value is NULL with a non-zero length");
  if (len > n->max_value)
    return fail(CHORD_ETOOBIG, "value of " + std::to_string(len) +
                                   " bytes exceeds max_value_bytes (" +
                                   std::to_string(n->max_value) + ")");
  return CHORD_OK;
}

core::Bytes bytes(const uint8_t *p, size_t n) {
  return p ? core::Bytes(p, p + n) : core::Bytes();
}

int to_buf(chord_buf *out, const core::Bytes &b) {
  out->data = nullptr;
  out->len = 0;
  if (b.empty()) return CHORD_OK;
  out->data = static_cast<uint8_t *>(std::malloc(b.size()));
  if (!out->data) return fail(CHORD_ENOMEM, "cannot allocate the value");
  std::memcpy(out->data, b.data(), b.size());
  out->len = b.size();
  return CHORD_OK;
}

// Runs a blocking dictionary call and reports its outcome the C way.
int blocking(chord_node *n, int timeout_ms, Start start, core::Result *keep = nullptr) {
  if (n->closed.load()) return fail(CHORD_ECLOSED, "the node is closed");
  uint32_t t = timeout_of(n, timeout_ms);
  core::Result r = run_blocking<core::Result>(n, t, std::move(start));
  set_last_hops(r.hops);
  if (r.status != 0) {
    std::string d = r.detail;
    if (d.empty()) d = chord_strerror(r.status);
    return fail(r.status, d);
  }
  if (keep) *keep = std::move(r);
  clear_error();
  return CHORD_OK;
}

Start get_op(core::Bytes k, uint32_t t) {
  return [k = std::move(k), t](core::Node &cn, std::function<void(core::Result &&)> d) mutable {
    cn.get(std::move(k), t, std::move(d));
  };
}
Start set_op(core::Bytes k, core::Bytes v, uint32_t t) {
  return [k = std::move(k), v = std::move(v), t](core::Node &cn,
                                                 std::function<void(core::Result &&)> d) mutable {
    cn.set(std::move(k), std::move(v), t, std::move(d));
  };
}
Start del_op(core::Bytes k, uint32_t t) {
  return [k = std::move(k), t](core::Node &cn, std::function<void(core::Result &&)> d) mutable {
    cn.del(std::move(k), t, std::move(d));
  };
}
Start pop_op(core::Bytes k, uint32_t t) {
  return [k = std::move(k), t](core::Node &cn, std::function<void(core::Result &&)> d) mutable {
    cn.pop(std::move(k), t, std::move(d));
  };
}
Start popitem_op(uint32_t t) {
  return
      [t](core::Node &cn, std::function<void(core::Result &&)> d) { cn.popitem(t, std::move(d)); };
}
Start update_op(std::vector<core::Item> items, uint32_t t) {
  return [items = std::move(items), t](core::Node &cn,
                                       std::function<void(core::Result &&)> d) mutable {
    cn.update(std::move(items), t, std::move(d));
  };
}

int collect_items(const chord_node *n, const chord_item *items, size_t count,
                  std::vector<core::Item> &out) {
  if (!items && count) return fail(CHORD_EINVAL, "items is NULL with a non-zero count");
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    if (int rc = check_key(n, items[i].key, items[i].key_len)) return rc;
    if (int rc = check_value(n, items[i].value, items[i].value_len)) return rc;
    out.push_back(
        {bytes(items[i].key, items[i].key_len), bytes(items[i].value, items[i].value_len)});
  }
  return CHORD_OK;
}

// get and pop: a key in, a value out.
int value_call(chord_buf *out, chord_node *node, const uint8_t *key, size_t key_len, int timeout_ms,
               Start (*make)(core::Bytes, uint32_t)) {
  if (!out) return fail(CHORD_EINVAL, "out is NULL");
  out->data = nullptr;
  out->len = 0;
  if (int rc = check_key(node, key, key_len)) return rc;
  core::Result r;
  int rc = blocking(node, timeout_ms, make(bytes(key, key_len), timeout_of(node, timeout_ms)), &r);
  if (rc) return rc;
  return to_buf(out, r.value);
}

}  // namespace

extern "C" {

int chord_get(chord_buf *out, chord_node *node, const uint8_t *key, size_t key_len,
              int timeout_ms) {
  return chord::capi::guarded(
      [&]() -> int { return value_call(out, node, key, key_len, timeout_ms, get_op); });
}

int chord_set(chord_node *node, const uint8_t *key, size_t key_len, const uint8_t *value,
              size_t value_len, int timeout_ms) {
  return chord::capi::guarded([&]() -> int {
    if (int rc = check_key(node, key, key_len)) return rc;
    if (int rc = check_value(node, value, value_len)) return rc;
    return blocking(
        node, timeout_ms,
        set_op(bytes(key, key_len), bytes(value, value_len), timeout_of(node, timeout_ms)));
  });
}

int chord_delete(chord_node *node, const uint8_t *key, size_t key_len, int timeout_ms) {
  return chord::capi::guarded([&]() -> int {
    if (int rc = check_key(node, key, key_len)) return rc;
    return blocking(node, timeout_ms, del_op(bytes(key, key_len), timeout_of(node, timeout_ms)));
  });
}

int chord_pop(chord_buf *out, chord_node *node, const uint8_t *key, size_t key_len,
              int timeout_ms) {
  return chord::capi::guarded(
      [&]() -> int { return value_call(out, node, key, key_len, timeout_ms, pop_op); });
}

int chord_popitem(chord_buf *key_out, chord_buf *value_out, chord_node *node, int timeout_ms) {
  return chord::capi::guarded([&]() -> int {
    if (!key_out || !value_out) return fail(CHORD_EINVAL, "an out parameter is NULL");
    *key_out = chord_buf{nullptr, 0};
    *value_out = chord_buf{nullptr, 0};
    if (!node) return fail(CHORD_EINVAL, "node is NULL");
    core::Result r;
    int rc = blocking(node, timeout_ms, popitem_op(timeout_of(node, timeout_ms)), &r);
    if (rc) return rc;
    if ((rc = to_buf(key_out, r.key))) return rc;
    if ((rc = to_buf(value_out, r.value))) {
      chord_buf_dispose(key_out);
      return rc;
    }
    return CHORD_OK;
  });
}

int chord_update(chord_node *node, const chord_item *items, size_t count, int timeout_ms) {
  return chord::capi::guarded([&]() -> int {
    if (!node) return fail(CHORD_EINVAL, "node is NULL");
    std::vector<core::Item> v;
    if (int rc = collect_items(node, items, count, v)) return rc;
    if (v.empty()) return CHORD_OK;
    return blocking(node, timeout_ms, update_op(std::move(v), timeout_of(node, timeout_ms)));
  });
}

int chord_get_async(chord_node *node, const uint8_t *key, size_t key_len, int timeout_ms,
                    chord_result_cb cb, void *ud) {
  return chord::capi::guarded([&]() -> int {
    if (int rc = check_key(node, key, key_len)) return rc;
    return async_call(node, get_op(bytes(key, key_len), timeout_of(node, timeout_ms)), cb, ud);
  });
}

int chord_set_async(chord_node *node, const uint8_t *key, size_t key_len, const uint8_t *value,
                    size_t value_len, int timeout_ms, chord_result_cb cb, void *ud) {
  return chord::capi::guarded([&]() -> int {
    if (int rc = check_key(node, key, key_len)) return rc;
    if (int rc = check_value(node, value, value_len)) return rc;
    return async_call(
        node, set_op(bytes(key, key_len), bytes(value, value_len), timeout_of(node, timeout_ms)),
        cb, ud);
  });
}

int chord_delete_async(chord_node *node, const uint8_t *key, size_t key_len, int timeout_ms,
                       chord_result_cb cb, void *ud) {
  return chord::capi::guarded([&]() -> int {
    if (int rc = check_key(node, key, key_len)) return rc;
    return async_call(node, del_op(bytes(key, key_len), timeout_of(node, timeout_ms)), cb, ud);
  });
}

int chord_pop_async(chord_node *node, const uint8_t *key, size_t key_len, int timeout_ms,
                    chord_result_cb cb, void *ud) {
  return chord::capi::guarded([&]() -> int {
    if (int rc = check_key(node, key, key_len)) return rc;
    return async_call(node, pop_op(bytes(key, key_len), timeout_of(node, timeout_ms)), cb, ud);
  });
}

int chord_popitem_async(chord_node *node, int timeout_ms, chord_result_cb cb, void *ud) {
  return chord::capi::guarded([&]() -> int {
    if (!node) return fail(CHORD_EINVAL, "node is NULL");
    return async_call(node, popitem_op(timeout_of(node, timeout_ms)), cb, ud);
  });
}

int chord_update_async(chord_node *node, const chord_item *items, size_t count, int timeout_ms,
                       chord_result_cb cb, void *ud) {
  return chord::capi::guarded([&]() -> int {
    if (!node) return fail(CHORD_EINVAL, "node is NULL");
    std::vector<core::Item> v;
    if (int rc = collect_items(node, items, count, v)) return rc;
    return async_call(node, update_op(std::move(v), timeout_of(node, timeout_ms)), cb, ud);
  });
}

}  // extern "C"
