# SPDX-License-Identifier: MIT
"""Tests of the Python binding against real nodes on 127.0.0.1 in this process."""
import collections.abc
import threading
import time

import pytest

import chord

FAST = dict(stabilize_ms=50, fix_fingers_ms=100, check_predecessor_ms=100, rpc_timeout=0.3,
            timeout=5.0)


def eventually(pred, limit=15.0):
    """Polls pred until it holds: rings converge in the background. Bounded."""
    end = time.monotonic() + limit
    while True:
        try:
            if pred():
                return True
        except chord.ChordError:
            pass
        if time.monotonic() > end:
            return False
        time.sleep(0.05)


def stable(nodes):
    """Every node's successor is the next id in ring order, its predecessor the previous."""
    ids = sorted(n.id for n in nodes)
    for n in nodes:
        i = ids.index(n.id)
        s = n.stats()
        if s['successor_id'] != ids[(i + 1) % len(ids)]:
            return False
        if s['predecessor_id'] != ids[i - 1]:
            return False
    return True


@pytest.fixture
def ring():
    nodes = [chord.ChordSocket('127.0.0.1', 0, **FAST) for _ in range(3)]
    host, port = nodes[0].addr
    for n in nodes[1:]:
        n.connect(host, port)
    assert eventually(lambda: stable(nodes), 30), 'the ring did not stabilize'
    yield nodes
    for n in nodes:
        n.close()


def test_socket_is_a_mutable_mapping_with_bound_address_and_id():
    with chord.ChordSocket('127.0.0.1', 0, **FAST) as sock:
        alone = sock.stats()
        assert alone['successor_id'] == sock.id and alone['keys_stored'] == 0
        assert isinstance(sock, collections.abc.MutableMapping)
        assert sock.addr[0] == '127.0.0.1' and sock.addr[1] > 0
        assert isinstance(sock.id, bytes) and len(sock.id) == 32
        assert sock.id.hex() == sock.id_hex
        assert sock and sock == sock and len({sock}) == 1  # identity, without a walk
    assert sock.closed


def test_set_on_one_node_is_read_on_the_others(ring):
    a, b, c = ring
    a['k'] = 'v'
    assert b['k'] == b'v'
    assert c.get(b'k') == b'v'
    assert c[u'k'] == b'v'
    b.set(b'k', b'w')
    assert a['k'] == b'w'


def test_str_keys_and_values_are_utf8_bytes(ring):
    a, b, _ = ring
    a['clé'] = 'välue'
    assert b['clé'.encode('utf-8')] == 'välue'.encode('utf-8')


def test_binary_keys_and_values_survive_and_empty_differs_from_missing(ring):
    a, b, c = ring
    key = b'\x00k\xff\x00'
    value = bytes(range(256)) + b'\x00'
    a[key] = value
    assert b[key] == value
    assert b.get(b'\x00k\xff') is None  # a prefix is another key
    a[b'empty'] = b''
    assert c.get(b'empty', b'default') == b''
    assert c.get(b'missing', b'default') == b'default'
    assert b'empty' in c and b'missing' not in c


def test_missing_keys_raise_key_error(ring):
    a, b, _ = ring
    assert a.get('nope') is None
    with pytest.raises(KeyError):
        a['nope']
    with pytest.raises(KeyError):
        del b['nope']
    with pytest.raises(KeyError):
        a.pop('nope')
    assert a.pop('nope', 7) == 7


def test_delete_is_seen_by_every_node(ring):
    a, b, c = ring
    a['gone'] = 'x'
    assert c['gone'] == b'x'
    del b['gone']
    assert a.get('gone') is None
    assert 'gone' not in c


def test_update_iteration_and_copy_see_every_key_once(ring):
    a, b, c = ring
    want = {('key%d' % i).encode(): ('value%d' % i).encode() for i in range(20)}
    a.update({k.decode(): v for k, v in want.items()})
    assert sorted(b.keys()) == sorted(want)
    assert sorted(iter(c)) == sorted(want)
    assert sorted(c.values()) == sorted(want.values())
    assert dict(b.items()) == want
    assert a.copy() == want
    assert len(c) == 20


