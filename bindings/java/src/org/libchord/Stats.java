// SPDX-License-Identifier: MIT
package org.libchord;

/** A snapshot of a node's state (chord_node_stats), for monitoring. */
public final class Stats {
  public final long keysStored;
  public final long keysOwned;
  public final long tombstones;
  public final long msgsSent;
  public final long msgsReceived;
  public final long bytesSent;
  public final long bytesReceived;
  public final long connections;
  public final long successors;
  public final long lookups;
  public final long lookupHops;
  private final byte[] successorId;
  private final byte[] predecessorId;

  Stats(java.util.function.ToLongFunction<String> get, byte[] successorId, byte[] predecessorId) {
    keysStored = get.applyAsLong("keys_stored");
    keysOwned = get.applyAsLong("keys_owned");
    tombstones = get.applyAsLong("tombstones");
    msgsSent = get.applyAsLong("msgs_sent");
    msgsReceived = get.applyAsLong("msgs_received");
    bytesSent = get.applyAsLong("bytes_sent");
    bytesReceived = get.applyAsLong("bytes_received");
    connections = get.applyAsLong("connections");
    successors = get.applyAsLong("successors");
    lookups = get.applyAsLong("lookups");
    lookupHops = get.applyAsLong("lookup_hops");
    this.successorId = successorId;
    this.predecessorId = predecessorId;
  }

  /** The successor's 32-byte id: the node's own in a ring of one. */
  public byte[] getSuccessorId() {
    return successorId.clone();
  }

  /** The predecessor's 32-byte id, or null without one. */
  public byte[] getPredecessorId() {
    return predecessorId == null ? null : predecessorId.clone();
  }
}
