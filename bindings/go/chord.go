// SPDX-License-Identifier: MIT

// Package chord is the Go binding of libchord: a distributed dictionary over a
// Chord ring, with events and messaging.
//
//	n, err := chord.New(chord.Options{Listen: "127.0.0.1:0"})
//	defer n.Close()
//	err = n.Join(ctx, "127.0.0.1:4444")
//	err = n.Set(ctx, []byte("k"), []byte("v"))
//	v, err := n.Get(ctx, []byte("k"))     // errors.Is(err, chord.ErrNotFound) when absent
//
// Timeouts come from the context's deadline; without one a call gets the node's
// default timeout (Options.DefaultTimeout), except Recv, which then waits until the
// context is done. A timeout is an *Error that matches ErrTimeout and
// context.DeadlineExceeded with errors.Is.
//
// Events() returns a channel fed by one goroutine blocked in chord_queue_next.
// Close wakes every blocked call (they return ErrClosed) and closes the channel.
//
// The package is built by CMake (bindings/go/go.cmake), which generates the SWIG
// layer in internal/capi next to a copy of these files.
package chord

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"time"

	"libchord.org/chord/internal/capi"
)

// Version is the loaded libchord's version, "MAJOR.MINOR.PATCH".
func Version() string { return capi.Chordb_version() }

// Error is a libchord failure: Code is a CHORD_E* value, Name its symbolic name and
// Detail the one-line chord_error_last() of the failing call.
type Error struct {
	Code   int
	Name   string
	Detail string
}

func (e *Error) Error() string {
	msg := e.Name + ": " + capi.Chordb_strerror(e.Code)
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return msg
}

// Is matches another *Error of the same code (so the Err* values below work with
// errors.Is), and context.DeadlineExceeded for timeouts, net.ErrClosed for closes.
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case *Error:
		return t.Code == e.Code
	}
	switch target {
	case context.DeadlineExceeded:
		return e.Code == capi.CHORD_ETIMEDOUT
	case net.ErrClosed:
		return e.Code == capi.CHORD_ECLOSED
	}
	return false
}

// Timeout reports whether this is a timeout (the net.Error convention).
func (e *Error) Timeout() bool { return e.Code == capi.CHORD_ETIMEDOUT }

func sentinel(code int) *Error {
	return &Error{Code: code, Name: capi.Chordb_err_name(code)}
}

// Sentinels for errors.Is.
var (
	ErrNotFound    = sentinel(capi.CHORD_ENOTFOUND)
	ErrTimeout     = sentinel(capi.CHORD_ETIMEDOUT)
	ErrInvalid     = sentinel(capi.CHORD_EINVAL)
	ErrTooBig      = sentinel(capi.CHORD_ETOOBIG)
	ErrClosed      = sentinel(capi.CHORD_ECLOSED)
	ErrNoQuorum    = sentinel(capi.CHORD_ENOQUORUM)
	ErrProto       = sentinel(capi.CHORD_EPROTO)
	ErrUnreachable = sentinel(capi.CHORD_EUNREACHABLE)
	ErrRefused     = sentinel(capi.CHORD_EREFUSED)
	ErrBusy        = sentinel(capi.CHORD_EBUSY)
	ErrIO          = sentinel(capi.CHORD_EIO)
)

func newError(code int, detail string) error {
	return &Error{Code: code, Name: capi.Chordb_err_name(code), Detail: detail}
}

// Options configure a node. Zero values mean libchord's defaults.
type Options struct {
	Listen           string // "host:port"; port 0 is ephemeral. Default "127.0.0.1:0"
	Advertise        string // address peers use to reach this node; default: the bound one
	Network          string // network name; nodes of another name are refused
	NetworkKey       []byte // 32 bytes, or nil
	IdentityFile     string // Ed25519 identity file, created if absent; "": a fresh identity
	Replicas         int    // copies of each key (3)
	Successors       int
	Stabilize        time.Duration
	FixFingers       time.Duration
	CheckPredecessor time.Duration
	RPCTimeout       time.Duration
	AntiEntropy      time.Duration
	DefaultTimeout   time.Duration // timeout of calls whose context has no deadline (5 s)
	Client           bool          // a light client: routes requests, stores nothing
	// DataDir makes the node durable: its records, identity (unless
	// IdentityFile is given) and remembered members live in this folder.
	// "": in memory.
	DataDir string
	// RelaxedSync: with a DataDir, commit with one fdatasync, not two
	// (CHORD_SYNC_RELAXED): a power loss may undo the node's last commit.
	RelaxedSync bool
}

