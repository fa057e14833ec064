// SPDX-License-Identifier: MIT
package org.libchord;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.libchord.internal.ChordNative;
import org.libchord.internal.ChordNativeConstants;

/**
 * Tests of the Java binding against real nodes on 127.0.0.1. A plain main: it prints
 * each failure, then "N passed, N failed" alone on its last line, and exits non-zero
 * when anything failed.
 */
public final class ChordSocketTest {
  interface Body {
    void run() throws Exception;
  }

  static int passed;
  static int failed;

  static void test(String name, Body body) {
    try {
      body.run();
      passed++;
      System.out.println("ok   " + name);
    } catch (Throwable t) {
      failed++;
      System.out.println("FAIL " + name + ": " + t);
      t.printStackTrace(System.out);
    }
  }

  static void check(boolean cond, String what) {
    if (!cond) throw new AssertionError(what);
  }

  static void checkBytes(byte[] want, byte[] got, String what) {
    if (!Arrays.equals(want, got)) {
      throw new AssertionError(what + ": want " + Arrays.toString(want) + " got " + Arrays.toString(got));
    }
  }

  static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static Options fast() {
    return new Options().stabilizeMs(50).fixFingersMs(100).checkPredecessorMs(100)
        .rpcTimeoutMs(300).timeoutMs(5000);
  }

  static ChordSocket[] ring() throws Exception {
    ChordSocket[] s = new ChordSocket[3];
    for (int i = 0; i < 3; i++) s[i] = new ChordSocket("127.0.0.1", 0, fast());
    for (int i = 1; i < 3; i++) s[i].connect(s[0].getHost(), s[0].getPort());
    waitStable(s);
    return s;
  }

  static int compare(byte[] x, byte[] y) {
    return Arrays.compareUnsigned(x, y);
  }

  /** Every node's successor is the next id in ring order, its predecessor the previous. */
  static boolean stable(ChordSocket[] nodes) throws ChordException {
    List<byte[]> ids = new ArrayList<>();
    for (ChordSocket n : nodes) ids.add(n.getId());
    ids.sort(ChordSocketTest::compare);
    for (ChordSocket n : nodes) {
      int i = 0;
      while (!Arrays.equals(ids.get(i), n.getId())) i++;
      Stats st = n.stats();
      if (!Arrays.equals(st.getSuccessorId(), ids.get((i + 1) % ids.size()))) return false;
      if (!Arrays.equals(st.getPredecessorId(), ids.get((i + ids.size() - 1) % ids.size()))) {
        return false;
      }
    }
    return true;
  }

