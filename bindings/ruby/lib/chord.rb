# SPDX-License-Identifier: MIT
# frozen_string_literal: true

# libchord for Ruby: a distributed dictionary over a Chord ring.
#
#   sock = Chord::ChordSocket.new('127.0.0.1', 0, network: 'demo')
#   sock.connect('127.0.0.1', 4444)
#   sock['k'] = 'v'
#   sock['k']               # => "v" (a binary String), nil when absent
#   sock.fetch('nope')      # raises KeyError
#   sock.on(:add) { |key| puts key }
#   sock.close
#
# Keys and values are Strings of bytes: text keys are used as their bytes (UTF-8),
# and values come back as binary (ASCII-8BIT) Strings.
#
# Events are delivered on one Ruby thread per socket. It waits on the queue's file
# descriptor with IO#wait_readable and drains it with non-blocking chord_queue_next
# calls, so no Ruby code ever runs on libchord's loop thread. Every call into
# libchord releases the GVL while it blocks.
require 'io/wait'
require 'monitor'
require 'timeout'
require 'chord_native'

module Chord
  Native = ::Chord_native
  # The loaded libchord's version, "MAJOR.MINOR.PATCH".
  LIBRARY_VERSION = Native.chordb_version.freeze

  # Mixed into every libchord error, so that `rescue Chord::Error` catches them all.
  # #code is the CHORD_E* value, #name its name, #detail chord_error_last().
  module Error
    attr_reader :code, :detail

    def name
      Native.chordb_err_name(code)
    end

    def self.build(klass, code, detail)
      msg = "#{Native.chordb_err_name(code)}: #{Native.chordb_strerror(code)}"
      msg += " (#{detail})" unless detail.nil? || detail.empty?
      err = klass.new(msg)
      err.instance_variable_set(:@code, code)
      err.instance_variable_set(:@detail, detail.to_s)
      err
    end
  end

  # Any libchord failure without a more specific class.
  class ChordError < StandardError; include Error; end
  # A call did not finish in time; also a Timeout::Error.
  class TimeoutError < Timeout::Error; include Error; end
  # The socket is closed, or was closed while the call waited; also an IOError.
  class ClosedError < IOError; include Error; end
  # The key is absent; also a KeyError.
  class NotFoundError < KeyError; include Error; end
  # A bad argument; also an ArgumentError.
  class InvalidError < ArgumentError; include Error; end

  ERRORS = {
    Native::CHORD_ETIMEDOUT => TimeoutError,
    Native::CHORD_ECLOSED => ClosedError,
    Native::CHORD_ENOTFOUND => NotFoundError,
    Native::CHORD_EINVAL => InvalidError
  }.freeze

  def self.error(code, detail = '')
    Error.build(ERRORS.fetch(code, ChordError), code, detail)
  end

  # Packs packets into one message payload: each a 4-byte big-endian length, then
  # its bytes. Every libchord binding uses this format.
  def self.pack(packets)
    packets.map { |p| b = p.to_s.b; [b.bytesize].pack('N') + b }.join.b
  end

  # The inverse of pack; raises ArgumentError on a malformed payload.
  def self.unpack(payload)
    out = []
    i = 0
    while i < payload.bytesize
      raise ArgumentError, 'truncated packet length' if payload.bytesize - i < 4

      n = payload.byteslice(i, 4).unpack1('N')
      i += 4
      raise ArgumentError, 'packet length past the end of the payload' if n > payload.bytesize - i

      out << payload.byteslice(i, n).b
      i += n
    end
    out
  end

  # An event given to :connect and :message listeners.
  Event = Struct.new(:type, :key, :data, :peer_id, :peer_addr, :whisper)

  # A received message: packets, sender (32-byte id), addr, whisper?, reply.
  class Message
    attr_reader :packets, :payload, :sender, :addr

    def initialize(sock, slot)
      @sock = sock
      @slot = slot # holds the event that a reply needs
      @payload = Native.chordb_slot_value(slot)
      @packets = begin
        Chord.unpack(@payload)
      rescue ArgumentError
        [@payload]
      end
      @sender = Native.chordb_slot_peer_id(slot)
      @addr = Native.chordb_slot_peer_addr(slot)
      @whisper = Native.chordb_slot_is_whisper(slot) != 0
      ObjectSpace.define_finalizer(self, Message.releaser(slot))
    end

    def self.releaser(slot)
      proc { Native.chordb_slot_free(slot) }
    end

    def whisper?
      @whisper
    end

    # Whispers packets back to the sender.
    def reply(*packets, timeout: nil)
      @sock.__send__(:reply_to, @slot, Chord.pack(packets), timeout)
    end
  end

  # A node of a libchord network, used as a Hash that the network shares.
  class ChordSocket
    include Enumerable

    EVENTS = {
      add: Native::CHORD_EV_ADD, delete: Native::CHORD_EV_DELETE,
      connect: Native::CHORD_EV_CONNECT, message: Native::CHORD_EV_MESSAGE
    }.freeze
    # The chord_node_opts fields that may be given by name: chordb's list, less
    # the two set from arguments of their own (replicas, leech).
    SYNC = { durable: Native::CHORD_SYNC_DURABLE, relaxed: Native::CHORD_SYNC_RELAXED }.freeze
    OPTIONS = (0..).lazy.map { |i| Native.chordb_opts_uint_name(i) }.take_while(&:itself)
                   .map(&:to_sym).reject { |n| %i[replicas flags].include?(n) }.to_a.freeze

    RECV_SLICE_MS = 250

    attr_reader :addr, :id, :id_hex

    # ChordSocket.new(host = '127.0.0.1', port = 0, network:, network_key:, out_addr:,
    # replicas:, timeout: 5.0, rpc_timeout:, leech: false, identity_file:, data_dir:, **options)
    # Timeouts are in seconds; options are chord_node_opts fields by name.
    # data_dir: a folder that makes the node durable (records, identity,
    # remembered members); sync: :durable (default) or :relaxed.
    def initialize(host = '127.0.0.1', port = 0, network: nil, network_key: nil, out_addr: nil,
                   replicas: nil, timeout: 5.0, rpc_timeout: nil, leech: false,
                   identity_file: nil, data_dir: nil, **options)
      @timeout_ms = ms(timeout)
      @lock = Monitor.new
      @listeners = Hash.new { |h, k| h[k] = [] }
      @closed = false
      opts = Native.chordb_opts_new
      st = Native.chordb_slot_new
      begin
        set = lambda do |rc, what|
          raise Chord.error(rc, "bad option #{what}") if rc != 0
        end
        set.call(Native.chordb_opts_set_str(opts, 'listen', ChordSocket.hostport(host, port)), 'listen')
        set.call(Native.chordb_opts_set_str(opts, 'advertise', ChordSocket.hostport(*out_addr)), 'out_addr') if out_addr
        set.call(Native.chordb_opts_set_str(opts, 'network', network.to_s), 'network') if network
        set.call(Native.chordb_opts_set_str(opts, 'identity_file', identity_file.to_s), 'identity_file') if identity_file
        set.call(Native.chordb_opts_set_str(opts, 'data_dir', data_dir.to_s), 'data_dir') if data_dir
        options[:sync] = SYNC.fetch(options[:sync]) { raise ArgumentError, "sync: :durable or :relaxed" } if options[:sync].is_a?(Symbol)
        set.call(Native.chordb_opts_set_network_key(opts, network_key), 'network_key') if network_key
        set.call(Native.chordb_opts_set_uint(opts, 'replicas', Integer(replicas)), 'replicas') if replicas
        set.call(Native.chordb_opts_set_uint(opts, 'rpc_timeout_ms', ms(rpc_timeout)), 'rpc_timeout') if rpc_timeout
        set.call(Native.chordb_opts_set_uint(opts, 'default_timeout_ms', @timeout_ms), 'timeout')
        set.call(Native.chordb_opts_set_uint(opts, 'flags', Native::CHORD_NODE_CLIENT), 'leech') if leech
        options.each do |name, value|
          raise ArgumentError, "unknown option #{name}" unless OPTIONS.include?(name)

          set.call(Native.chordb_opts_set_uint(opts, name.to_s, Integer(value)), name)
        end
        @node = Native.chordb_node_new(opts, st)
        raise Chord.error(Native.chordb_slot_rc(st), Native.chordb_slot_detail(st)) if @node.nil?
      ensure
        Native.chordb_slot_free(st)
        Native.chordb_opts_free(opts)
      end
      bound = Native.chordb_node_addr(@node)
      if bound.empty?
        @addr = nil # a leech (light client) listens nowhere and has no address
      else
        h, _, p = bound.rpartition(":")
        h = h[1...-1] if h.start_with?("[")
        @addr = [h, Integer(p)]
      end
      @id = Native.chordb_node_id(@node)
      @id_hex = Native.chordb_node_id_hex(@node)
      # The handle is released only once this object is garbage, so a call racing
      # with close never touches freed memory: it raises ClosedError instead.
      ObjectSpace.define_finalizer(self, ChordSocket.releaser(@node))
    end

    def self.releaser(node)
      proc { Native.chordb_node_release(node) }
    end

    def host
      @addr&.first
    end

    def port
      @addr&.last
    end

    def closed?
      @closed
    end

    STATS = %i[keys_stored keys_owned tombstones msgs_sent msgs_received bytes_sent
               bytes_received connections successors lookups lookup_hops].freeze

    # A snapshot of the node's state: chord_node_stats' numbers, plus :successor_id
    # and :predecessor_id (binary Strings; the latter nil without a predecessor).
    def stats
      st = Native.chordb_slot_new
      begin
        check(Native.chordb_node_stats(handle, st), st)
        out = STATS.to_h { |name| [name, Native.chordb_slot_stat(st, name.to_s)] }
        out[:successor_id] = Native.chordb_slot_key(st)
        has_pred = Native.chordb_slot_stat(st, 'has_predecessor') != 0
        out[:predecessor_id] = has_pred ? Native.chordb_slot_value(st) : nil
        out
      ensure
        Native.chordb_slot_free(st)
      end
    end

    # Joins the ring of the node at host:port as a full (seeding) member.
    def connect(host, port, timeout: nil)
      seed = ChordSocket.hostport(host, port)
      call { |st| Native.chordb_node_join(@node, st, seed, t(timeout)) }
      @seed = seed
      @joined = true
    end

    # Seeds again after unjoin, through the last connect address. connect already
    # joins, so a connect; join sequence (as in py2p) works: then it does nothing.
    def join(timeout: nil)
      return true if @joined
      raise Chord.error(Native::CHORD_EINVAL, 'connect first') unless @seed

      call { |st| Native.chordb_node_join(@node, st, @seed, t(timeout)) }
      @joined = true
    end

    # Leaves the ring gracefully, handing this node's keys over; the node stays up.
    def unjoin(timeout: nil)
      call { |st| Native.chordb_node_leave(@node, st, t(timeout)) }
      @joined = false
      true
    end

    # ---------------------------------------------------------------- the Hash

    # The value (a binary String), or nil when the key is absent.
    def [](key)
      get(key)
    end

    def get(key, timeout: nil)
      value(Native.method(:chordb_get), key.to_s, t(timeout))
    end

    # As Hash#fetch: KeyError (a Chord::NotFoundError) when absent, unless given a
    # default or a block.
    def fetch(key, *default)
      v = get(key)
      return v unless v.nil?
      return yield(key) if block_given?
      return default.first unless default.empty?

      raise Chord.error(Native::CHORD_ENOTFOUND, "key not found: #{key.inspect}")
    end

    def []=(key, value)
      set(key, value)
    end

    def set(key, value, timeout: nil)
      call { |st| Native.chordb_set(@node, st, key.to_s, value.to_s, t(timeout)) }
      value
    end
    alias store []=

    # As Hash#delete: removes key and returns its value (atomically at the key's
    # owner), or nil (or the block's value) when it was absent.
    def delete(key, timeout: nil)
      v = value(Native.method(:chordb_pop), key.to_s, t(timeout))
      return yield(key) if v.nil? && block_given?

      v
    end

    def key?(key)
      !get(key).nil?
    end
    alias include? key?
    alias has_key? key?
    alias member? key?

    # As Hash#shift: removes and returns some [key, value], or nil when empty.
    def shift(timeout: nil)
      st = Native.chordb_slot_new
      begin
        rc = Native.chordb_popitem(handle, st, t(timeout))
        return nil if rc == Native::CHORD_ENOTFOUND

        check(rc, st)
        [Native.chordb_slot_key(st), Native.chordb_slot_value(st)]
      ensure
        Native.chordb_slot_free(st)
      end
    end

    def update(hash)
      hash.each { |k, v| set(k, v) }
      self
    end
    alias merge! update

    # Yields every [key, value] of the network once; an Enumerator without a block.
    def each(&block)
      return enum_for(:each) unless block

      walk(Native::CHORD_ITER_VALUES) { |k, v| block.call(k, v) }
      self
    end
    alias each_pair each

    def each_key(&block)
      return enum_for(:each_key) unless block

      walk(Native::CHORD_ITER_KEYS) { |k, _| block.call(k) }
      self
    end

    def keys
      each_key.to_a
    end

    def values
      each.map { |_, v| v }
    end

    def to_h
      h = {}
      each { |k, v| h[k] = v }
      h
    end

    def size
      each_key.count
    end
    alias length size

    # ---------------------------------------------------------------- messages

    # Broadcasts packets to every other node. (Not #send, which Ruby reserves.)
    def broadcast(*packets, timeout: nil)
      payload = Chord.pack(packets)
      call { |st| Native.chordb_broadcast(@node, st, payload, t(timeout)) }
    end

    # Sends packets to the one node whose 32-byte id is to.
    def whisper(to, *packets, timeout: nil)
      payload = Chord.pack(packets)
      call { |st| Native.chordb_whisper(@node, st, to.to_s.b, payload, t(timeout)) }
    end

    # The next Message. timeout nil: don't wait, nil when none is waiting; seconds:
    # wait that long and raise Chord::TimeoutError; negative: until one comes. Long
    # waits are sliced, so that Thread#raise, Thread#kill and Ctrl-C get through.
    def recv(timeout: nil)
      deadline = timeout && !timeout.negative? ? now + timeout : nil
      st = Native.chordb_slot_new
      loop do
        wait = if timeout.nil? then 0
               elsif deadline.nil? then RECV_SLICE_MS
               else ((deadline - now) * 1000).to_i.clamp(1, RECV_SLICE_MS)
               end
        rc = Native.chordb_recv(handle, st, wait)
        if rc == Native::CHORD_ETIMEDOUT
          return nil if timeout.nil?
          next if deadline.nil? || now < deadline
        end
        check(rc, st)
        msg = Message.new(self, st)
        st = nil # the message owns the slot now
        return msg
      end
    ensure
      Native.chordb_slot_free(st) if st
    end

    # ------------------------------------------------------------------ events

    # on(:add) { |key| }, on(:delete) { |key| }, on(:connect) { |event| },
    # on(:message) { |event| } (then recv the message). Blocks run on the socket's
    # event thread; an exception in one is printed and the thread carries on.
    def on(event, &block)
      register(event, block, false)
    end

    # As on, for the next such event only.
    def once(event, &block)
      register(event, block, true)
    end

    # ------------------------------------------------------------------ closing

    # Leaves the ring gracefully (abort: true, as if crashed). Calls blocked in other
    # threads raise ClosedError; the event thread ends. Idempotent.
    def close(abort: false)
      thread = nil
      @lock.synchronize do
        return if @closed

        @closed = true
        Native.chordb_node_close(@node, abort ? 1 : 0)
        thread = @events
      end
      thread.join if thread && thread != Thread.current
      nil
    end

    def inspect
      "#<Chord::ChordSocket #{@closed ? 'closed' : (@addr ? @addr.join(':') : 'leech')}>"
    end

    private

    # "host:port", with an IPv6 host in brackets.
    def self.hostport(host, port)
      h = host.to_s
      h = "[#{h}]" if h.include?(':') && !h.start_with?('[')
      "#{h}:#{Integer(port)}"
    end

    def now
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end

    def ms(seconds)
      return -1 if seconds.negative?

      [(seconds * 1000).to_i, 1].max
    end

    def t(timeout)
      timeout.nil? ? @timeout_ms : ms(timeout)
    end

    def handle
      raise Chord.error(Native::CHORD_ECLOSED, 'the socket is closed') if @closed

      @node
    end

    def check(rc, st)
      raise Chord.error(rc, Native.chordb_slot_detail(st)) if rc.negative?

      rc
    end

    def call
      st = Native.chordb_slot_new
      begin
        handle
        check(yield(st), st)
      ensure
        Native.chordb_slot_free(st)
      end
    end

    # A value-returning call; nil when the key is absent.
    def value(fn, key, timeout_ms)
      st = Native.chordb_slot_new
      begin
        rc = fn.call(handle, st, key, timeout_ms)
        return nil if rc == Native::CHORD_ENOTFOUND

        check(rc, st)
        Native.chordb_slot_value(st)
      ensure
        Native.chordb_slot_free(st)
      end
    end

    def walk(flags)
      st = Native.chordb_slot_new
      it = Native.chordb_iter_new(handle, st, flags)
      check(Native.chordb_slot_rc(st), st) if it.nil?
      loop do
        rc = Native.chordb_iter_next(it, st)
        break if rc == Native::CHORD_ITEROVER

        check(rc, st)
        yield Native.chordb_slot_key(st), Native.chordb_slot_value(st)
      end
    ensure
      Native.chordb_iter_free(it) if it
      Native.chordb_slot_free(st)
    end

    def reply_to(slot, payload, timeout)
      call { |st| Native.chordb_reply(@node, slot, st, payload, t(timeout)) }
    end

    def register(event, block, once)
      raise ArgumentError, "unknown event #{event.inspect}" unless EVENTS.key?(event)
      raise ArgumentError, 'a block is required' unless block

      @lock.synchronize do
        @listeners[event] << [block, once]
        start_events unless @events
      end
      block
    end

    def start_events
      st = Native.chordb_slot_new
      begin
        q = Native.chordb_queue_new(handle, st, Native::CHORD_EV_ALL)
        check(Native.chordb_slot_rc(st), st) if q.nil?
      ensure
        Native.chordb_slot_free(st)
      end
      io = IO.for_fd(Native.chordb_queue_fd(q), autoclose: false)
      @events = Thread.new { pump(q, io) }
      @events.name = "chord-events #{@addr ? @addr.join(':') : 'leech'}"
      @events.report_on_exception = true
    end

    # The event thread: wait for the fd, then drain without blocking. The queue (and
    # with it the fd) is freed here, after the last wait, once the socket closed.
    def pump(queue, io)
      names = EVENTS.invert
      st = Native.chordb_slot_new
      loop do
        io.wait_readable
        loop do
          rc = Native.chordb_queue_next(queue, st, 0)
          break if rc == Native::CHORD_ETIMEDOUT
          return if rc != 0 # closed

          dispatch(names[Native.chordb_slot_type(st)], st)
        end
      end
    ensure
      Native.chordb_slot_free(st)
      Native.chordb_queue_free(queue)
    end

    def dispatch(name, st)
      return unless name

      arg = if %i[add delete].include?(name)
              Native.chordb_slot_key(st)
            else
              Event.new(name, Native.chordb_slot_key(st), Native.chordb_slot_value(st),
                        Native.chordb_slot_peer_id(st), Native.chordb_slot_peer_addr(st),
                        Native.chordb_slot_is_whisper(st) != 0)
            end
      handlers = @lock.synchronize do
        hs = @listeners[name].dup
        @listeners[name].reject! { |_, once| once }
        hs
      end
      handlers.each do |block, _|
        block.call(arg)
      rescue StandardError => e
        warn "chord: exception in #{name} listener: #{e.class}: #{e.message}"
      end
    end
  end
end
