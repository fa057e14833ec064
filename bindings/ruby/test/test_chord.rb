# SPDX-License-Identifier: MIT
# frozen_string_literal: true

# Tests of the Ruby binding against real nodes on 127.0.0.1 in this process.
require 'minitest/autorun'
require 'chord'
require 'tmpdir'

class ChordSocketTest < Minitest::Test
  FAST = { stabilize_ms: 50, fix_fingers_ms: 100, check_predecessor_ms: 100,
           rpc_timeout: 0.3, timeout: 5.0 }.freeze

  def new_socket
    s = Chord::ChordSocket.new('127.0.0.1', 0, **FAST)
    (@sockets ||= []) << s
    s
  end

  def ring
    nodes = Array.new(3) { new_socket }
    nodes[1..].each { |n| n.connect(*nodes[0].addr) }
    wait_stable(nodes)
    nodes
  end

  # Every node's successor is the next id in ring order, its predecessor the previous.
  def stable?(nodes)
    ids = nodes.map(&:id).sort
    nodes.all? do |n|
      i = ids.index(n.id)
      s = n.stats
      s[:successor_id] == ids[(i + 1) % ids.size] && s[:predecessor_id] == ids[i - 1]
    end
  end

  def wait_stable(nodes)
    deadline = Time.now + 30
    until stable?(nodes)
      flunk 'the ring did not stabilize' if Time.now > deadline
      sleep 0.05
    end
  end

  def teardown
    (@sockets || []).each(&:close)
  end

  # Waits for a value pushed by the event thread; bounded.
  def pop_within(queue, seconds = 10)
    deadline = Time.now + seconds
    loop do
      return queue.pop(true)
    rescue ThreadError
      flunk 'nothing arrived in time' if Time.now > deadline
      sleep 0.02
    end
  end

  def test_socket_has_a_bound_address_and_an_id
    s = new_socket
    assert_equal '127.0.0.1', s.host
    assert_operator s.port, :>, 0
    assert_equal 32, s.id.bytesize
    assert_equal s.id.unpack1('H*'), s.id_hex
    assert_equal s.id, s.stats[:successor_id]
    assert_equal 0, s.stats[:keys_stored]
  end

  def test_a_leech_reads_and_writes_through_a_member_and_stores_nothing
    a = new_socket
    leech = Chord::ChordSocket.new('127.0.0.1', 0, leech: true, **FAST)
    @sockets << leech
    assert_nil leech.addr
    leech.connect(*a.addr)
    leech['k'] = 'v'
    assert_equal 'v', a['k']
    assert_equal 'v', leech['k']
    assert_equal 0, leech.stats[:keys_stored]
  end

  def test_set_on_one_node_is_read_on_the_others
    a, b, c = ring
    a['k'] = 'v'
    assert_equal 'v', b['k']
    assert_equal Encoding::ASCII_8BIT, c['k'].encoding
    assert_equal 'v'.b, c.fetch('k')
  end

  def test_binary_safety_and_empty_differs_from_missing
    a, b, c = ring
    key = "\x00k\xFF\x00".b
    value = (0..255).map(&:chr).join.b
    a[key] = value
    assert_equal value, b[key]
    assert_nil c[key[0, 3]]
    a['empty'] = ''
    assert_equal '', c['empty']
    refute_nil c['empty']
    assert_nil c['missing']
    assert c.key?('empty')
    refute c.key?('missing')
  end

  def test_fetch_raises_key_error_and_delete_returns_the_value
    a, b, c = ring
    assert_raises(KeyError) { a.fetch('nope') }
    err = assert_raises(Chord::Error) { a.fetch('nope') }
    assert_equal 'CHORD_ENOTFOUND', err.name
    assert_equal 7, a.fetch('nope', 7)
    assert_equal 'nope!', a.fetch('nope') { |k| "#{k}!" }
    a['gone'] = 'x'
    assert_equal 'x', b.delete('gone')
    assert_nil c['gone']
    assert_nil c.delete('gone')
    assert_equal :absent, c.delete('gone') { :absent }
  end

  def test_each_keys_and_to_h_see_every_key_once
    a, b, c = ring
    want = (0...20).to_h { |i| ["key#{i}".b, "value#{i}".b] }
    a.update(want)
    assert_equal want.keys.sort, b.keys.sort
    assert_equal want, c.to_h
    seen = []
    b.each { |k, v| seen << [k, v] }
    assert_equal want.to_a.sort, seen.sort
    assert_equal 20, c.size
    assert_equal want.values.sort, a.values.sort
  end

  def test_shift_removes_what_it_returns
    a, _, c = ring
    a['y'] = '2'
    assert_equal %w[y 2], c.shift
    assert_nil c.shift
  end

  def test_add_and_delete_events_arrive_on_a_ruby_thread
    a, b, c = ring
    seen = Queue.new
    threads = Queue.new
    c.on(:add) do |key|
      threads << Thread.current
      seen << [:add, key]
    end
    c.on(:delete) { |key| seen << [:delete, key] }
    c.on(:add) { |_| raise 'a failing listener is contained' }
    a["evt\x00"] = 'v'
    assert_equal [:add, "evt\x00".b], pop_within(seen)
    b.delete("evt\x00")
    assert_equal [:delete, "evt\x00".b], pop_within(seen)
    t = pop_within(threads)
    refute_equal Thread.current, t
    assert_match(/chord-events/, t.name)
  end

  def test_once_fires_for_one_event
    a, _, c = ring
    seen = Queue.new
    c.once(:add) { |key| seen << key }
    c.on(:add) { |key| seen << "all:#{key}" }
    a['one'] = '1'
    a['two'] = '2'
    got = [pop_within(seen), pop_within(seen), pop_within(seen)]
    assert_equal 1, got.count { |k| !k.start_with?('all:') }
  end

  def test_broadcast_reply_and_whisper
    a, b, c = ring
    a.broadcast('hello', "\x00\xFF".b)
    m = b.recv(timeout: 10)
    assert_equal ['hello', "\x00\xFF".b], m.packets
    assert_equal a.id, m.sender
    refute m.whisper?
    m.reply('back')
    r = a.recv(timeout: 10)
    assert_equal ['back'], r.packets
    assert r.whisper?
    assert_equal b.id, r.sender
    c.whisper(a.id, 'psst')
    assert_equal ['psst'], a.recv(timeout: 10).packets
  end

  def test_recv_times_out_with_a_timeout_error
    s = new_socket
    assert_nil s.recv
    err = assert_raises(Timeout::Error) { s.recv(timeout: 0.2) }
    assert_kind_of Chord::Error, err
    assert_equal 'CHORD_ETIMEDOUT', err.name
  end

  def test_close_wakes_a_thread_blocked_in_recv
    s = Chord::ChordSocket.new('127.0.0.1', 0, **FAST)
    s.on(:add) { |_| nil }
    events = s.instance_variable_get(:@events)
    waiter = Thread.new do
      s.recv(timeout: -1)
      :returned
    rescue Chord::ClosedError => e
      e.code
    end
    sleep 0.2 # let it block; the assertions hold either way
    s.close
    assert_equal Chord::Native::CHORD_ECLOSED, waiter.join(10)&.value
    refute events.alive?
    assert_raises(Chord::ClosedError) { s['k'] }
    s.close
  end

  def test_a_thread_blocked_in_recv_can_be_killed
    s = new_socket
    waiter = Thread.new { s.recv(timeout: -1) }
    sleep 0.2 # let it block; the assertions hold either way
    waiter.kill
    refute_nil waiter.join(5), 'the killed thread did not end'
    assert_nil s.recv # the socket still works
  end

  # One long C call (a queue wait of 5 s on a queue that gets no events): if it held
  # the GVL, the main thread could not run until it returned.
  def test_a_blocking_call_releases_the_gvl
    s = Chord::ChordSocket.new('127.0.0.1', 0, **FAST)
    st = Chord::Native.chordb_slot_new
    q = Chord::Native.chordb_queue_new(s.instance_variable_get(:@node), st,
                                       Chord::Native::CHORD_EV_CONNECT)
    entered = false
    waiter = Thread.new do
      entered = true
      Chord::Native.chordb_queue_next(q, Chord::Native.chordb_slot_new, 5000)
    end
    Thread.pass until entered
    sleep 0.2 # the waiter enters its C call now, if it has not yet
    work = (1..100_000).sum # Ruby work on this thread, while the waiter blocks
    assert_equal 5_000_050_000, work
    assert waiter.alive?, 'the main thread ran only after the blocking call returned'
    s.close # wakes the waiter
    assert_equal Chord::Native::CHORD_ECLOSED, waiter.value
  ensure
    Chord::Native.chordb_queue_free(q) if q
    Chord::Native.chordb_slot_free(st) if st
  end

  def test_failures_carry_code_and_detail
    s = new_socket
    err = assert_raises(Chord::Error) { s.connect('not an address', -1) }
    assert_operator err.code, :<, 0
    assert_raises(ArgumentError) { Chord::ChordSocket.new('127.0.0.1', 0, no_such_option: 1) }
  end

  # The names come from chordb's table (checked against chord.h).
  def test_every_numeric_field_of_chord_node_opts_may_be_given_by_name
    assert_includes Chord::ChordSocket::OPTIONS, :max_clock_skew_ms
    s = Chord::ChordSocket.new('127.0.0.1', 0, max_clock_skew_ms: 2500, **FAST)
    s['k'] = 'v'
    assert_equal 'v', s['k']
    s.close
  end

  # The class of each code of chord.h's CHORD_ERRNO_MAP; nil: never raised.
  ERROR_CLASSES = {
    'CHORD_ENOTFOUND' => Chord::NotFoundError, 'CHORD_ETIMEDOUT' => Chord::TimeoutError,
    'CHORD_EINVAL' => Chord::InvalidError, 'CHORD_ETOOBIG' => Chord::ChordError,
    'CHORD_ECLOSED' => Chord::ClosedError, 'CHORD_ENOQUORUM' => Chord::ChordError,
    'CHORD_EPROTO' => Chord::ChordError, 'CHORD_ENOMEM' => Chord::ChordError,
    'CHORD_EINTERNAL' => Chord::ChordError, 'CHORD_EUNREACHABLE' => Chord::ChordError,
    'CHORD_EREFUSED' => Chord::ChordError, 'CHORD_EBUSY' => Chord::ChordError,
    'CHORD_EIO' => Chord::ChordError,
    'CHORD_ITEROVER' => nil # not an error: the end of an iteration
  }.freeze

  def test_every_code_of_the_c_table_maps_to_its_error_class
    native = Chord::Native
    codes = Array.new(native.chordb_err_count) { |i| native.chordb_err_code(i) }
    names = codes.map { |c| native.chordb_err_name(c) }
    assert_equal ERROR_CLASSES.keys.sort, names.sort # a new code needs a class here
    codes.zip(names).each do |code, name|
      assert_equal code, native.const_get(name), "#{name}: chord.i's constant"
      klass = ERROR_CLASSES.fetch(name)
      next if klass.nil?

      err = Chord.error(code, 'why')
      assert_instance_of klass, err, name
      assert_kind_of Chord::Error, err
      assert_equal [code, name, 'why'], [err.code, err.name, err.detail]
      assert_equal "#{name}: #{native.chordb_strerror(code)} (why)", err.message
    end
  end

  def test_library_version
    assert_match(/\A\d+\.\d+\.\d+\z/, Chord::LIBRARY_VERSION)
  end

  def test_packets_are_length_prefixed
    p = Chord.pack(['a', '', "\x00\xFF".b])
    assert_equal "\x00\x00\x00\x01a\x00\x00\x00\x00\x00\x00\x00\x02\x00\xFF".b, p
    assert_equal ['a', '', "\x00\xFF".b], Chord.unpack(p)
    assert_raises(ArgumentError) { Chord.unpack("\x00\x00\x00\x05ab".b) }
  end
  def test_a_node_with_a_data_dir_keeps_its_records_and_id_across_a_restart
    Dir.mktmpdir do |tmp|
      folder = File.join(tmp, 'node')
      s = Chord::ChordSocket.new('127.0.0.1', 0, data_dir: folder, **FAST)
      id = s.id
      s['kept'] = 'v'
      s['gone'] = 'x'
      s.delete('gone')
      err = assert_raises(Chord::ChordError) { Chord::ChordSocket.new('127.0.0.1', 0, data_dir: folder, **FAST) }
      assert_equal Chord::Native::CHORD_EBUSY, err.code
      s.close
      s = Chord::ChordSocket.new('127.0.0.1', 0, data_dir: folder, sync: :relaxed, **FAST)
      assert_equal id, s.id
      assert_equal 'v', s['kept']
      refute s.key?('gone')
      s.close
      assert_raises(ArgumentError) { Chord::ChordSocket.new('127.0.0.1', 0, data_dir: folder, sync: :sometimes, **FAST) }
    end
  end
end