def test_pop_and_popitem_remove_what_they_return(ring):
    a, b, c = ring
    a.update(x='1', y='2')
    assert b.pop('x') == b'1'
    assert 'x' not in a
    k, v = c.popitem()
    assert (k, v) == (b'y', b'2')
    with pytest.raises(KeyError):
        a.popitem()


def test_add_and_delete_events_reach_handlers(ring):
    a, b, c = ring
    added, deleted = [], []
    got_add, got_delete = threading.Event(), threading.Event()

    @c.on('add')
    def on_add(sock, key):
        assert sock is c
        added.append(key)
        got_add.set()

    def on_delete(sock, key):
        deleted.append(key)
        got_delete.set()

    c.on('delete', on_delete)
    a['evt\x00'] = 'v'
    assert got_add.wait(10)
    del b['evt\x00']
    assert got_delete.wait(10)
    assert added == [b'evt\x00']
    assert deleted == [b'evt\x00']


def test_once_fires_once_and_a_raising_handler_does_not_stop_events(ring, capsys):
    a, _, c = ring
    seen, once_seen = [], []
    done = threading.Event()

    def boom(sock, key):
        raise RuntimeError('handler failure is contained')

    def record(sock, key):
        seen.append(key)
        if len(seen) == 2:
            done.set()

    c.on('add', boom)
    c.once('add', lambda sock, key: once_seen.append(key))
    c.on('add', record)
    a['one'] = '1'
    a['two'] = '2'
    assert done.wait(10)
    assert sorted(seen) == [b'one', b'two']
    assert len(once_seen) == 1
    assert 'handler failure is contained' in capsys.readouterr().err


def test_broadcast_whisper_and_reply(ring):
    a, b, c = ring
    a.send('hello', b'\x00bin')
    m = b.recv(timeout=10)
    assert m.packets == (b'hello', b'\x00bin')
    assert m.sender == a.id and not m.is_whisper
    m.reply('back')
    r = a.recv(timeout=10)  # a broadcast never comes back to its sender
    assert r.packets == (b'back',) and r.sender == b.id and r.is_whisper
    assert c.recv(timeout=10).packets == (b'hello', b'\x00bin')
    c.whisper(a.id, 'psst', b'')
    w = a.recv(timeout=10)
    assert w.packets == (b'psst', b'') and w.sender == c.id


def test_message_event_then_recv(ring):
    a, b, _ = ring
    got = []
    ready = threading.Event()

    @b.on('message')
    def on_message(sock):
        got.append(sock.recv(timeout=5).packets)
        ready.set()

    a.send('ping')
    assert ready.wait(10)
    assert got == [(b'ping',)]


def test_recv_timeout_raises_timeout_error_and_no_wait_returns_none(ring):
    a = ring[0]
    assert a.recv() is None
    with pytest.raises(TimeoutError) as e:
        a.recv(timeout=0.2)
    assert isinstance(e.value, chord.ChordError)
    assert e.value.name == 'CHORD_ETIMEDOUT'


def test_close_wakes_a_thread_blocked_in_recv():
    sock = chord.ChordSocket('127.0.0.1', 0, **FAST)
    result = []
    started = threading.Event()

    def waiter():
        started.set()
        try:
            sock.recv(timeout=-1)
            result.append('returned')
        except chord.ClosedError as e:
            result.append(e.code)

    t = threading.Thread(target=waiter)
    t.start()
    started.wait(5)
    time.sleep(0.2)  # let it block; the assertion holds either way
    sock.close()
    t.join(10)
    assert not t.is_alive()
    assert result == [chord.chord_native.CHORD_ECLOSED]
    with pytest.raises(chord.ClosedError):
        sock['k']


def test_close_stops_the_event_dispatcher():
    sock = chord.ChordSocket('127.0.0.1', 0, **FAST)
    sock.on('add', lambda s, k: None)
    dispatcher = sock._dispatcher
    assert dispatcher.is_alive()
    sock.close()
    assert not dispatcher.is_alive()
    sock.close()  # idempotent


def test_failures_raise_chord_errors_with_detail():
    with chord.ChordSocket('127.0.0.1', 0, **FAST) as sock:
        with pytest.raises(chord.ChordError) as e:
            sock.connect('not an address', -1)
        assert e.value.code < 0 and e.value.name.startswith('CHORD_E')
        with pytest.raises(TypeError):
            sock['k'] = 3
    with pytest.raises(TypeError):
        chord.ChordSocket('127.0.0.1', 0, no_such_option=1)


