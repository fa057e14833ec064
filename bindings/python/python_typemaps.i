/* SPDX-License-Identifier: MIT */
/* Python: any buffer (bytes, bytearray, memoryview) in; bytes out. The binding's
   Python layer turns str into UTF-8 before it gets here. */
%typemap(arginit) (const uint8_t *data, size_t len) "view$argnum.obj = NULL;";
%typemap(in) (const uint8_t *data, size_t len) (Py_buffer view) {
  if (PyObject_GetBuffer($input, &view, PyBUF_SIMPLE) != 0) SWIG_fail;
  $1 = (uint8_t *)view.buf;
  $2 = (size_t)view.len;
}
%typemap(freearg) (const uint8_t *data, size_t len) {
  if (view$argnum.obj) PyBuffer_Release(&view$argnum);
}
%typemap(out) chordb_bytes {
  $result = PyBytes_FromStringAndSize((const char *)$1.data, (Py_ssize_t)$1.len);
}
%ignore chordb_slot_copy_value;
%ignore chordb_slot_copy_key;
%ignore chordb_slot_copy_peer_id;
