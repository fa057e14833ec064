# SPDX-License-Identifier: MIT
"""libchord for Python: a distributed dictionary over a Chord ring.

``chord.ChordSocket`` mirrors py2p's ``ChordSocket`` so that py2p code ports by
changing its import::

    import chord
    with chord.ChordSocket('127.0.0.1', 0) as sock:
        sock.connect('127.0.0.1', 4444)
        sock['k'] = 'v'             # str becomes UTF-8 bytes
        assert sock[b'k'] == b'v'   # values come back as bytes

Differences from py2p, chosen on purpose:

* Seeding is the default. ``connect(host, port)`` joins the ring as a full
  member that stores its share of the keys. ``unjoin()`` leaves gracefully
  (hands the keys over; the node stays up as a ring of one) and ``join()``
  rejoins through the last address given to ``connect``. For a node that stores
  nothing (py2p's leeching), create it with ``leech=True``.
* Timeouts are in seconds (``timeout=`` for every call, per-call overrides), and
  raise ``TimeoutError``.
* ``recv()`` returns ``None`` at once when no message waits, as in py2p, unless
  given a ``timeout``: then it waits that long and raises ``TimeoutError``.
* Messages carry byte packets. ``send(*packets)`` packs them into one payload:
  each packet is a 4-byte big-endian length followed by its bytes. Every libchord
  binding uses this format, so they can talk to each other.
"""

import atexit
import collections.abc
import os
import struct
import sys
import threading
import time
import traceback
import weakref

from . import chord_native as _n

__version__ = _n.chordb_version()  # of the libchord actually loaded

__all__ = ['ChordSocket', 'Message', 'ChordError', 'NotFoundError', 'ChordTimeoutError',
           'InvalidError', 'TooBigError', 'ClosedError', 'NoQuorumError', 'ProtocolError',
           'UnreachableError', 'RefusedError', 'BusyError', 'ChordIOError', 'ChordInternalError',
           'pack_packets', 'unpack_packets']


class ChordError(Exception):
    """A libchord failure. ``code`` is the CHORD_E* value, ``name`` its name and
    ``detail`` the one-line chord_error_last() of the failing call."""

    def __init__(self, code, detail=''):
        self.code = code
        self.name = _n.chordb_err_name(code)
        self.detail = detail
        msg = '%s: %s' % (self.name, _n.chordb_strerror(code))
        if detail:
            msg += ' (%s)' % detail
        super().__init__(msg)

    def __str__(self):
        return self.args[0]


class NotFoundError(ChordError, KeyError):
    """CHORD_ENOTFOUND; also a KeyError."""


class ChordTimeoutError(ChordError, TimeoutError):
    """CHORD_ETIMEDOUT; also the built-in TimeoutError."""


class InvalidError(ChordError, ValueError):
    """CHORD_EINVAL: a bad argument."""


class TooBigError(ChordError, ValueError):
    """CHORD_ETOOBIG: a key, value or message over its limit."""


class ClosedError(ChordError):
    """CHORD_ECLOSED: the socket was closed."""


class NoQuorumError(ChordError):
    """CHORD_ENOQUORUM: too few replicas acknowledged a write."""


class ProtocolError(ChordError):
    """CHORD_EPROTO."""


class UnreachableError(ChordError, ConnectionError):
    """CHORD_EUNREACHABLE: no connection could be made."""


class RefusedError(ChordError, ConnectionRefusedError):
    """CHORD_EREFUSED: another network, or a different network key."""


class BusyError(ChordError):
    """CHORD_EBUSY: too much pending work; retry."""


class ChordIOError(ChordError, OSError):
    """CHORD_EIO: an operating-system error (bind, file)."""


class ChordInternalError(ChordError):
    """CHORD_ENOMEM or CHORD_EINTERNAL."""


_ERRORS = {
    _n.CHORD_ENOTFOUND: NotFoundError,
    _n.CHORD_ETIMEDOUT: ChordTimeoutError,
    _n.CHORD_EINVAL: InvalidError,
    _n.CHORD_ETOOBIG: TooBigError,
    _n.CHORD_ECLOSED: ClosedError,
    _n.CHORD_ENOQUORUM: NoQuorumError,
    _n.CHORD_EPROTO: ProtocolError,
    _n.CHORD_EUNREACHABLE: UnreachableError,
    _n.CHORD_EREFUSED: RefusedError,
    _n.CHORD_EBUSY: BusyError,
    _n.CHORD_EIO: ChordIOError,
}


