// SPDX-License-Identifier: MIT
package org.libchord;

/** A walk over the network's keys failed; the cause is the ChordException. */
public class ChordIterationException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ChordIterationException(ChordException cause) {
    super(cause.getMessage(), cause);
  }

  @Override
  public synchronized ChordException getCause() {
    return (ChordException) super.getCause();
  }
}
