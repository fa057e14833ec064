/* SPDX-License-Identifier: MIT */
/* Go: []byte in, for inputs and for the copy-out calls (make, then copy). cgo lets
   C read and write a Go slice's bytes for the duration of the call; chord copies
   its inputs, so nothing is kept. Byte results come through the *_len and
   chordb_slot_copy_* calls, since C cannot allocate Go memory. */
%typemap(gotype) (const uint8_t *data, size_t len), (uint8_t *data, size_t len) "[]byte"
%typemap(in) (const uint8_t *data, size_t len), (uint8_t *data, size_t len) %{
  $1 = ($1_ltype)$input.array;
  $2 = (size_t)$input.len;
%}
%ignore chordb_slot_value;
%ignore chordb_slot_key;
%ignore chordb_slot_peer_id;
%ignore chordb_node_id;