def test_every_numeric_field_of_chord_node_opts_may_be_given_by_name():
    # The names come from chordb's table (checked against chord.h), so a
    # field appended to chord.h needs no edit here (max_clock_skew_ms did).
    assert 'max_clock_skew_ms' in chord._OPTION_NAMES
    with chord.ChordSocket('127.0.0.1', 0, max_clock_skew_ms=2500, max_pending=64, **FAST) as s:
        s['k'] = b'v'
        assert s['k'] == b'v'
    with pytest.raises(chord.ChordError):  # checked by the library: successors < replicas
        chord.ChordSocket('127.0.0.1', 0, replicas=5, successors=4)


# The exception class of each code of chord.h's CHORD_ERRNO_MAP; None: never raised.
ERROR_CLASSES = {
    'CHORD_ENOTFOUND': chord.NotFoundError,
    'CHORD_ETIMEDOUT': chord.ChordTimeoutError,
    'CHORD_EINVAL': chord.InvalidError,
    'CHORD_ETOOBIG': chord.TooBigError,
    'CHORD_ECLOSED': chord.ClosedError,
    'CHORD_ENOQUORUM': chord.NoQuorumError,
    'CHORD_EPROTO': chord.ProtocolError,
    'CHORD_ENOMEM': chord.ChordInternalError,
    'CHORD_EINTERNAL': chord.ChordInternalError,
    'CHORD_EUNREACHABLE': chord.UnreachableError,
    'CHORD_EREFUSED': chord.RefusedError,
    'CHORD_EBUSY': chord.BusyError,
    'CHORD_EIO': chord.ChordIOError,
    'CHORD_ITEROVER': None,  # not an error: the end of an iteration
}


def test_every_code_of_the_c_table_maps_to_its_exception_class():
    n = chord.chord_native
    codes = [n.chordb_err_code(i) for i in range(n.chordb_err_count())]
    names = [n.chordb_err_name(c) for c in codes]
    assert sorted(names) == sorted(ERROR_CLASSES)  # a new code needs a class here
    for code, name in zip(codes, names):
        assert getattr(n, name) == code  # chord.i's constant
        cls = ERROR_CLASSES[name]
        if cls is None:
            continue
        err = chord._error(code, 'why')
        assert type(err) is cls and isinstance(err, chord.ChordError)
        assert (err.code, err.name, err.detail) == (code, name, 'why')
        assert str(err) == '%s: %s (why)' % (name, n.chordb_strerror(code))


def test_version_is_the_loaded_library_version():
    assert chord.__version__.count('.') == 2
    assert all(part.isdigit() for part in chord.__version__.split('.'))


def test_packets_format_is_length_prefixed():
    payload = chord.pack_packets(['a', b'', b'\x00\xff'])
    assert payload == b'\x00\x00\x00\x01a\x00\x00\x00\x00\x00\x00\x00\x02\x00\xff'
    assert chord.unpack_packets(payload) == (b'a', b'', b'\x00\xff')
    with pytest.raises(ValueError):
        chord.unpack_packets(b'\x00\x00\x00\x05ab')


def test_connect_event_fires_when_a_peer_links_up():
    with chord.ChordSocket('127.0.0.1', 0, **FAST) as a, \
            chord.ChordSocket('127.0.0.1', 0, **FAST) as b:
        linked = threading.Event()
        seen = []

        @a.on('connect')
        def on_connect(sock):
            seen.append(sock)
            linked.set()

        b.connect(*a.addr)
        assert linked.wait(10)
        assert seen[0] is a


def test_a_handler_may_close_its_own_socket(ring):
    a, _, c = ring
    closed = threading.Event()

    @c.on('add')
    def close_on_add(sock, key):
        sock.close()
        closed.set()

    a['bye'] = 'now'
    assert closed.wait(10)
    assert c.closed
    with pytest.raises(chord.ClosedError):
        c.get('bye')
    assert eventually(lambda: a.get('bye') == b'now')  # c handed its keys over