// EventType is one of EventAdd, EventDelete, EventConnect, EventMessage.
type EventType int

// Event types.
const (
	EventAdd     EventType = 1 << 0
	EventDelete  EventType = 1 << 1
	EventConnect EventType = 1 << 2
	EventMessage EventType = 1 << 3
)

func (t EventType) String() string {
	switch t {
	case EventAdd:
		return "add"
	case EventDelete:
		return "delete"
	case EventConnect:
		return "connect"
	case EventMessage:
		return "message"
	}
	return fmt.Sprintf("EventType(%d)", int(t))
}

// Event is one event of the node's network.
type Event struct {
	Type     EventType
	Key      []byte // add, delete
	Data     []byte // message: the raw payload
	PeerID   []byte // connect: the peer; message: the sender (32 bytes)
	PeerAddr string
	Whisper  bool
}

// Message is a received broadcast or whisper.
type Message struct {
	Packets [][]byte // the payload's packets (see Pack)
	Payload []byte
	Sender  []byte // the sender's 32-byte id
	Addr    string
	Whisper bool
	node    *Node
	slot    capi.Chordb_slot_s // holds the event, which a reply needs
}

// Node is a member of a libchord network. Its methods are safe for concurrent use.
type Node struct {
	h       capi.Chordb_node_s
	addr    string
	id      []byte
	idHex   string
	evOnce  sync.Once
	events  chan Event
	done    chan struct{}
	evWG    sync.WaitGroup
	closeMu sync.Mutex
	closed  bool
}

func ms(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	if d < time.Millisecond {
		return 1
	}
	return int64(d / time.Millisecond)
}

// New creates a node listening on opts.Listen, as a ring of one.
func New(opts Options) (*Node, error) {
	o := capi.Chordb_opts_new()
	defer capi.Chordb_opts_free(o)
	var bad string
	str := func(name, v string) {
		if v != "" && capi.Chordb_opts_set_str(o, name, v) != 0 && bad == "" {
			bad = name
		}
	}
	num := func(name string, v int64) {
		if v != 0 && capi.Chordb_opts_set_uint(o, name, v) != 0 && bad == "" {
			bad = name
		}
	}
	str("listen", opts.Listen)
	str("advertise", opts.Advertise)
	str("network", opts.Network)
	str("identity_file", opts.IdentityFile)
	str("data_dir", opts.DataDir)
	if opts.RelaxedSync {
		num("sync", int64(capi.CHORD_SYNC_RELAXED))
	}
	num("replicas", int64(opts.Replicas))
	num("successors", int64(opts.Successors))
	num("stabilize_ms", ms(opts.Stabilize))
	num("fix_fingers_ms", ms(opts.FixFingers))
	num("check_predecessor_ms", ms(opts.CheckPredecessor))
	num("rpc_timeout_ms", ms(opts.RPCTimeout))
	num("anti_entropy_ms", ms(opts.AntiEntropy))
	num("default_timeout_ms", ms(opts.DefaultTimeout))
	if opts.Client {
		num("flags", int64(capi.CHORD_NODE_CLIENT))
	}
	if opts.NetworkKey != nil && capi.Chordb_opts_set_network_key(o, opts.NetworkKey) != 0 {
		bad = "NetworkKey"
	}
	if bad != "" {
		return nil, newError(capi.CHORD_EINVAL, "bad option "+bad)
	}
	st := capi.Chordb_slot_new()
	defer capi.Chordb_slot_free(st)
	h := capi.Chordb_node_new(o, st)
	if h == nil || h.Swigcptr() == 0 {
		return nil, newError(capi.Chordb_slot_rc(st), capi.Chordb_slot_detail(st))
	}
	n := &Node{h: h, done: make(chan struct{})}
	n.addr = capi.Chordb_node_addr(h)
	n.idHex = capi.Chordb_node_id_hex(h)
	n.id, _ = hex.DecodeString(n.idHex)
	// The handle is freed only when the Node is unreachable, so a call racing with
	// Close never touches freed memory: it gets ErrClosed instead.
	runtime.SetFinalizer(n, func(n *Node) {
		_ = n.Close()
		capi.Chordb_node_release(n.h)
	})
	return n, nil
}

// Addr is the "host:port" peers reach this node at.
func (n *Node) Addr() string { return n.addr }

// ID is the node's 32-byte ring id.
func (n *Node) ID() []byte { return append([]byte(nil), n.id...) }

// IDHex is the ring id as 64 hex digits.
func (n *Node) IDHex() string { return n.idHex }

