// SPDX-License-Identifier: MIT
package org.libchord;

import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.nio.charset.StandardCharsets;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.CopyOnWriteArrayList;
import org.libchord.internal.ChordNative;
import org.libchord.internal.ChordNativeConstants;
import org.libchord.internal.SWIGTYPE_p_chordb_iter_s;
import org.libchord.internal.SWIGTYPE_p_chordb_node_s;
import org.libchord.internal.SWIGTYPE_p_chordb_opts_s;
import org.libchord.internal.SWIGTYPE_p_chordb_queue_s;
import org.libchord.internal.SWIGTYPE_p_chordb_slot_s;

/**
 * A node of a libchord network, used as a dictionary that the network shares.
 *
 * <pre>{@code
 * try (ChordSocket sock = new ChordSocket("127.0.0.1", 0)) {
 *   sock.connect("127.0.0.1", 4444);
 *   sock.set("k", "v");
 *   byte[] v = sock.get("k");          // null when absent
 *   sock.on(Event.Type.ADD, ev -> System.out.println(ev.getKeyString()));
 * }
 * }</pre>
 *
 * Keys and values are bytes; String overloads use UTF-8. {@link #get} returns null
 * for an absent key; {@link #getOrThrow} throws {@link KeyNotFoundException}. Every
 * method is thread-safe. Listeners run on one daemon thread per socket, which drains
 * the node's event queue; an exception thrown by a listener is printed and the
 * thread carries on. {@link #close} makes calls blocked in other threads throw
 * {@link ClosedException}.
 */
public final class ChordSocket implements AutoCloseable {
  static final Cleaner CLEANER = Cleaner.create();

  /** An event listener; a lambda. */
  @FunctionalInterface
  public interface Listener {
    void onEvent(Event event);
  }

  private interface Op {
    int run(SWIGTYPE_p_chordb_slot_s st);
  }

  private final SWIGTYPE_p_chordb_node_s node;
  private final String addr;
  private final byte[] id;
  private final int timeoutMs;
  private final Map<Event.Type, List<Registration>> listeners = new EnumMap<>(Event.Type.class);
  private final Object lock = new Object();
  private Thread dispatcher;
  private volatile boolean closed;
  private String seed;
  private boolean joined;

  private static final class Registration {
    final Listener listener;
    final boolean once;

    Registration(Listener l, boolean once) {
      this.listener = l;
      this.once = once;
    }
  }

  /** The loaded libchord's version, "MAJOR.MINOR.PATCH". */
  public static String version() {
    return ChordNative.chordb_version();
  }

  /** A node listening on host:port (port 0: any free port), with default options. */
  public ChordSocket(String host, int port) throws ChordException {
    this(host, port, new Options());
  }

