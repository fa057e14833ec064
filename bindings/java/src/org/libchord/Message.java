// SPDX-License-Identifier: MIT
package org.libchord;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.libchord.internal.ChordNative;
import org.libchord.internal.SWIGTYPE_p_chordb_slot_s;

/** A received broadcast or whisper. */
public final class Message {
  private final ChordSocket sock;
  private final SWIGTYPE_p_chordb_slot_s slot; // holds the event a reply needs
  private final byte[] payload;
  private final List<byte[]> packets;
  private final byte[] sender;
  private final String addr;
  private final boolean whisper;

  Message(ChordSocket sock, SWIGTYPE_p_chordb_slot_s slot) {
    this.sock = sock;
    this.slot = slot;
    this.payload = ChordNative.chordb_slot_value(slot);
    List<byte[]> p;
    try {
      p = Packets.unpack(payload);
    } catch (IllegalArgumentException e) {
      p = new ArrayList<>();
      p.add(payload);
    }
    this.packets = Collections.unmodifiableList(p);
    this.sender = ChordNative.chordb_slot_peer_id(slot);
    this.addr = ChordNative.chordb_slot_peer_addr(slot);
    this.whisper = ChordNative.chordb_slot_is_whisper(slot) != 0;
    ChordSocket.CLEANER.register(this, () -> ChordNative.chordb_slot_free(slot));
  }

  public List<byte[]> getPackets() {
    return packets;
  }

  /** A packet decoded as UTF-8. */
  public String getPacketString(int i) {
    return new String(packets.get(i), java.nio.charset.StandardCharsets.UTF_8);
  }

  public byte[] getPayload() {
    return payload.clone();
  }

  /** The sender's 32-byte id. */
  public byte[] getSender() {
    return sender.clone();
  }

  public String getAddr() {
    return addr;
  }

  public boolean isWhisper() {
    return whisper;
  }

  /** Whispers packets back to the sender. */
  public void reply(byte[]... packets) throws ChordException {
    try {
      sock.reply(slot, Packets.pack(packets));
    } finally {
      java.lang.ref.Reference.reachabilityFence(this);
    }
  }
}
