// SPDX-License-Identifier: MIT
package org.libchord;

import org.libchord.internal.ChordNative;
import org.libchord.internal.ChordNativeConstants;

/**
 * A libchord failure: {@link #getCode()} is the CHORD_E* value, {@link #getName()} its
 * name and {@link #getDetail()} the one-line chord_error_last() of the failing call.
 * Subclasses: {@link KeyNotFoundException}, {@link TimeoutException},
 * {@link ClosedException}.
 */
public class ChordException extends Exception {
  private static final long serialVersionUID = 1L;
  private final int code;
  private final String detail;

  public ChordException(int code, String detail) {
    super(message(code, detail));
    this.code = code;
    this.detail = detail == null ? "" : detail;
  }

  private static String message(int code, String detail) {
    String m = ChordNative.chordb_err_name(code) + ": " + ChordNative.chordb_strerror(code);
    return detail == null || detail.isEmpty() ? m : m + " (" + detail + ")";
  }

  public int getCode() {
    return code;
  }

  public String getName() {
    return ChordNative.chordb_err_name(code);
  }

  public String getDetail() {
    return detail;
  }

  static ChordException of(int code, String detail) {
    if (code == ChordNativeConstants.CHORD_ENOTFOUND) return new KeyNotFoundException(detail);
    if (code == ChordNativeConstants.CHORD_ETIMEDOUT) return new TimeoutException(detail);
    if (code == ChordNativeConstants.CHORD_ECLOSED) return new ClosedException(detail);
    return new ChordException(code, detail);
  }
}