  static void waitStable(ChordSocket[] nodes) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!stable(nodes)) {
      if (System.nanoTime() > deadline) throw new AssertionError("the ring did not stabilize");
      Thread.sleep(50);
    }
  }

  static void closeAll(ChordSocket[] s) {
    for (ChordSocket x : s) x.close();
  }

  interface RingBody {
    void run(ChordSocket a, ChordSocket b, ChordSocket c) throws Exception;
  }

  static void ringTest(String name, RingBody body) {
    test(name, () -> {
      ChordSocket[] s = ring();
      try {
        body.run(s[0], s[1], s[2]);
      } finally {
        closeAll(s);
      }
    });
  }

  public static void main(String[] args) {
    test("socket has a bound address and a 32-byte id", () -> {
      try (ChordSocket s = new ChordSocket("127.0.0.1", 0, fast())) {
        check(s.getPort() > 0, "port " + s.getPort());
        check(s.getHost().equals("127.0.0.1"), "host " + s.getHost());
        check(s.getId().length == 32, "id length");
        Stats st = s.stats();
        checkBytes(s.getId(), st.getSuccessorId(), "a ring of one is its own successor");
        check(st.keysStored == 0, "no keys");
      }
    });

    ringTest("set on one node is read on the others", (a, bb, c) -> {
      a.set("k", "v");
      check("v".equals(bb.getString("k")), "b reads v");
      checkBytes(b("v"), c.get(b("k")), "c reads v");
      c.set(b("k"), b("w"));
      checkBytes(b("w"), a.getOrThrow("k"), "a reads w");
    });

    ringTest("binary keys and values; empty differs from absent", (a, bb, c) -> {
      byte[] key = {0, 'k', (byte) 0xff, 0};
      byte[] value = new byte[256];
      for (int i = 0; i < 256; i++) value[i] = (byte) i;
      a.set(key, value);
      checkBytes(value, bb.get(key), "binary value");
      check(c.get(Arrays.copyOf(key, 3)) == null, "a prefix is another key");
      a.set(b("empty"), new byte[0]);
      byte[] e = c.get("empty");
      check(e != null && e.length == 0, "empty value is present and empty");
      check(c.get("missing") == null, "missing is null");
    });

    ringTest("getOrThrow throws KeyNotFoundException; delete reports absence", (a, bb, c) -> {
      try {
        a.getOrThrow("nope");
        throw new AssertionError("no exception");
      } catch (KeyNotFoundException expected) {
        check(expected.getCode() == -1, "code");
      }
      a.set("gone", "x");
      check(bb.delete("gone"), "delete present");
      check(c.get("gone") == null, "absent after delete");
      check(!c.delete("gone"), "delete absent");
    });

    ringTest("keys and items walk every key once", (a, bb, c) -> {
      Map<String, String> want = new HashMap<>();
      for (int i = 0; i < 20; i++) want.put("key" + i, "value" + i);
      a.update(want);
      List<String> keys = new ArrayList<>();
      for (byte[] k : bb.keys()) keys.add(new String(k, StandardCharsets.UTF_8));
      check(keys.size() == 20, "20 keys, got " + keys.size());
      check(keys.containsAll(want.keySet()), "every key");
      Map<String, byte[]> m = c.toMap();
      check(m.size() == 20, "toMap size");
      for (Map.Entry<String, String> e : want.entrySet()) {
        checkBytes(b(e.getValue()), m.get(e.getKey()), "item " + e.getKey());
      }
    });

    ringTest("pop and popItem remove what they return", (a, bb, c) -> {
      a.set("x", "1");
      checkBytes(b("1"), bb.pop("x"), "pop");
      check(c.pop("x") == null, "pop absent");
      a.set("y", "2");
      Map.Entry<byte[], byte[]> e = c.popItem();
      checkBytes(b("y"), e.getKey(), "popItem key");
      checkBytes(b("2"), e.getValue(), "popItem value");
      check(c.popItem() == null, "popItem on empty");
    });

    ringTest("add and delete events reach lambdas", (a, bb, c) -> {
      BlockingQueue<String> seen = new ArrayBlockingQueue<>(16);
      c.on(Event.Type.ADD, ev -> seen.add("add " + ev.getKeyString()));
      c.on(Event.Type.DELETE, ev -> seen.add("delete " + ev.getKeyString()));
      c.on(Event.Type.ADD, ev -> {
        throw new IllegalStateException("a failing listener is contained");
      });
      a.set("evt", "v");
      check("add evt".equals(seen.poll(10, TimeUnit.SECONDS)), "add event");
      bb.delete("evt");
      check("delete evt".equals(seen.poll(10, TimeUnit.SECONDS)), "delete event");
    });

    ringTest("broadcast, reply and whisper", (a, bb, c) -> {
      a.send(b("hello"), new byte[] {0, (byte) 0xff});
      Message m = bb.recv(10000);
      check(m.getPackets().size() == 2, "two packets");
      check("hello".equals(m.getPacketString(0)), "first packet");
      checkBytes(new byte[] {0, (byte) 0xff}, m.getPackets().get(1), "second packet");
      checkBytes(a.getId(), m.getSender(), "sender");
      check(!m.isWhisper(), "broadcast");
      m.reply(b("back"));
      Message r = a.recv(10000);
      check(r.isWhisper() && "back".equals(r.getPacketString(0)), "reply");
      checkBytes(bb.getId(), r.getSender(), "reply sender");
      c.whisper(a.getId(), b("psst"));
      Message w = a.recv(10000);
      check("psst".equals(w.getPacketString(0)), "whisper");
    });

    test("recv times out with TimeoutException", () -> {
      try (ChordSocket s = new ChordSocket("127.0.0.1", 0, fast())) {
        try {
          s.recv(200);
          throw new AssertionError("no exception");
        } catch (TimeoutException expected) {
          check(expected.getName().equals("CHORD_ETIMEDOUT"), "name");
        }
      }
    });

    test("close wakes a thread blocked in recv", () -> {
      ChordSocket s = new ChordSocket("127.0.0.1", 0, fast());
      s.on(Event.Type.ADD, ev -> {});
      AtomicReference<Throwable> got = new AtomicReference<>();
      CountDownLatch started = new CountDownLatch(1);
      Thread t = new Thread(() -> {
        started.countDown();
        try {
          s.recv(-1);
        } catch (Throwable e) {
          got.set(e);
        }
      });
      t.start();
      started.await(5, TimeUnit.SECONDS);
      Thread.sleep(100); // let it block; the assertions hold either way
      s.close();
      t.join(10000);
      check(!t.isAlive(), "waiter returned");
      check(got.get() instanceof ClosedException, "ClosedException, got " + got.get());
      try {
        s.get("k");
        throw new AssertionError("get after close");
      } catch (ClosedException expected) {
      }
      s.close();
    });

    test("a node with a data folder keeps its records and id across a restart", () -> {
      String dir = java.nio.file.Files.createTempDirectory("chord-java-durable") + "/node";
      byte[] id;
      try (ChordSocket s = new ChordSocket("127.0.0.1", 0, fast().dataDir(dir))) {
        id = s.getId();
        s.set("kept", "v");
        try {
          new ChordSocket("127.0.0.1", 0, fast().dataDir(dir)).close();
          throw new AssertionError("a second node opened the folder");
        } catch (ChordException expected) {
          check(expected.getCode() == ChordNativeConstants.CHORD_EBUSY, "EBUSY");
        }
      }
      try (ChordSocket s = new ChordSocket("127.0.0.1", 0, fast().dataDir(dir).relaxedSync(true))) {
        checkBytes(id, s.getId(), "the same id");
        check("v".equals(s.getString("kept")), "the record survived");
      }
    });

    test("a bad address fails with a detailed ChordException", () -> {
      try (ChordSocket s = new ChordSocket("127.0.0.1", 0, fast())) {
        try {
          s.connect("not an address", -1);
          throw new AssertionError("no exception");
        } catch (ChordException expected) {
          check(expected.getCode() < 0, "code");
        }
      }
    });

    test("every code of the C table maps to its exception class", () -> {
      // The class of each code of chord.h's CHORD_ERRNO_MAP; null: never thrown.
      Map<String, Class<?>> classes = new HashMap<>();
      classes.put("CHORD_ENOTFOUND", KeyNotFoundException.class);
      classes.put("CHORD_ETIMEDOUT", TimeoutException.class);
      classes.put("CHORD_EINVAL", ChordException.class);
      classes.put("CHORD_ETOOBIG", ChordException.class);
      classes.put("CHORD_ECLOSED", ClosedException.class);
      classes.put("CHORD_ENOQUORUM", ChordException.class);
      classes.put("CHORD_EPROTO", ChordException.class);
      classes.put("CHORD_ENOMEM", ChordException.class);
      classes.put("CHORD_EINTERNAL", ChordException.class);
      classes.put("CHORD_EUNREACHABLE", ChordException.class);
      classes.put("CHORD_EREFUSED", ChordException.class);
      classes.put("CHORD_EBUSY", ChordException.class);
      classes.put("CHORD_EIO", ChordException.class);
      classes.put("CHORD_ITEROVER", null); // not an error: the end of an iteration
      int n = ChordNative.chordb_err_count();
      check(n == classes.size(), n + " codes in the C table, " + classes.size() + " mapped");
      for (int i = 0; i < n; i++) {
        int code = ChordNative.chordb_err_code(i);
        String name = ChordNative.chordb_err_name(code);
        check(classes.containsKey(name), name + " has no class in this test");
        check(ChordNativeConstants.class.getField(name).getInt(null) == code,
            name + ": chord.i's constant");
        Class<?> want = classes.get(name);
        if (want == null) continue;
        ChordException e = ChordException.of(code, "why");
        check(e.getClass() == want, name + " -> " + e.getClass().getSimpleName());
        check(e.getCode() == code && e.getName().equals(name) && e.getDetail().equals("why"),
            name + " fields");
        check(e.getMessage().equals(name + ": " + ChordNative.chordb_strerror(code) + " (why)"),
            name + " message " + e.getMessage());
      }
    });

    test("version is MAJOR.MINOR.PATCH", () -> {
      check(ChordSocket.version().matches("\\d+\\.\\d+\\.\\d+"), ChordSocket.version());
    });

    test("packets are length-prefixed", () -> {
      byte[] p = Packets.pack(b("a"), new byte[0], new byte[] {0, (byte) 0xff});
      checkBytes(new byte[] {0, 0, 0, 1, 'a', 0, 0, 0, 0, 0, 0, 0, 2, 0, (byte) 0xff}, p, "pack");
      List<byte[]> u = Packets.unpack(p);
      check(u.size() == 3 && u.get(1).length == 0, "unpack");
      try {
        Packets.unpack(new byte[] {0, 0, 0, 5, 'a'});
        throw new AssertionError("truncated accepted");
      } catch (IllegalArgumentException expected) {
      }
    });

    System.out.println(passed + " passed, " + failed + " failed");
    System.exit(failed == 0 ? 0 : 1);
  }
}