def test_py2p_connect_then_join_and_unjoin_then_join():
    with chord.ChordSocket('127.0.0.1', 0, **FAST) as a, \
            chord.ChordSocket('127.0.0.1', 0, **FAST) as b:
        with pytest.raises(chord.ChordError):
            b.join()  # nothing to join through yet
        b.connect(*a.addr)
        b.join()  # py2p's sequence: already seeding, nothing more to do
        assert eventually(lambda: stable([a, b]))
        b['seeded'] = 'yes'
        b.unjoin()
        assert b.stats()['successor_id'] == b.id  # a ring of one again
        assert eventually(lambda: a.get('seeded') == b'yes')  # its keys were handed over
        b.join()
        assert eventually(lambda: stable([a, b]))


def test_a_leech_connects_through_a_member_and_gets_and_sets_storing_nothing(ring):
    a, b, c = ring
    with chord.ChordSocket('127.0.0.1', 0, leech=True, **FAST) as leech:
        assert leech.addr is None and leech.out_addr is None  # no address: it never listens
        assert len(leech.id) == 32
        assert 'leech' in repr(leech)
        assert leech.connect(*b.addr)
        a['from-member'] = 'm'
        assert leech['from-member'] == b'm'
        leech['from-leech'] = 'l'
        assert c['from-leech'] == b'l'
        del leech['from-member']
        assert a.get('from-member') is None
        assert leech.get('missing') is None
        assert leech.stats()['keys_stored'] == 0  # a light client stores nothing
        for n in ring:
            assert n.id not in (None, leech.id)
    assert 'closed' in repr(leech)
    assert c['from-leech'] == b'l'  # the members keep what it wrote


def test_network_name_and_key_keep_strangers_out():
    key = bytes(range(32))
    opts = dict(FAST, network='app', network_key=key, replicas=2)
    with chord.ChordSocket('127.0.0.1', 0, **opts) as a, \
            chord.ChordSocket('127.0.0.1', 0, **opts) as member, \
            chord.ChordSocket('127.0.0.1', 0, **dict(opts, network='other')) as stranger, \
            chord.ChordSocket('127.0.0.1', 0, **dict(opts, network_key=b'\x01' * 32)) as keyless:
        member.connect(*a.addr)
        with pytest.raises(chord.RefusedError) as e:
            stranger.connect(*a.addr)
        assert e.value.detail  # the reason, from chord_error_last()
        with pytest.raises(chord.RefusedError):
            keyless.connect(*a.addr)
    with pytest.raises(chord.InvalidError):
        chord.ChordSocket('127.0.0.1', 0, network_key=b'short')


def test_a_blocking_call_releases_the_gil():
    """One long C call (a 5 s wait on a queue that gets no events): if it held the GIL,
    this thread could not run Python code until it returned."""
    n = chord.chord_native
    with chord.ChordSocket('127.0.0.1', 0, **FAST) as sock:
        st = n.chordb_slot_new()
        q = n.chordb_queue_new(sock._handle(), st, n.CHORD_EV_CONNECT)
        entered = threading.Event()
        rc = []

        def wait():
            entered.set()
            s = n.chordb_slot_new()
            rc.append(n.chordb_queue_next(q, s, 5000))
            n.chordb_slot_free(s)

        t = threading.Thread(target=wait)
        t.start()
        entered.wait(5)
        time.sleep(0.2)  # the waiter enters its C call now, if it has not yet
        assert sum(range(100000)) == 4999950000  # Python work while the waiter blocks
        assert t.is_alive(), 'this thread ran only after the blocking call returned'
        sock.close()  # wakes the waiter
        t.join(10)
        assert rc == [n.CHORD_ECLOSED]
        n.chordb_queue_free(q)
        n.chordb_slot_free(st)


def test_a_node_with_a_data_dir_keeps_its_records_and_id_across_a_restart(tmp_path):
    folder = tmp_path / 'node'
    with chord.ChordSocket(data_dir=folder, **FAST) as sock:
        node_id = sock.id
        sock['kept'] = b'v'
        sock['gone'] = b'x'
        del sock['gone']
        with pytest.raises(chord.BusyError):  # one node per folder
            chord.ChordSocket(data_dir=folder, **FAST)
    with chord.ChordSocket(data_dir=folder, sync='relaxed', **FAST) as sock:
        assert sock.id == node_id
        assert sock['kept'] == b'v'
        assert 'gone' not in sock
    with pytest.raises(ValueError):
        chord.ChordSocket(data_dir=folder, sync='sometimes', **FAST)
