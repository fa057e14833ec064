// SPDX-License-Identifier: MIT
package org.libchord;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * The payload format shared by every libchord binding: packets concatenated, each a
 * 4-byte big-endian length followed by its bytes.
 */
public final class Packets {
  private Packets() {}

  public static byte[] pack(byte[]... packets) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : packets) {
      int n = p.length;
      out.write(n >>> 24);
      out.write(n >>> 16);
      out.write(n >>> 8);
      out.write(n);
      out.write(p, 0, n);
    }
    return out.toByteArray();
  }

  /** Decodes a payload; throws IllegalArgumentException when it is malformed. */
  public static List<byte[]> unpack(byte[] payload) {
    List<byte[]> packets = new ArrayList<>();
    int i = 0;
    while (i < payload.length) {
      if (payload.length - i < 4) throw new IllegalArgumentException("truncated packet length");
      long n = ((payload[i] & 0xffL) << 24) | ((payload[i + 1] & 0xff) << 16)
          | ((payload[i + 2] & 0xff) << 8) | (payload[i + 3] & 0xff);
      i += 4;
      if (n > payload.length - i) {
        throw new IllegalArgumentException("packet length past the end of the payload");
      }
      byte[] p = new byte[(int) n];
      System.arraycopy(payload, i, p, 0, (int) n);
      packets.add(p);
      i += (int) n;
    }
    return packets;
  }
}