  public ChordSocket(String host, int port, Options o) throws ChordException {
    SWIGTYPE_p_chordb_opts_s opts = ChordNative.chordb_opts_new();
    SWIGTYPE_p_chordb_slot_s st = ChordNative.chordb_slot_new();
    try {
      opt(ChordNative.chordb_opts_set_str(opts, "listen", hostPort(host, port)), "listen");
      if (o.outAddr != null)
        opt(ChordNative.chordb_opts_set_str(opts, "advertise", o.outAddr), "outAddr");
      if (o.network != null)
        opt(ChordNative.chordb_opts_set_str(opts, "network", o.network), "network");
      if (o.identityFile != null)
        opt(ChordNative.chordb_opts_set_str(opts, "identity_file", o.identityFile), "identity");
      if (o.dataDir != null)
        opt(ChordNative.chordb_opts_set_str(opts, "data_dir", o.dataDir), "dataDir");
      if (o.relaxedSync)
        opt(ChordNative.chordb_opts_set_uint(opts, "sync", ChordNativeConstants.CHORD_SYNC_RELAXED), "sync");
      if (o.networkKey != null)
        opt(ChordNative.chordb_opts_set_network_key(opts, o.networkKey), "networkKey");
      num(opts, "replicas", o.replicas);
      num(opts, "stabilize_ms", o.stabilizeMs);
      num(opts, "fix_fingers_ms", o.fixFingersMs);
      num(opts, "check_predecessor_ms", o.checkPredecessorMs);
      num(opts, "rpc_timeout_ms", o.rpcTimeoutMs);
      num(opts, "default_timeout_ms", o.timeoutMs);
      if (o.client) num(opts, "flags", ChordNativeConstants.CHORD_NODE_CLIENT);
      SWIGTYPE_p_chordb_node_s n = ChordNative.chordb_node_new(opts, st);
      if (n == null) {
        throw ChordException.of(ChordNative.chordb_slot_rc(st), ChordNative.chordb_slot_detail(st));
      }
      node = n;
    } finally {
      ChordNative.chordb_slot_free(st);
      ChordNative.chordb_opts_free(opts);
    }
    addr = ChordNative.chordb_node_addr(node);
    id = ChordNative.chordb_node_id(node);
    timeoutMs = o.timeoutMs > 0 ? o.timeoutMs : 0;
    // The handle is freed only once this object is unreachable, so a call racing
    // with close() never touches freed memory: it gets ClosedException instead.
    final SWIGTYPE_p_chordb_node_s h = node;
    CLEANER.register(this, () -> ChordNative.chordb_node_release(h));
  }

  private static void opt(int rc, String name) throws ChordException {
    if (rc != 0) throw ChordException.of(rc, "bad option " + name);
  }

  private static void num(SWIGTYPE_p_chordb_opts_s o, String name, long v) throws ChordException {
    if (v != 0) opt(ChordNative.chordb_opts_set_uint(o, name, v), name);
  }