// timeoutMs turns the context's deadline into a chord timeout: 0 means the node's
// default. An expired context fails before the call.
func timeoutMs(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return 0, newError(capi.CHORD_ETIMEDOUT, "the context's deadline passed")
		}
		return 0, err
	}
	d, ok := ctx.Deadline()
	if !ok {
		return 0, nil
	}
	left := time.Until(d)
	if left < time.Millisecond {
		return 1, nil
	}
	return int(left / time.Millisecond), nil
}

// call runs one chordb call with a fresh slot; fn returns the code.
func (n *Node) call(ctx context.Context, fn func(st capi.Chordb_slot_s, t int) int,
	out func(st capi.Chordb_slot_s)) error {
	t, err := timeoutMs(ctx)
	if err != nil {
		return err
	}
	st := capi.Chordb_slot_new()
	defer capi.Chordb_slot_free(st)
	rc := fn(st, t)
	runtime.KeepAlive(n)
	if rc < 0 {
		return newError(rc, capi.Chordb_slot_detail(st))
	}
	if out != nil {
		out(st)
	}
	return nil
}

func slotValue(st capi.Chordb_slot_s) []byte {
	b := make([]byte, capi.Chordb_slot_value_len(st))
	capi.Chordb_slot_copy_value(st, b)
	return b
}

func slotKey(st capi.Chordb_slot_s) []byte {
	b := make([]byte, capi.Chordb_slot_key_len(st))
	capi.Chordb_slot_copy_key(st, b)
	return b
}

// Stats is a snapshot of a node's state, for monitoring (chord_node_stats).
type Stats struct {
	KeysStored, KeysOwned, Tombstones int64
	MsgsSent, MsgsReceived            int64
	BytesSent, BytesReceived          int64
	Connections, Successors           int64
	Lookups, LookupHops               int64
	SuccessorID                       []byte // the node's own id in a ring of one
	PredecessorID                     []byte // nil without a predecessor
}

// Stats returns a snapshot of the node's state.
func (n *Node) Stats() (Stats, error) {
	var s Stats
	err := n.call(context.Background(), func(st capi.Chordb_slot_s, _ int) int {
		return capi.Chordb_node_stats(n.h, st)
	}, func(st capi.Chordb_slot_s) {
		get := func(name string) int64 { return capi.Chordb_slot_stat(st, name) }
		s = Stats{
			KeysStored: get("keys_stored"), KeysOwned: get("keys_owned"),
			Tombstones: get("tombstones"), MsgsSent: get("msgs_sent"),
			MsgsReceived: get("msgs_received"), BytesSent: get("bytes_sent"),
			BytesReceived: get("bytes_received"), Connections: get("connections"),
			Successors: get("successors"), Lookups: get("lookups"),
			LookupHops: get("lookup_hops"), SuccessorID: slotKey(st),
		}
		if get("has_predecessor") != 0 {
			s.PredecessorID = slotValue(st)
		}
	})
	return s, err
}

// Join joins the ring that the member at addr ("host:port") belongs to.
func (n *Node) Join(ctx context.Context, addr string) error {
	return n.call(ctx, func(st capi.Chordb_slot_s, t int) int {
		return capi.Chordb_node_join(n.h, st, addr, t)
	}, nil)
}

// Leave hands this node's keys over and leaves the ring; the node stays up alone.
func (n *Node) Leave(ctx context.Context) error {
	return n.call(ctx, func(st capi.Chordb_slot_s, t int) int {
		return capi.Chordb_node_leave(n.h, st, t)
	}, nil)
}

// Get returns key's value; ErrNotFound when absent. An empty value is non-nil.
func (n *Node) Get(ctx context.Context, key []byte) ([]byte, error) {
	var v []byte
	err := n.call(ctx, func(st capi.Chordb_slot_s, t int) int {
		return capi.Chordb_get(n.h, st, key, t)
	}, func(st capi.Chordb_slot_s) { v = slotValue(st) })
	return v, err
}

// Set stores value under key on the key's replicas.
func (n *Node) Set(ctx context.Context, key, value []byte) error {
	return n.call(ctx, func(st capi.Chordb_slot_s, t int) int {
		return capi.Chordb_set(n.h, st, key, value, t)
	}, nil)
}

// Delete removes key; ErrNotFound if it was absent.
func (n *Node) Delete(ctx context.Context, key []byte) error {
	return n.call(ctx, func(st capi.Chordb_slot_s, t int) int {
		return capi.Chordb_delete(n.h, st, key, t)
	}, nil)
}

