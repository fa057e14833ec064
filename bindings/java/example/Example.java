// SPDX-License-Identifier: MIT
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.libchord.ChordSocket;
import org.libchord.Event;
import org.libchord.Message;
import org.libchord.Options;

/** A three-node ring in one process: the dictionary, an event and a message. */
public final class Example {
  /** Joins return at once; waits until every node's successor is the next id in ring order. */
  static void waitForRing(ChordSocket... nodes) throws Exception {
    byte[][] ids = new byte[nodes.length][];
    for (int i = 0; i < nodes.length; i++) ids[i] = nodes[i].getId();
    java.util.Arrays.sort(ids, java.util.Arrays::compareUnsigned);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (System.nanoTime() < deadline) {
      boolean settled = true;
      for (ChordSocket n : nodes) {
        int i = 0;
        while (!java.util.Arrays.equals(ids[i], n.getId())) i++;
        settled &= java.util.Arrays.equals(n.stats().getSuccessorId(), ids[(i + 1) % ids.length]);
      }
      if (settled) return;
      Thread.sleep(50);
    }
    throw new IllegalStateException("the ring did not settle");
  }

  public static void main(String[] args) throws Exception {
    Options opts = new Options().stabilizeMs(50).rpcTimeoutMs(300);
    try (ChordSocket a = new ChordSocket("127.0.0.1", 0, opts);
         ChordSocket b = new ChordSocket("127.0.0.1", 0, opts);
         ChordSocket c = new ChordSocket("127.0.0.1", 0, opts)) {
      b.connect(a.getHost(), a.getPort());
      c.connect(a.getHost(), a.getPort());
      waitForRing(a, b, c);

      CountDownLatch added = new CountDownLatch(1);
      c.on(Event.Type.ADD, ev -> {
        System.out.println("c saw a new key: " + ev.getKeyString());
        added.countDown();
      });

      a.set("greeting", "hello");
      System.out.println("b reads " + b.getString("greeting"));
      added.await(10, TimeUnit.SECONDS);

      a.send("ping", "pong?");
      Message m = b.recv(10000);
      System.out.println("b got " + m.getPacketString(0) + " from " + m.getAddr());
      m.reply("pong".getBytes(StandardCharsets.UTF_8));
      System.out.println("a got " + a.recv(10000).getPacketString(0));

      c.delete("greeting");
      System.out.println("after delete: " + a.get("greeting")); // null
    }
  }
}
