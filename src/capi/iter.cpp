// SPDX-License-Identifier: MIT
// Iteration over the whole network's keys, page by page, owner by owner.
#include "capi/handles.hpp"

using namespace chord::capi;
namespace core = chord::core;

extern "C" {

int chord_iter_new(chord_iter **out, chord_node *node, unsigned flags) {
  return chord::capi::guarded([&]() -> int {
    if (!out) return fail(CHORD_EINVAL, "out is NULL");
    *out = nullptr;
    if (!node) return fail(CHORD_EINVAL, "node is NULL");
    if (flags & ~static_cast<unsigned>(CHORD_ITER_VALUES))
      return fail(CHORD_EINVAL, "unknown iterator flags");
    if (node->closed.load()) return fail(CHORD_ECLOSED, "the node is closed");
    auto *it = new (std::nothrow) chord_iter_s;
    if (!it) return fail(CHORD_ENOMEM, "cannot allocate an iterator");
    it->node = node;
    node->refs.fetch_add(1);
    it->values = (flags & CHORD_ITER_VALUES) != 0;
    *out = it;
    clear_error();
    return CHORD_OK;
  });
}

int chord_iter_next(chord_item *out, chord_iter *it) {
  return chord::capi::guarded([&]() -> int {
    if (!out || !it) return fail(CHORD_EINVAL, out ? "iterator is NULL" : "out is NULL");
    *out = chord_item{nullptr, 0, nullptr, 0};
    chord_node *n = it->node;
    if (n->closed.load()) return fail(CHORD_ECLOSED, "the node is closed");
    while (it->pos >= it->page.size()) {
      if (it->cursor.done) return CHORD_ITEROVER;
      if (n->closed.load()) return fail(CHORD_ECLOSED, "the node is closed");
      uint32_t t = n->default_timeout_ms;
      core::IterCursor cur = it->cursor;
      bool values = it->values;
      core::Page p = run_blocking<core::Page>(
          n, t, [cur, values, t](core::Node &cn, std::function<void(core::Page &&)> done) {
            cn.iter_page(cur, values, t, std::move(done));
          });
      if (p.status != 0) return fail(p.status, p.detail.empty() ? "page fetch failed" : p.detail);
      it->page = std::move(p.items);
      it->pos = 0;
      it->cursor = p.next;
    }
    const core::Item &item = it->page[it->pos++];
    out->key = item.key.data();
    out->key_len = item.key.size();
    out->value = it->values ? item.value.data() : nullptr;
    out->value_len = it->values ? item.value.size() : 0;
    return CHORD_OK;
  });
}

void chord_iter_free(chord_iter *it) {
  chord::capi::guarded_void([&] {
    if (!it) return;
    node_unref(it->node);
    delete it;
  });
}

}  // extern "C"