def _error(code, detail=''):
    return _ERRORS.get(code, ChordInternalError)(code, detail)


def _check(rc, slot):
    if rc < 0:
        raise _error(rc, _n.chordb_slot_detail(slot))
    return rc


def _bytes(x, what='key'):
    """str becomes UTF-8; bytes-like objects become bytes."""
    if isinstance(x, str):
        return x.encode('utf-8')
    if isinstance(x, (bytes, bytearray, memoryview)):
        return bytes(x)
    raise TypeError('%s must be str or bytes-like, not %s' % (what, type(x).__name__))


def pack_packets(packets):
    """Packs packets (str or bytes) into one payload: 4-byte big-endian length, bytes."""
    out = []
    for p in packets:
        b = _bytes(p, 'packet')
        out.append(struct.pack('>I', len(b)))
        out.append(b)
    return b''.join(out)


def unpack_packets(payload):
    """The inverse of pack_packets. Raises ValueError on a malformed payload."""
    packets, i, n = [], 0, len(payload)
    while i < n:
        if n - i < 4:
            raise ValueError('truncated packet length')
        (size,) = struct.unpack_from('>I', payload, i)
        i += 4
        if size > n - i:
            raise ValueError('packet length past the end of the payload')
        packets.append(bytes(payload[i:i + size]))
        i += size
    return tuple(packets)


def _hostport(host, port):
    """'host:port', with an IPv6 host in brackets."""
    host = str(host)
    if ':' in host and not host.startswith('['):
        host = '[%s]' % host
    return '%s:%d' % (host, int(port))


def _ms(seconds, default_ms):
    if seconds is None:
        return default_ms
    if seconds < 0:
        return -1
    return max(1, int(seconds * 1000))


class Message(object):
    """A received message, as py2p's: ``packets``, ``sender`` (the sender's 32-byte
    id), ``addr`` (its "host:port"), ``is_whisper`` and ``reply(*packets)``."""

    def __init__(self, sock, slot):
        self._sock = sock
        self._slot = slot  # keeps the event, which chord_reply needs
        self.payload = _n.chordb_slot_value(slot)
        try:
            self.packets = unpack_packets(self.payload)
        except ValueError:
            self.packets = (self.payload,)
        self.sender = _n.chordb_slot_peer_id(slot)
        self.addr = _n.chordb_slot_peer_addr(slot)
        self.is_whisper = bool(_n.chordb_slot_is_whisper(slot))

    def reply(self, *packets, timeout=None):
        """Whispers packets back to the sender."""
        s = self._sock
        st = _n.chordb_slot_new()
        try:
            _check(_n.chordb_reply(s._handle(), self._slot, st, pack_packets(packets),
                                   _ms(timeout, s._timeout_ms)), st)
        finally:
            _n.chordb_slot_free(st)

    def __repr__(self):
        return 'Message(packets=%r, sender=%s)' % (self.packets, self.sender.hex()[:16])

    def __del__(self):
        slot, self._slot = getattr(self, '_slot', None), None
        if slot is not None and _n is not None:
            _n.chordb_slot_free(slot)


_EVENTS = {'add': _n.CHORD_EV_ADD, 'delete': _n.CHORD_EV_DELETE,
           'connect': _n.CHORD_EV_CONNECT, 'message': _n.CHORD_EV_MESSAGE}

# The chord_node_opts fields that may be given by name: chordb's list, less
# the two this module sets from its own arguments (replicas, leech).
def _option_names():
    names, i = set(), 0
    while _n.chordb_opts_uint_name(i) is not None:
        names.add(_n.chordb_opts_uint_name(i))
        i += 1
    return frozenset(names - {'replicas', 'flags'})


_OPTION_NAMES = _option_names()


