// SPDX-License-Identifier: MIT
package org.libchord;

/** One event of the network, delivered to listeners on the socket's event thread. */
public final class Event {
  /** What happened. */
  public enum Type {
    ADD(1), DELETE(2), CONNECT(4), MESSAGE(8);

    final int bit;

    Type(int bit) {
      this.bit = bit;
    }

    static Type of(int bit) {
      for (Type t : values()) if (t.bit == bit) return t;
      return null;
    }
  }

  private final Type type;
  private final byte[] key;
  private final byte[] data;
  private final byte[] peerId;
  private final String peerAddr;

  Event(Type type, byte[] key, byte[] data, byte[] peerId, String peerAddr) {
    this.type = type;
    this.key = key;
    this.data = data;
    this.peerId = peerId;
    this.peerAddr = peerAddr;
  }

  public Type getType() {
    return type;
  }

  /** ADD, DELETE: the key. */
  public byte[] getKey() {
    return key.clone();
  }

  /** ADD, DELETE: the key decoded as UTF-8. */
  public String getKeyString() {
    return new String(key, java.nio.charset.StandardCharsets.UTF_8);
  }

  /** MESSAGE: the raw payload (see {@link Packets}). */
  public byte[] getData() {
    return data.clone();
  }

  /** CONNECT: the peer; MESSAGE: the sender. 32 bytes. */
  public byte[] getPeerId() {
    return peerId.clone();
  }

  public String getPeerAddr() {
    return peerAddr;
  }

  @Override
  public String toString() {
    return "Event(" + type + ")";
  }
}
