// SPDX-License-Identifier: MIT
package org.libchord;

import org.libchord.internal.ChordNativeConstants;

/** The key is absent (CHORD_ENOTFOUND). Thrown by getOrThrow; get returns null instead. */
public class KeyNotFoundException extends ChordException {
  private static final long serialVersionUID = 1L;

  public KeyNotFoundException(String detail) {
    super(ChordNativeConstants.CHORD_ENOTFOUND, detail);
  }
}