  /** "host:port", with an IPv6 host in brackets. */
  static String hostPort(String host, int port) {
    if (host.indexOf(':') >= 0 && !host.startsWith("[")) host = "[" + host + "]";
    return host + ":" + port;
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** Runs op with a fresh slot; the slot is returned on success (the caller frees it). */
  private SWIGTYPE_p_chordb_slot_s call(Op op) throws ChordException {
    SWIGTYPE_p_chordb_slot_s st = ChordNative.chordb_slot_new();
    try {
      int rc = op.run(st);
      if (rc < 0) {
        ChordException e = ChordException.of(rc, ChordNative.chordb_slot_detail(st));
        ChordNative.chordb_slot_free(st);
        throw e;
      }
      return st;
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  private void run(Op op) throws ChordException {
    ChordNative.chordb_slot_free(call(op));
  }

  private byte[] value(Op op) throws ChordException {
    SWIGTYPE_p_chordb_slot_s st = call(op);
    try {
      return ChordNative.chordb_slot_value(st);
    } finally {
      ChordNative.chordb_slot_free(st);
    }
  }

  // ------------------------------------------------------------------ identity

  /** The "host:port" peers reach this node at. */
  public String getAddr() {
    return addr;
  }

  public String getHost() {
    String h = addr.substring(0, addr.lastIndexOf(':'));
    return h.startsWith("[") ? h.substring(1, h.length() - 1) : h;
  }

  public int getPort() {
    return Integer.parseInt(addr.substring(addr.lastIndexOf(':') + 1));
  }

  /** The node's 32-byte ring id. */
  public byte[] getId() {
    return id.clone();
  }

  public boolean isClosed() {
    return closed;
  }

  /** A snapshot of the node's state. */
  public Stats stats() throws ChordException {
    SWIGTYPE_p_chordb_slot_s st = call(s -> ChordNative.chordb_node_stats(node, s));
    try {
      boolean hasPred = ChordNative.chordb_slot_stat(st, "has_predecessor") != 0;
      return new Stats(name -> ChordNative.chordb_slot_stat(st, name),
          ChordNative.chordb_slot_key(st), hasPred ? ChordNative.chordb_slot_value(st) : null);
    } finally {
      ChordNative.chordb_slot_free(st);
    }
  }

  // ------------------------------------------------------------------- network

  /** Joins the ring the node at host:port belongs to, as a full (seeding) member. */
  public void connect(String host, int port) throws ChordException {
    final String a = hostPort(host, port);
    run(st -> ChordNative.chordb_node_join(node, st, a, timeoutMs));
    synchronized (lock) {
      seed = a;
      joined = true;
    }
  }

  /**
   * Seeds again after unjoin(), through the last connect() address. connect() already
   * joins, so a connect(); join() sequence (as in py2p) works: then it does nothing.
   */
  public void join() throws ChordException {
    final String a;
    synchronized (lock) {
      if (joined) return;
      a = seed;
    }
    if (a == null) throw new ChordException(ChordNativeConstants.CHORD_EINVAL, "connect() first");
    run(st -> ChordNative.chordb_node_join(node, st, a, timeoutMs));
    synchronized (lock) {
      joined = true;
    }
  }

  /** Leaves the ring gracefully, handing this node's keys over; the node stays up alone. */
  public void unjoin() throws ChordException {
    run(st -> ChordNative.chordb_node_leave(node, st, timeoutMs));
    synchronized (lock) {
      joined = false;
    }
  }

  // ---------------------------------------------------------------- dictionary

  /** The value of key, or null when the key is absent. */
  public byte[] get(byte[] key) throws ChordException {
    try {
      return getOrThrow(key);
    } catch (KeyNotFoundException e) {
      return null;
    }
  }

  public byte[] get(String key) throws ChordException {
    return get(utf8(key));
  }

  /** The value decoded as UTF-8, or null when the key is absent. */
  public String getString(String key) throws ChordException {
    byte[] v = get(utf8(key));
    return v == null ? null : new String(v, StandardCharsets.UTF_8);
  }

  /** The value of key; throws KeyNotFoundException when it is absent. */
  public byte[] getOrThrow(byte[] key) throws ChordException {
    return value(st -> ChordNative.chordb_get(node, st, key, timeoutMs));
  }

  public byte[] getOrThrow(String key) throws ChordException {
    return getOrThrow(utf8(key));
  }

  public void set(byte[] key, byte[] value) throws ChordException {
    run(st -> ChordNative.chordb_set(node, st, key, value, timeoutMs));
  }

  public void set(String key, byte[] value) throws ChordException {
    set(utf8(key), value);
  }

  public void set(String key, String value) throws ChordException {
    set(utf8(key), utf8(value));
  }

  /** Deletes key; false if it was absent. */
  public boolean delete(byte[] key) throws ChordException {
    try {
      run(st -> ChordNative.chordb_delete(node, st, key, timeoutMs));
      return true;
    } catch (KeyNotFoundException e) {
      return false;
    }
  }

  public boolean delete(String key) throws ChordException {
    return delete(utf8(key));
  }

  /** Removes key and returns its value atomically; null if it was absent. */
  public byte[] pop(byte[] key) throws ChordException {
    try {
      return value(st -> ChordNative.chordb_pop(node, st, key, timeoutMs));
    } catch (KeyNotFoundException e) {
      return null;
    }
  }

  public byte[] pop(String key) throws ChordException {
    return pop(utf8(key));
  }

  /** Removes and returns some entry; null when the network holds no keys. */
  public Map.Entry<byte[], byte[]> popItem() throws ChordException {
    SWIGTYPE_p_chordb_slot_s st;
    try {
      st = call(s -> ChordNative.chordb_popitem(node, s, timeoutMs));
    } catch (KeyNotFoundException e) {
      return null;
    }
    try {
      return new AbstractMap.SimpleImmutableEntry<>(
          ChordNative.chordb_slot_key(st), ChordNative.chordb_slot_value(st));
    } finally {
      ChordNative.chordb_slot_free(st);
    }
  }

  /** Sets every entry; keys and values may be byte[] or String. */
  public void update(Map<?, ?> entries) throws ChordException {
    for (Map.Entry<?, ?> e : entries.entrySet()) set(bytes(e.getKey()), bytes(e.getValue()));
  }

  private static byte[] bytes(Object o) {
    if (o instanceof byte[]) return (byte[]) o;
    if (o instanceof String) return utf8((String) o);
    throw new IllegalArgumentException("keys and values are byte[] or String");
  }

  /**
   * Every key of the network, each once, walked lazily. A failure during the walk
   * throws {@link ChordIterationException} (unchecked) from the iterator.
   */
  public Iterable<byte[]> keys() {
    return () -> new Walk<>(ChordNativeConstants.CHORD_ITER_KEYS, (k, v) -> k);
  }

  /** Every entry of the network, each once. */
  public Iterable<Map.Entry<byte[], byte[]>> items() {
    return () -> new Walk<>(ChordNativeConstants.CHORD_ITER_VALUES,
        (k, v) -> new AbstractMap.SimpleImmutableEntry<>(k, v));
  }

  /** A snapshot of the network's contents with UTF-8 keys. */
  public Map<String, byte[]> toMap() {
    Map<String, byte[]> m = new java.util.LinkedHashMap<>();
    for (Map.Entry<byte[], byte[]> e : items()) {
      m.put(new String(e.getKey(), StandardCharsets.UTF_8), e.getValue());
    }
    return m;
  }

  private interface Make<T> {
    T make(byte[] key, byte[] value);
  }

  /** A walk over chordb_iter; frees itself at its end. */
  private final class Walk<T> implements Iterator<T> {
    private final Make<T> make;
    private SWIGTYPE_p_chordb_iter_s it;
    private SWIGTYPE_p_chordb_slot_s st = ChordNative.chordb_slot_new();
    private T next;
    private boolean done;

    Walk(int flags, Make<T> make) {
      this.make = make;
      it = ChordNative.chordb_iter_new(node, st, flags);
      Reference.reachabilityFence(ChordSocket.this);
      if (it == null) {
        ChordException e = ChordException.of(ChordNative.chordb_slot_rc(st),
            ChordNative.chordb_slot_detail(st));
        ChordNative.chordb_slot_free(st);
        finish();
        throw new ChordIterationException(e);
      }
      final SWIGTYPE_p_chordb_iter_s i = it;
      final SWIGTYPE_p_chordb_slot_s s = st;
      CLEANER.register(this, () -> { // once the walk is unreachable
        ChordNative.chordb_iter_free(i);
        ChordNative.chordb_slot_free(s);
      });
    }

    private void finish() {
      done = true;
    }

    @Override
    public boolean hasNext() {
      if (next != null) return true;
      if (done) return false;
      int rc = ChordNative.chordb_iter_next(it, st);
      Reference.reachabilityFence(ChordSocket.this);
      if (rc == ChordNativeConstants.CHORD_ITEROVER) {
        finish();
        return false;
      }
      if (rc < 0) {
        finish();
        throw new ChordIterationException(ChordException.of(rc, ChordNative.chordb_slot_detail(st)));
      }
      next = make.make(ChordNative.chordb_slot_key(st), ChordNative.chordb_slot_value(st));
      return true;
    }

    @Override
    public T next() {
      if (!hasNext()) throw new NoSuchElementException();
      T t = next;
      next = null;
      return t;
    }
  }

  // ------------------------------------------------------------------ messages

  /** Broadcasts packets to every other node of the network. */
  public void send(byte[]... packets) throws ChordException {
    final byte[] payload = Packets.pack(packets);
    run(st -> ChordNative.chordb_broadcast(node, st, payload, timeoutMs));
  }

  /** Broadcasts UTF-8 packets. */
  public void send(String... packets) throws ChordException {
    byte[][] b = new byte[packets.length][];
    for (int i = 0; i < packets.length; i++) b[i] = utf8(packets[i]);
    send(b);
  }

  /** Sends packets to the one node whose 32-byte id is to. */
  public void whisper(byte[] to, byte[]... packets) throws ChordException {
    final byte[] payload = Packets.pack(packets);
    run(st -> ChordNative.chordb_whisper(node, st, to, payload, timeoutMs));
  }

  /**
   * The next message for this node, waiting up to timeoutMs (negative: until one
   * arrives or the socket is closed). Throws TimeoutException when none came in time.
   */
  public Message recv(long timeoutMs) throws ChordException {
    final int t = timeoutMs < 0 ? -1 : (int) Math.min(Integer.MAX_VALUE, timeoutMs);
    return new Message(this, call(st -> ChordNative.chordb_recv(node, st, t)));
  }

  void reply(SWIGTYPE_p_chordb_slot_s msg, byte[] payload) throws ChordException {
    run(st -> ChordNative.chordb_reply(node, msg, st, payload, timeoutMs));
  }

  // -------------------------------------------------------------------- events

  /** Calls listener for every event of that type, on the socket's event thread. */
  public void on(Event.Type type, Listener listener) throws ChordException {
    register(type, listener, false);
  }

  /** As on(), for the next such event only. */
  public void once(Event.Type type, Listener listener) throws ChordException {
    register(type, listener, true);
  }

  private void register(Event.Type type, Listener l, boolean once) throws ChordException {
    synchronized (lock) {
      listeners.computeIfAbsent(type, k -> new CopyOnWriteArrayList<>())
          .add(new Registration(l, once));
      if (dispatcher == null) startDispatcher();
    }
  }

  private void startDispatcher() throws ChordException {
    SWIGTYPE_p_chordb_slot_s st = ChordNative.chordb_slot_new();
    SWIGTYPE_p_chordb_queue_s q;
    try {
      q = ChordNative.chordb_queue_new(node, st, ChordNativeConstants.CHORD_EV_ALL);
      if (q == null) {
        throw ChordException.of(ChordNative.chordb_slot_rc(st), ChordNative.chordb_slot_detail(st));
      }
    } finally {
      ChordNative.chordb_slot_free(st);
    }
    dispatcher = new Thread(() -> dispatch(q), "chord-events " + addr);
    dispatcher.setDaemon(true);
    dispatcher.start();
  }

  private void dispatch(SWIGTYPE_p_chordb_queue_s q) {
    SWIGTYPE_p_chordb_slot_s st = ChordNative.chordb_slot_new();
    try {
      while (ChordNative.chordb_queue_next(q, st, -1) == 0) {
        Event.Type type = Event.Type.of(ChordNative.chordb_slot_type(st));
        if (type == null) continue;
        Event ev = new Event(type, ChordNative.chordb_slot_key(st),
            ChordNative.chordb_slot_value(st), ChordNative.chordb_slot_peer_id(st),
            ChordNative.chordb_slot_peer_addr(st));
        List<Registration> regs;
        synchronized (lock) {
          regs = listeners.get(type);
          if (regs == null) continue;
          regs = new ArrayList<>(regs);
          for (Registration r : regs) if (r.once) listeners.get(type).remove(r);
        }
        for (Registration r : regs) {
          try {
            r.listener.onEvent(ev);
          } catch (RuntimeException e) {
            System.err.println("chord: exception in " + type + " listener: " + e);
            e.printStackTrace();
          }
        }
      }
    } finally {
      ChordNative.chordb_slot_free(st);
      ChordNative.chordb_queue_free(q);
    }
  }

  // ------------------------------------------------------------------- closing

  /**
   * Leaves the ring gracefully and stops the node. Calls blocked in other threads
   * throw ClosedException; the event thread ends. Idempotent.
   */
  @Override
  public void close() {
    Thread d;
    synchronized (lock) {
      if (closed) return;
      closed = true;
      ChordNative.chordb_node_close(node, 0);
      d = dispatcher;
    }
    if (d != null && d != Thread.currentThread()) {
      try {
        d.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    Reference.reachabilityFence(this);
  }
}