class ChordSocket(collections.abc.MutableMapping):
    """A node of a libchord network, used as a dictionary shared by the network.

    ChordSocket(addr='127.0.0.1', port=0, prot=None, out_addr=None, *,
                network=None, network_key=None, replicas=None, timeout=5.0,
                rpc_timeout=None, leech=False, identity_file=None, data_dir=None,
                **options)

    ``prot`` (py2p's protocol) may be a network name, or an object whose
    ``subnet`` attribute is one. ``out_addr`` is the (host, port) peers should
    use to reach this node. ``timeout`` and ``rpc_timeout`` are in seconds.
    Any other chord_node_opts field (``stabilize_ms``, ``successors``, ...) can
    be given by name. Port 0 picks a free port: ``sock.addr`` tells which.
    A leech (``leech=True``) listens nowhere: its ``addr`` is None (and so is
    ``out_addr`` unless given), and it reaches the ring through ``connect``.
    ``data_dir`` makes the node durable: its records, its identity (unless
    ``identity_file`` is given) and the members it knew live in that folder;
    ``sync='relaxed'`` commits with one fdatasync instead of two.
    """

    def __init__(self, addr='127.0.0.1', port=0, prot=None, out_addr=None, *, network=None,
                 network_key=None, replicas=None, timeout=5.0, rpc_timeout=None, leech=False,
                 identity_file=None, data_dir=None, **options):
        self._node = None
        self._closed = False
        self._lock = threading.RLock()
        self._handlers = {name: [] for name in _EVENTS}
        self._queue = None
        self._dispatcher = None
        self._seed = None
        self._joined = False
        self._timeout_ms = _ms(timeout, 5000)
        if network is None and prot is not None:
            network = prot if isinstance(prot, str) else getattr(prot, 'subnet', None)
        o = _n.chordb_opts_new()
        st = _n.chordb_slot_new()
        try:
            def opt(rc, name):
                if rc != 0:
                    raise _error(rc, 'bad option %s' % name)

            opt(_n.chordb_opts_set_str(o, 'listen', _hostport(addr, port)), 'addr')
            if out_addr is not None:
                opt(_n.chordb_opts_set_str(o, 'advertise', _hostport(*out_addr)), 'out_addr')
            if network is not None:
                opt(_n.chordb_opts_set_str(o, 'network', network), 'network')
            if network_key is not None:
                opt(_n.chordb_opts_set_network_key(o, _bytes(network_key, 'network_key')),
                    'network_key')
            if identity_file is not None:
                opt(_n.chordb_opts_set_str(o, 'identity_file', str(identity_file)), 'identity_file')
            if data_dir is not None:
                opt(_n.chordb_opts_set_str(o, 'data_dir', os.fspath(data_dir)), 'data_dir')
            if isinstance(options.get('sync'), str):
                syncs = {'durable': _n.CHORD_SYNC_DURABLE, 'relaxed': _n.CHORD_SYNC_RELAXED}
                if options['sync'] not in syncs:
                    raise ValueError("sync must be 'durable' or 'relaxed'")
                options['sync'] = syncs[options['sync']]
            if replicas is not None:
                opt(_n.chordb_opts_set_uint(o, 'replicas', int(replicas)), 'replicas')
            if rpc_timeout is not None:
                opt(_n.chordb_opts_set_uint(o, 'rpc_timeout_ms', _ms(rpc_timeout, 0)),
                    'rpc_timeout')
            opt(_n.chordb_opts_set_uint(o, 'default_timeout_ms', max(1, self._timeout_ms)),
                'timeout')
            if leech:
                opt(_n.chordb_opts_set_uint(o, 'flags', _n.CHORD_NODE_CLIENT), 'leech')
            for name, value in options.items():
                if name not in _OPTION_NAMES:
                    raise TypeError('unknown option %r' % name)
                opt(_n.chordb_opts_set_uint(o, name, int(value)), name)
            node = _n.chordb_node_new(o, st)
            if node is None:
                raise _error(_n.chordb_slot_rc(st), _n.chordb_slot_detail(st))
            self._node = node
        finally:
            _n.chordb_slot_free(st)
            _n.chordb_opts_free(o)
        bound = _n.chordb_node_addr(self._node)
        if bound:
            host, _, p = bound.rpartition(':')
            self.addr = (host.strip('[]'), int(p))
        else:
            self.addr = None  # a leech (light client) listens nowhere and has no address
        self.out_addr = tuple(out_addr) if out_addr is not None else self.addr
        self.id = _n.chordb_node_id(self._node)
        self.id_hex = _n.chordb_node_id_hex(self._node)
        _LIVE[id(self)] = self  # a weak reference

    # ------------------------------------------------------------ plumbing

    def _handle(self):
        # The handle stays valid until __del__ (no thread can be inside a method
        # then); after close() every call on it returns CHORD_ECLOSED.
        node = self._node
        if node is None or self._closed:
            raise ClosedError(_n.CHORD_ECLOSED, 'the socket is closed')
        return node

    def _call(self, fn, *args):
        """Runs a chordb call that fills a slot; returns the slot (caller frees)."""
        st = _n.chordb_slot_new()
        try:
            _check(fn(self._handle(), st, *args), st)
        except BaseException:
            _n.chordb_slot_free(st)
            raise
        return st

    def _simple(self, fn, *args):
        _n.chordb_slot_free(self._call(fn, *args))

    def _timeout(self, timeout):
        return _ms(timeout, self._timeout_ms)

    # ----------------------------------------------------------- lifetime

    @property
    def closed(self):
        return self._closed or self._node is None

    def close(self, abort=False):
        """Leaves the ring gracefully (abort=True: as if crashed) and frees the node.
        Threads blocked in recv() get ClosedError; event handlers stop. Idempotent."""
        with self._lock:
            if self._node is None or self._closed:
                return
            self._closed = True
            # Wakes the dispatcher and blocked calls, waits for calls in flight.
            _n.chordb_node_close(self._node, 1 if abort else 0)
            self._queue = None  # the dispatcher frees it on its way out
            dispatcher, self._dispatcher = self._dispatcher, None
        if dispatcher is not None and dispatcher is not threading.current_thread():
            dispatcher.join()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        node, self._node = getattr(self, '_node', None), None
        if node is not None and _n is not None:
            self._closed = True
            _n.chordb_node_release(node)  # closes first if still open

    # A socket is a network endpoint first: it compares and hashes by identity, and is
    # always true, so that `sock in sockets` or `if sock:` never walk the network.
    # Compare contents with copy().
    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__

    def __bool__(self):
        return True

    def __repr__(self):
        if self.closed:
            state = 'closed'
        elif self.addr is None:
            state = 'leech'
        else:
            state = '%s:%d' % self.addr
        return '<chord.ChordSocket %s>' % state

    # ------------------------------------------------------------- network

    def connect(self, addr, port, timeout=None):
        """Joins the ring that the node at (addr, port) belongs to, as a seeding member
        (a leech: as a light client that routes its calls through the ring)."""
        seed = _hostport(addr, port)
        self._simple(_n.chordb_node_join, seed, self._timeout(timeout))
        self._seed, self._joined = seed, True
        return True

    def join(self, timeout=None):
        """Seeds again after unjoin(), through the last connect() address. connect()
        already joins, so py2p's connect(); join() sequence works: then it does nothing."""
        if self._joined:
            return
        if self._seed is None:
            raise InvalidError(_n.CHORD_EINVAL, 'connect() first')
        self._simple(_n.chordb_node_join, self._seed, self._timeout(timeout))
        self._joined = True

    def unjoin(self, timeout=None):
        """Leaves the ring gracefully, handing this node's keys over. The node stays up,
        as a ring of one, until join() or connect()."""
        self._simple(_n.chordb_node_leave, self._timeout(timeout))
        self._joined = False

    _STATS = ('keys_stored', 'keys_owned', 'tombstones', 'msgs_sent', 'msgs_received',
              'bytes_sent', 'bytes_received', 'connections', 'successors', 'lookups',
              'lookup_hops')

    def stats(self):
        """A snapshot of the node's state: the numbers of chord_node_stats, plus
        successor_id and predecessor_id (bytes, or None without a predecessor)."""
        st = self._call(_n.chordb_node_stats)
        try:
            out = {name: _n.chordb_slot_stat(st, name) for name in self._STATS}
            out['successor_id'] = _n.chordb_slot_key(st)
            has_pred = _n.chordb_slot_stat(st, 'has_predecessor') != 0
            out['predecessor_id'] = _n.chordb_slot_value(st) if has_pred else None
            return out
        finally:
            _n.chordb_slot_free(st)

    # ---------------------------------------------------------- dictionary

    def get(self, key, default=None, timeout=None):
        """The value of key as bytes, or default when the key is absent."""
        st = _n.chordb_slot_new()
        try:
            rc = _n.chordb_get(self._handle(), st, _bytes(key), self._timeout(timeout))
            if rc == _n.CHORD_ENOTFOUND:
                return default
            _check(rc, st)
            return _n.chordb_slot_value(st)
        finally:
            _n.chordb_slot_free(st)

    def __getitem__(self, key):
        st = _n.chordb_slot_new()
        try:
            rc = _n.chordb_get(self._handle(), st, _bytes(key), self._timeout_ms)
            if rc == _n.CHORD_ENOTFOUND:
                raise KeyError(key)
            _check(rc, st)
            return _n.chordb_slot_value(st)
        finally:
            _n.chordb_slot_free(st)

    def set(self, key, value, timeout=None):
        """Stores value (str or bytes) under key across the key's replicas."""
        self._simple(_n.chordb_set, _bytes(key), _bytes(value, 'value'), self._timeout(timeout))

    def __setitem__(self, key, value):
        self.set(key, value)

    def delete(self, key, timeout=None):
        """Deletes key. Raises KeyError if it is absent."""
        st = _n.chordb_slot_new()
        try:
            rc = _n.chordb_delete(self._handle(), st, _bytes(key), self._timeout(timeout))
            if rc == _n.CHORD_ENOTFOUND:
                raise KeyError(key)
            _check(rc, st)
        finally:
            _n.chordb_slot_free(st)

    def __delitem__(self, key):
        self.delete(key)

    def __contains__(self, key):
        return self.get(key, _MISSING) is not _MISSING

    _marker = object()

    def pop(self, key, default=_marker, timeout=None):
        """Removes key and returns its value, atomically at the key's owner. Without a
        default, raises KeyError when the key is absent."""
        st = _n.chordb_slot_new()
        try:
            rc = _n.chordb_pop(self._handle(), st, _bytes(key), self._timeout(timeout))
            if rc == _n.CHORD_ENOTFOUND:
                if default is self._marker:
                    raise KeyError(key)
                return default
            _check(rc, st)
            return _n.chordb_slot_value(st)
        finally:
            _n.chordb_slot_free(st)

    def popitem(self, timeout=None):
        """Removes and returns some (key, value). Raises KeyError when the network is empty."""
        st = _n.chordb_slot_new()
        try:
            rc = _n.chordb_popitem(self._handle(), st, self._timeout(timeout))
            if rc == _n.CHORD_ENOTFOUND:
                raise KeyError('popitem(): the network holds no keys')
            _check(rc, st)
            return _n.chordb_slot_key(st), _n.chordb_slot_value(st)
        finally:
            _n.chordb_slot_free(st)

    def update(self, *args, **kwargs):
        """Sets every pair of a mapping, an iterable of pairs, or keyword arguments."""
        for k, v in dict(*args, **kwargs).items():
            self.set(k, v)

    def _walk(self, flags):
        st = _n.chordb_slot_new()
        it = None
        try:
            it = _n.chordb_iter_new(self._handle(), st, flags)
            if it is None:
                _check(_n.chordb_slot_rc(st), st)
            while True:
                rc = _n.chordb_iter_next(it, st)
                if rc == _n.CHORD_ITEROVER:
                    return
                _check(rc, st)
                yield _n.chordb_slot_key(st), _n.chordb_slot_value(st)
        finally:
            if it is not None:
                _n.chordb_iter_free(it)
            _n.chordb_slot_free(st)

    def __iter__(self):
        """Iterates over every key in the network, each once, as bytes."""
        for k, _ in self._walk(_n.CHORD_ITER_KEYS):
            yield k

    def __len__(self):
        """Counts the network's keys (a full walk)."""
        return sum(1 for _ in self._walk(_n.CHORD_ITER_KEYS))

    def keys(self):
        """A generator of every key (bytes), as in py2p."""
        return iter(self)

    def values(self):
        """A generator of every value (bytes), in one walk of the network."""
        return (v for _, v in self._walk(_n.CHORD_ITER_VALUES))

    def items(self):
        """A generator of every (key, value), in one walk of the network."""
        return self._walk(_n.CHORD_ITER_VALUES)

    def copy(self):
        """A plain dict snapshot of the network's contents."""
        return dict(self.items())

    # ------------------------------------------------------------ messages

    def send(self, *packets, timeout=None):
        """Broadcasts packets to every other node of the network."""
        self._simple(_n.chordb_broadcast, pack_packets(packets), self._timeout(timeout))

    def whisper(self, node_id, *packets, timeout=None):
        """Sends packets to the one node whose id (32 bytes, or 64 hex digits) is node_id."""
        if isinstance(node_id, str):
            node_id = bytes.fromhex(node_id)
        self._simple(_n.chordb_whisper, _bytes(node_id, 'node_id'), pack_packets(packets),
                     self._timeout(timeout))

    def recv(self, quantity=1, timeout=None):
        """Returns the next Message (a list when quantity > 1).

        timeout None (the default): don't wait; None when no message is waiting, as py2p.
        timeout in seconds: wait that long, raising TimeoutError; negative: forever."""
        out = []
        for _ in range(quantity):
            msg = self._recv_one(timeout)
            if msg is None:
                break
            out.append(msg)
        if quantity == 1:
            return out[0] if out else None
        return out

    _RECV_SLICE_MS = 250  # waits are sliced so that Ctrl-C (KeyboardInterrupt) gets through

    def _recv_one(self, timeout):
        deadline = None
        if timeout is not None and timeout >= 0:
            deadline = time.monotonic() + timeout
        st = _n.chordb_slot_new()
        try:
            while True:
                if timeout is None:
                    wait_ms = 0
                elif deadline is None:
                    wait_ms = self._RECV_SLICE_MS
                else:
                    left_ms = int((deadline - time.monotonic()) * 1000)
                    wait_ms = max(1, min(self._RECV_SLICE_MS, left_ms))
                rc = _n.chordb_recv(self._handle(), st, wait_ms)
                if rc == _n.CHORD_ETIMEDOUT:
                    if timeout is None:
                        return None
                    if deadline is None or time.monotonic() < deadline:
                        continue
                _check(rc, st)
                msg, st = Message(self, st), None  # the message owns the slot now
                return msg
        finally:
            if st is not None:
                _n.chordb_slot_free(st)

    # -------------------------------------------------------------- events

    def on(self, event, func=None):
        """Registers func for event ('add', 'delete', 'connect', 'message').

        'add' and 'delete' call func(sock, key); 'connect' calls func(sock);
        'message' calls func(sock), and func calls sock.recv() as in py2p.
        Without func, returns a decorator. Handlers run on one dispatcher thread,
        with the GIL held; an exception in one is printed, and the node carries on."""
        return self._register(event, func, False)

    def once(self, event, func=None):
        """As on(), but func runs for the next such event only."""
        return self._register(event, func, True)

    def _register(self, event, func, once):
        if event not in _EVENTS:
            raise ValueError('unknown event %r (one of %s)' % (event, ', '.join(_EVENTS)))
        if func is None:
            return lambda f: self._register(event, f, once)
        with self._lock:
            self._handlers[event].append((func, once))
            if self._queue is None:
                self._start_dispatcher()
        return func

    def _start_dispatcher(self):
        st = _n.chordb_slot_new()
        try:
            q = _n.chordb_queue_new(self._handle(), st, _n.CHORD_EV_ALL)
            if q is None:
                _check(_n.chordb_slot_rc(st), st)
        finally:
            _n.chordb_slot_free(st)
        self._queue = q
        t = threading.Thread(target=self._dispatch, args=(q,), name='chord-events', daemon=True)
        self._dispatcher = t
        t.start()

    def _dispatch(self, q):
        names = {v: k for k, v in _EVENTS.items()}
        st = _n.chordb_slot_new()
        try:
            while True:
                rc = _n.chordb_queue_next(q, st, -1)  # the GIL is released while waiting
                if rc != 0:
                    return  # CHORD_ECLOSED: the socket was closed
                name = names.get(_n.chordb_slot_type(st))
                if name is None:
                    continue
                args = (self,)
                if name in ('add', 'delete'):
                    args = (self, _n.chordb_slot_key(st))
                with self._lock:
                    handlers = list(self._handlers[name])
                    self._handlers[name] = [h for h in handlers if not h[1]]
                for func, _ in handlers:
                    try:
                        func(*args)
                    except Exception:
                        sys.stderr.write('chord: exception in %r handler:\n' % name)
                        traceback.print_exc()
        finally:
            _n.chordb_slot_free(st)
            _n.chordb_queue_free(q)


_MISSING = object()

# Sockets still open at exit leave gracefully, before the interpreter tears down the
# threads that dispatch their events.
_LIVE = weakref.WeakValueDictionary()


@atexit.register
def _close_live_sockets():
    for sock in list(_LIVE.values()):
        try:
            sock.close()
        except Exception:
            pass
