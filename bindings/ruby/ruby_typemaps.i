/* SPDX-License-Identifier: MIT */
/* Ruby: a String in (its bytes, copied: the call runs without the GVL, when the
   String may be changed or moved), a binary (ASCII-8BIT) String out. */
%{
#include <string>
#include <ruby/thread.h>

/* Runs f without the GVL. f must not touch any Ruby object: SWIG's $action only
   calls the chordb function with converted arguments. No unblocking function:
   every blocking chordb call is bounded by its timeout or woken by close. */
template <class F> static void chordb_without_gvl(F &f) {
  rb_thread_call_without_gvl(
      [](void *p) -> void * {
        (*static_cast<F *>(p))();
        return nullptr;
      },
      &f, nullptr, nullptr);
}
%}

%typemap(in) (const uint8_t *data, size_t len) (std::string copy) {
  if (!NIL_P($input)) {
    StringValue($input);
    copy.assign(RSTRING_PTR($input), (size_t)RSTRING_LEN($input));
  }
  $1 = ($1_ltype)copy.data();
  $2 = copy.size();
}
%typemap(typecheck) (const uint8_t *data, size_t len) {
  $1 = NIL_P($input) || RB_TYPE_P($input, T_STRING);
}
%typemap(out) chordb_bytes {
  $result = rb_str_new((const char *)$1.data, (long)$1.len);
}

/* Every wrapped call releases the GVL while it runs in C. */
%exception {
  auto chordb_call = [&]() { $action };
  chordb_without_gvl(chordb_call);
}

%ignore chordb_bytes;
%ignore chordb_slot_copy_value;
%ignore chordb_slot_copy_key;
%ignore chordb_slot_copy_peer_id;
