/* SPDX-License-Identifier: MIT */
/* Java: byte[] in (null is an empty array), byte[] out. The array's elements are
   held for the call and released without copying back (JNI_ABORT): chord copies
   its inputs. */
%typemap(jni) (const uint8_t *data, size_t len) "jbyteArray"
%typemap(jtype) (const uint8_t *data, size_t len) "byte[]"
%typemap(jstype) (const uint8_t *data, size_t len) "byte[]"
%typemap(javain) (const uint8_t *data, size_t len) "$javainput"
%typemap(in) (const uint8_t *data, size_t len) {
  $1 = 0;
  $2 = 0;
  if ($input) {
    $1 = ($1_ltype)JCALL2(GetByteArrayElements, jenv, $input, 0);
    if (!$1) return $null;
    $2 = (size_t)JCALL1(GetArrayLength, jenv, $input);
  }
}
%typemap(freearg) (const uint8_t *data, size_t len) {
  if ($input && $1) JCALL3(ReleaseByteArrayElements, jenv, $input, (jbyte *)$1, JNI_ABORT);
}

%typemap(jni) chordb_bytes "jbyteArray"
%typemap(jtype) chordb_bytes "byte[]"
%typemap(jstype) chordb_bytes "byte[]"
%typemap(javaout) chordb_bytes { return $jnicall; }
%typemap(out) chordb_bytes {
  $result = JCALL1(NewByteArray, jenv, (jsize)$1.len);
  if ($result && $1.len)
    JCALL4(SetByteArrayRegion, jenv, $result, 0, (jsize)$1.len, (const jbyte *)$1.data);
}
%ignore chordb_bytes;
%ignore chordb_slot_copy_value;
%ignore chordb_slot_copy_key;
%ignore chordb_slot_copy_peer_id;
%pragma(java) jniclasscode=%{
  static {
    System.loadLibrary("chord_jni");
  }
%}
