import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.libchord.ChordSocket;
import org.libchord.Event;
import org.libchord.Message;
import org.libchord.Options;

/** A three-node ring in one process: the dictionary, an event and a message. */
public final class Example {
  public static void main(String[] args) throws Exception {
    Options opts = new Options().stabilizeMs(50).rpcTimeoutMs(300);
    try (ChordSocket a = new ChordSocket("127.0.0.1", 0, opts);
         ChordSocket b = new ChordSocket("127.0.0.1", 0, opts);
         ChordSocket c = new ChordSocket("127.0.0.1", 0, opts)) {
      b.connect(a.getHost(), a.getPort());
      c.connect(a.getHost(), a.getPort());

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
