// SPDX-License-Identifier: MIT

package chord_test

import (
	"bytes"
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"libchord.org/chord"
	"libchord.org/chord/internal/capi"
)

var fast = chord.Options{
	Listen:           "127.0.0.1:0",
	Stabilize:        50 * time.Millisecond,
	FixFingers:       100 * time.Millisecond,
	CheckPredecessor: 100 * time.Millisecond,
	RPCTimeout:       300 * time.Millisecond,
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// ring starts three nodes joined through the first; they close at the test's end.
func ring(t *testing.T) []*chord.Node {
	t.Helper()
	nodes := make([]*chord.Node, 3)
	for i := range nodes {
		n, err := chord.New(fast)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		t.Cleanup(func() { n.Close() })
		nodes[i] = n
	}
	for _, n := range nodes[1:] {
		if err := n.Join(ctx(t), nodes[0].Addr()); err != nil {
			t.Fatalf("Join: %v", err)
		}
	}
	waitStable(t, nodes)
	return nodes
}

// stable: every node's successor is the next id in ring order, its predecessor the
// previous one.
func stable(nodes []*chord.Node) bool {
	ids := make([][]byte, len(nodes))
	for i, n := range nodes {
		ids[i] = n.ID()
	}
	sort.Slice(ids, func(i, j int) bool { return bytes.Compare(ids[i], ids[j]) < 0 })
	for _, n := range nodes {
		s, err := n.Stats()
		if err != nil {
			return false
		}
		i := sort.Search(len(ids), func(i int) bool { return bytes.Compare(ids[i], n.ID()) >= 0 })
		if !bytes.Equal(s.SuccessorID, ids[(i+1)%len(ids)]) ||
			!bytes.Equal(s.PredecessorID, ids[(i+len(ids)-1)%len(ids)]) {
			return false
		}
	}
	return true
}

func waitStable(t *testing.T, nodes []*chord.Node) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !stable(nodes) {
		if time.Now().After(deadline) {
			t.Fatal("the ring did not stabilize")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func mustGet(t *testing.T, n *chord.Node, key []byte) []byte {
	t.Helper()
	v, err := n.Get(ctx(t), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return v
}

func TestNewGivesAnAddressAndAnID(t *testing.T) {
	n, err := chord.New(fast)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if len(n.ID()) != 32 || len(n.IDHex()) != 64 {
		t.Fatalf("id %x / %s", n.ID(), n.IDHex())
	}
	if n.Addr() == "" || n.Addr() == "127.0.0.1:0" {
		t.Fatalf("addr %q", n.Addr())
	}
	s, err := n.Stats()
	if err != nil || !bytes.Equal(s.SuccessorID, n.ID()) || s.KeysStored != 0 {
		t.Fatalf("a ring of one: %+v %v", s, err)
	}
}

func TestSetGetDeleteAcrossNodes(t *testing.T) {
	a, b, c := func(n []*chord.Node) (*chord.Node, *chord.Node, *chord.Node) {
		return n[0], n[1], n[2]
	}(ring(t))
	if err := a.Set(ctx(t), []byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if v := mustGet(t, b, []byte("k")); string(v) != "v" {
		t.Fatalf("b got %q", v)
	}
	if v := mustGet(t, c, []byte("k")); string(v) != "v" {
		t.Fatalf("c got %q", v)
	}
	if err := c.Delete(ctx(t), []byte("k")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Get(ctx(t), []byte("k")); !errors.Is(err, chord.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if err := b.Delete(ctx(t), []byte("k")); !errors.Is(err, chord.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestBinarySafety(t *testing.T) {
	nodes := ring(t)
	key := []byte{0, 'k', 0xff, 0}
	value := append([]byte{0, 1, 0xfe, 0xff, 0}, bytes.Repeat([]byte{0x80}, 300)...)
	if err := nodes[0].Set(ctx(t), key, value); err != nil {
		t.Fatal(err)
	}
	if v := mustGet(t, nodes[1], key); !bytes.Equal(v, value) {
		t.Fatalf("got %x", v)
	}
	if _, err := nodes[2].Get(ctx(t), key[:3]); !errors.Is(err, chord.ErrNotFound) {
		t.Fatalf("a prefix is another key: %v", err)
	}
	if err := nodes[0].Set(ctx(t), []byte("empty"), []byte{}); err != nil {
		t.Fatal(err)
	}
	v, err := nodes[2].Get(ctx(t), []byte("empty"))
	if err != nil || v == nil || len(v) != 0 {
		t.Fatalf("empty value: %q %v", v, err)
	}
	if _, err := nodes[2].Get(ctx(t), []byte("missing")); !errors.Is(err, chord.ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
}

func TestIterationYieldsEveryKeyOnce(t *testing.T) {
	nodes := ring(t)
	want := map[string]string{}
	for i := 0; i < 20; i++ {
		k, v := string([]byte{'k', byte(i), 0}), string([]byte{'v', byte(i)})
		want[k] = v
		if err := nodes[i%3].Set(ctx(t), []byte(k), []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]string{}
	it := nodes[1].Iter(true)
	defer it.Close()
	for it.Next() {
		if _, dup := got[string(it.Key())]; dup {
			t.Fatalf("key %q twice", it.Key())
		}
		got[string(it.Key())] = string(it.Value())
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d keys, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("key %q: got %q want %q", k, got[k], v)
		}
	}
	var keys []string
	for it := nodes[2].Iter(false); it.Next(); {
		keys = append(keys, string(it.Key()))
	}
	sort.Strings(keys)
	if len(keys) != 20 {
		t.Fatalf("keys-only walk: %d", len(keys))
	}
}

func TestPopAndPopItem(t *testing.T) {
	nodes := ring(t)
	nodes[0].Set(ctx(t), []byte("x"), []byte("1"))
	v, err := nodes[1].Pop(ctx(t), []byte("x"))
	if err != nil || string(v) != "1" {
		t.Fatalf("pop: %q %v", v, err)
	}
	if _, err := nodes[2].Pop(ctx(t), []byte("x")); !errors.Is(err, chord.ErrNotFound) {
		t.Fatalf("pop again: %v", err)
	}
	nodes[0].Set(ctx(t), []byte("y"), []byte("2"))
	k, v, err := nodes[2].PopItem(ctx(t))
	if err != nil || string(k) != "y" || string(v) != "2" {
		t.Fatalf("popitem: %q %q %v", k, v, err)
	}
	if _, _, err := nodes[2].PopItem(ctx(t)); !errors.Is(err, chord.ErrNotFound) {
		t.Fatalf("popitem on empty: %v", err)
	}
}

func waitEvent(t *testing.T, ch <-chan chord.Event, typ chord.EventType) chord.Event {
	t.Helper()
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("event channel closed")
			}
			if ev.Type == typ {
				return ev
			}
		case <-timer.C:
			t.Fatalf("no %v event", typ)
		}
	}
}

func TestAddAndDeleteEvents(t *testing.T) {
	nodes := ring(t)
	events := nodes[2].Events()
	key := []byte("evt\x00")
	if err := nodes[0].Set(ctx(t), key, []byte("v")); err != nil {
		t.Fatal(err)
	}
	if ev := waitEvent(t, events, chord.EventAdd); !bytes.Equal(ev.Key, key) {
		t.Fatalf("add event key %q", ev.Key)
	}
	if err := nodes[1].Delete(ctx(t), key); err != nil {
		t.Fatal(err)
	}
	if ev := waitEvent(t, events, chord.EventDelete); !bytes.Equal(ev.Key, key) {
		t.Fatalf("delete event key %q", ev.Key)
	}
}

func TestBroadcastWhisperReply(t *testing.T) {
	nodes := ring(t)
	a, b := nodes[0], nodes[1]
	if err := a.Broadcast(ctx(t), []byte("hello"), []byte{0, 0xff}); err != nil {
		t.Fatal(err)
	}
	m, err := b.Recv(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Packets) != 2 || string(m.Packets[0]) != "hello" || !bytes.Equal(m.Packets[1], []byte{0, 0xff}) {
		t.Fatalf("packets %q", m.Packets)
	}
	if !bytes.Equal(m.Sender, a.ID()) || m.Whisper {
		t.Fatalf("sender %x whisper %v", m.Sender, m.Whisper)
	}
	if err := m.Reply(ctx(t), []byte("back")); err != nil {
		t.Fatal(err)
	}
	r, err := a.Recv(ctx(t))
	if err != nil || string(r.Packets[0]) != "back" || !r.Whisper || !bytes.Equal(r.Sender, b.ID()) {
		t.Fatalf("reply %v %v", r, err)
	}
	if err := nodes[2].Whisper(ctx(t), b.ID(), []byte("psst")); err != nil {
		t.Fatal(err)
	}
	for {
		w, err := b.Recv(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if w.Whisper {
			if string(w.Packets[0]) != "psst" || !bytes.Equal(w.Sender, nodes[2].ID()) {
				t.Fatalf("whisper %q from %x", w.Packets, w.Sender)
			}
			break
		}
	}
}

func TestRecvTimeout(t *testing.T) {
	n, err := chord.New(fast)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	c, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = n.Recv(c)
	if !errors.Is(err, chord.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want a timeout, got %v", err)
	}
	var ce *chord.Error
	if !errors.As(err, &ce) || ce.Name != "CHORD_ETIMEDOUT" {
		t.Fatalf("error %#v", err)
	}
}

func TestCloseWakesBlockedCallsAndClosesEvents(t *testing.T) {
	n, err := chord.New(fast)
	if err != nil {
		t.Fatal(err)
	}
	events := n.Events()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := n.Recv(context.Background())
			errs <- err
		}()
	}
	time.Sleep(100 * time.Millisecond) // let them block; the assertions hold either way
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, chord.ErrClosed) {
			t.Fatalf("blocked Recv returned %v", err)
		}
	}
	for range events {
	}
	if _, err := n.Get(context.Background(), []byte("k")); !errors.Is(err, chord.ErrClosed) {
		t.Fatalf("Get after Close: %v", err)
	}
	if err := n.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestJoinErrorsCarryDetail(t *testing.T) {
	n, err := chord.New(fast)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	err = n.Join(ctx(t), "not an address")
	var ce *chord.Error
	if !errors.As(err, &ce) || ce.Code >= 0 {
		t.Fatalf("join error %v", err)
	}
}

func TestVersion(t *testing.T) {
	if v := chord.Version(); strings.Count(v, ".") != 2 {
		t.Fatalf("version %q", v)
	}
}

func TestPackFormat(t *testing.T) {
	p := chord.Pack([]byte("a"), []byte{}, []byte{0, 0xff})
	want := []byte{0, 0, 0, 1, 'a', 0, 0, 0, 0, 0, 0, 0, 2, 0, 0xff}
	if !bytes.Equal(p, want) {
		t.Fatalf("pack %x", p)
	}
	got, err := chord.Unpack(p)
	if err != nil || len(got) != 3 || string(got[0]) != "a" || len(got[1]) != 0 {
		t.Fatalf("unpack %q %v", got, err)
	}
	if _, err := chord.Unpack([]byte{0, 0, 0, 5, 'a'}); err == nil {
		t.Fatal("truncated payload accepted")
	}
}

func TestRecvReturnsWhenTheContextIsCancelled(t *testing.T) {
	n, err := chord.New(fast)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	c, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(100 * time.Millisecond)
		cancel()
	}()
	if _, err := n.Recv(c); !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
}

func TestCloseDuringConcurrentCalls(t *testing.T) {
	nodes := ring(t)
	n := nodes[1]
	var wg sync.WaitGroup
	var mu sync.Mutex
	var calls int
	errs := make(chan error, 8)
	started := make(chan struct{}, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			key := []byte{'g', byte(g)}
			for i := 0; ; i++ {
				if i == 1 {
					started <- struct{}{}
				}
				if err := n.Set(context.Background(), key, []byte{byte(i)}); err != nil {
					errs <- err
					return
				}
				if _, err := n.Get(context.Background(), key); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				calls++
				mu.Unlock()
			}
		}(g)
	}
	for g := 0; g < 8; g++ {
		<-started
	}
	n.Close()
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, chord.ErrClosed) {
			t.Fatalf("a call racing with Close returned %v", err)
		}
	}
	if calls < 8 {
		t.Fatalf("only %d calls completed before Close", calls)
	}
	// The rest of the ring still serves.
	if err := nodes[0].Set(ctx(t), []byte("after"), []byte("1")); err != nil {
		t.Fatal(err)
	}
}

// TestEveryCodeOfTheCTableMapsToItsError iterates chord.h's CHORD_ERRNO_MAP: each
// code has its capi constant and, if it is an error callers match, its Err* sentinel.
func TestEveryCodeOfTheCTableMapsToItsError(t *testing.T) {
	type mapping struct {
		constant int
		sentinel *chord.Error // nil: no sentinel
	}
	want := map[string]mapping{
		"CHORD_ENOTFOUND":    {capi.CHORD_ENOTFOUND, chord.ErrNotFound},
		"CHORD_ETIMEDOUT":    {capi.CHORD_ETIMEDOUT, chord.ErrTimeout},
		"CHORD_EINVAL":       {capi.CHORD_EINVAL, chord.ErrInvalid},
		"CHORD_ETOOBIG":      {capi.CHORD_ETOOBIG, chord.ErrTooBig},
		"CHORD_ECLOSED":      {capi.CHORD_ECLOSED, chord.ErrClosed},
		"CHORD_ENOQUORUM":    {capi.CHORD_ENOQUORUM, chord.ErrNoQuorum},
		"CHORD_EPROTO":       {capi.CHORD_EPROTO, chord.ErrProto},
		"CHORD_ENOMEM":       {capi.CHORD_ENOMEM, nil},
		"CHORD_EINTERNAL":    {capi.CHORD_EINTERNAL, nil},
		"CHORD_EUNREACHABLE": {capi.CHORD_EUNREACHABLE, chord.ErrUnreachable},
		"CHORD_EREFUSED":     {capi.CHORD_EREFUSED, chord.ErrRefused},
		"CHORD_EBUSY":        {capi.CHORD_EBUSY, chord.ErrBusy},
		"CHORD_EIO":          {capi.CHORD_EIO, chord.ErrIO},
		"CHORD_ITEROVER":     {capi.CHORD_ITEROVER, nil}, // not an error
	}
	n := capi.Chordb_err_count()
	if n != len(want) {
		t.Errorf("%d codes in the C table, %d mapped here", n, len(want))
	}
	for i := 0; i < n; i++ {
		code := capi.Chordb_err_code(i)
		name := capi.Chordb_err_name(code)
		m, ok := want[name]
		if !ok {
			t.Errorf("%s (%d) has no mapping", name, code)
			continue
		}
		if m.constant != code {
			t.Errorf("%s: capi constant %d, table %d", name, m.constant, code)
		}
		if m.sentinel == nil {
			continue
		}
		if m.sentinel.Code != code || m.sentinel.Name != name {
			t.Errorf("%s: sentinel %#v", name, m.sentinel)
		}
		err := error(&chord.Error{Code: code, Name: name, Detail: "why"})
		if !errors.Is(err, m.sentinel) {
			t.Errorf("%s: errors.Is misses its sentinel", name)
		}
		if got, msg := err.Error(), name+": "+capi.Chordb_strerror(code)+" (why)"; got != msg {
			t.Errorf("%s: message %q, want %q", name, got, msg)
		}
	}
}

func TestADataDirKeepsRecordsAndIDAcrossARestart(t *testing.T) {
	opts := fast
	opts.DataDir = t.TempDir() + "/node"
	a, err := chord.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	id := a.IDHex()
	if err := a.Set(ctx(t), []byte("kept"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if _, err := chord.New(opts); !errors.Is(err, chord.ErrBusy) {
		t.Fatalf("a second node on the folder: %v", err)
	}
	a.Close()
	opts.RelaxedSync = true
	b, err := chord.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.IDHex() != id {
		t.Fatalf("id %s, was %s", b.IDHex(), id)
	}
	if v := mustGet(t, b, []byte("kept")); string(v) != "v" {
		t.Fatalf("got %q", v)
	}
}
