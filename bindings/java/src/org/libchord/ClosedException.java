// SPDX-License-Identifier: MIT
package org.libchord;

import org.libchord.internal.ChordNativeConstants;

/** The socket is closed, or was closed while this call waited (CHORD_ECLOSED). */
public class ClosedException extends ChordException {
  private static final long serialVersionUID = 1L;

  public ClosedException(String detail) {
    super(ChordNativeConstants.CHORD_ECLOSED, detail);
  }
}
