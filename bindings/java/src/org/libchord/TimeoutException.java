// SPDX-License-Identifier: MIT
package org.libchord;

import org.libchord.internal.ChordNativeConstants;

/** The call did not finish in time (CHORD_ETIMEDOUT). */
public class TimeoutException extends ChordException {
  private static final long serialVersionUID = 1L;

  public TimeoutException(String detail) {
    super(ChordNativeConstants.CHORD_ETIMEDOUT, detail);
  }
}