// Pop removes key and returns its value, atomically at the key's owner.
func (n *Node) Pop(ctx context.Context, key []byte) ([]byte, error) {
	var v []byte
	err := n.call(ctx, func(st capi.Chordb_slot_s, t int) int {
		return capi.Chordb_pop(n.h, st, key, t)
	}, func(st capi.Chordb_slot_s) { v = slotValue(st) })
	return v, err
}

// PopItem removes and returns some key and its value; ErrNotFound when empty.
func (n *Node) PopItem(ctx context.Context) (key, value []byte, err error) {
	err = n.call(ctx, func(st capi.Chordb_slot_s, t int) int {
		return capi.Chordb_popitem(n.h, st, t)
	}, func(st capi.Chordb_slot_s) { key, value = slotKey(st), slotValue(st) })
	return key, value, err
}

// Iterator walks every key of the network once:
//
//	it := n.Iter(true)
//	defer it.Close()
//	for it.Next() { use(it.Key(), it.Value()) }
//	if err := it.Err(); err != nil { ... }
type Iterator struct {
	n          *Node
	it         capi.Chordb_iter_s
	st         capi.Chordb_slot_s
	key, value []byte
	err        error
	done       bool
}

// Iter starts a walk of the network's keys; withValues also fetches each value.
func (n *Node) Iter(withValues bool) *Iterator {
	flags := uint(capi.CHORD_ITER_KEYS)
	if withValues {
		flags = uint(capi.CHORD_ITER_VALUES)
	}
	st := capi.Chordb_slot_new()
	it := capi.Chordb_iter_new(n.h, st, flags)
	runtime.KeepAlive(n)
	if it == nil || it.Swigcptr() == 0 {
		err := newError(capi.Chordb_slot_rc(st), capi.Chordb_slot_detail(st))
		capi.Chordb_slot_free(st)
		return &Iterator{n: n, err: err, done: true}
	}
	i := &Iterator{n: n, it: it, st: st}
	runtime.SetFinalizer(i, (*Iterator).Close) // a walk abandoned without Close
	return i
}

// Next advances to the next key; false at the end or on an error (see Err).
func (it *Iterator) Next() bool {
	if it.done {
		return false
	}
	rc := capi.Chordb_iter_next(it.it, it.st)
	runtime.KeepAlive(it.n)
	switch {
	case rc == 0:
		it.key, it.value = slotKey(it.st), slotValue(it.st)
		return true
	case rc == capi.CHORD_ITEROVER:
	default:
		it.err = newError(rc, capi.Chordb_slot_detail(it.st))
	}
	it.Close()
	return false
}

// Key is the current key.
func (it *Iterator) Key() []byte { return it.key }

// Value is the current value (nil unless the iterator fetches values).
func (it *Iterator) Value() []byte { return it.value }

// Err is the error that ended the walk, or nil.
func (it *Iterator) Err() error { return it.err }

// Close frees the iterator; Next then returns false. Idempotent.
func (it *Iterator) Close() {
	if it.it != nil {
		capi.Chordb_iter_free(it.it)
		capi.Chordb_slot_free(it.st)
		it.it, it.st = nil, nil
	}
	it.done = true
	runtime.KeepAlive(it.n)
}

// Pack encodes packets into one message payload: each packet is a 4-byte
// big-endian length followed by its bytes. Every libchord binding uses it.
func Pack(packets ...[]byte) []byte {
	size := 0
	for _, p := range packets {
		size += 4 + len(p)
	}
	out := make([]byte, 0, size)
	for _, p := range packets {
		out = binary.BigEndian.AppendUint32(out, uint32(len(p)))
		out = append(out, p...)
	}
	return out
}

// Unpack decodes a payload made by Pack.
func Unpack(payload []byte) ([][]byte, error) {
	packets := [][]byte{}
	for len(payload) > 0 {
		if len(payload) < 4 {
			return nil, errors.New("chord: truncated packet length")
		}
		size := binary.BigEndian.Uint32(payload)
		payload = payload[4:]
		if uint64(size) > uint64(len(payload)) {
			return nil, errors.New("chord: packet length past the end of the payload")
		}
		packets = append(packets, append([]byte(nil), payload[:size]...))
		payload = payload[size:]
	}
	return packets, nil
}

// Broadcast sends packets to every other node of the network.
func (n *Node) Broadcast(ctx context.Context, packets ...[]byte) error {
	payload := Pack(packets...)
	return n.call(ctx, func(st capi.Chordb_slot_s, t int) int {
		return capi.Chordb_broadcast(n.h, st, payload, t)
	}, nil)
}

// Whisper sends packets to the one node whose 32-byte id is to.
func (n *Node) Whisper(ctx context.Context, to []byte, packets ...[]byte) error {
	payload := Pack(packets...)
	return n.call(ctx, func(st capi.Chordb_slot_s, t int) int {
		return capi.Chordb_whisper(n.h, st, to, payload, t)
	}, nil)
}

// recvSliceMs bounds each wait of Recv, so that a cancelled context is noticed.
const recvSliceMs = 200

// Recv returns the next message for this node. It waits until the context's
// deadline (an *Error matching ErrTimeout), or, without one, until a message
// arrives or the context is cancelled (the context's error).
func (n *Node) Recv(ctx context.Context) (*Message, error) {
	deadline, hasDeadline := ctx.Deadline()
	st := capi.Chordb_slot_new()
	for {
		t, err := timeoutMs(ctx)
		if err != nil {
			capi.Chordb_slot_free(st)
			return nil, err
		}
		if !hasDeadline || t > recvSliceMs {
			t = recvSliceMs
		}
		rc := capi.Chordb_recv(n.h, st, t)
		runtime.KeepAlive(n)
		if rc == capi.CHORD_ETIMEDOUT && (!hasDeadline || time.Now().Before(deadline)) {
			continue
		}
		if rc < 0 {
			err := newError(rc, capi.Chordb_slot_detail(st))
			capi.Chordb_slot_free(st)
			return nil, err
		}
		m := &Message{node: n, slot: st, Payload: slotValue(st)}
		m.Sender = make([]byte, 32)
		capi.Chordb_slot_copy_peer_id(st, m.Sender)
		m.Addr = capi.Chordb_slot_peer_addr(st)
		m.Whisper = capi.Chordb_slot_is_whisper(st) != 0
		if m.Packets, err = Unpack(m.Payload); err != nil {
			m.Packets = [][]byte{m.Payload}
		}
		runtime.SetFinalizer(m, func(m *Message) { capi.Chordb_slot_free(m.slot) })
		return m, nil
	}
}

// Reply whispers packets back to the message's sender.
func (m *Message) Reply(ctx context.Context, packets ...[]byte) error {
	payload := Pack(packets...)
	err := m.node.call(ctx, func(st capi.Chordb_slot_s, t int) int {
		return capi.Chordb_reply(m.node.h, m.slot, st, payload, t)
	}, nil)
	runtime.KeepAlive(m)
	return err
}

// Events returns the node's event channel (add, delete, connect, message). It is
// fed by one goroutine blocked in chord_queue_next, buffered, and closed by Close.
// The first call starts the subscription; events before it are not seen.
func (n *Node) Events() <-chan Event {
	n.evOnce.Do(func() {
		n.closeMu.Lock() // no Close between the check and evWG.Add
		defer n.closeMu.Unlock()
		n.events = make(chan Event, 64)
		if n.closed {
			close(n.events)
			return
		}
		st := capi.Chordb_slot_new()
		q := capi.Chordb_queue_new(n.h, st, uint(capi.CHORD_EV_ALL))
		capi.Chordb_slot_free(st)
		if q == nil || q.Swigcptr() == 0 {
			close(n.events) // closed node
			return
		}
		n.evWG.Add(1)
		go n.pump(q)
	})
	return n.events
}

func (n *Node) pump(q capi.Chordb_queue_s) {
	defer n.evWG.Done()
	defer close(n.events)
	defer capi.Chordb_queue_free(q)
	st := capi.Chordb_slot_new()
	defer capi.Chordb_slot_free(st)
	for {
		if capi.Chordb_queue_next(q, st, -1) != 0 {
			return // closed
		}
		ev := Event{
			Type:     EventType(capi.Chordb_slot_type(st)),
			Key:      slotKey(st),
			Data:     slotValue(st),
			PeerID:   make([]byte, 32),
			PeerAddr: capi.Chordb_slot_peer_addr(st),
			Whisper:  capi.Chordb_slot_is_whisper(st) != 0,
		}
		capi.Chordb_slot_copy_peer_id(st, ev.PeerID)
		select {
		case n.events <- ev:
		case <-n.done:
			return
		}
	}
}

// Close leaves the ring gracefully and stops the node. Calls blocked in other
// goroutines return ErrClosed; the Events channel is closed. Idempotent.
func (n *Node) Close() error {
	n.closeMu.Lock()
	defer n.closeMu.Unlock()
	if n.closed {
		return nil
	}
	n.closed = true
	close(n.done)
	capi.Chordb_node_close(n.h, 0)
	n.evWG.Wait()
	runtime.KeepAlive(n)
	return nil
}
