// SPDX-License-Identifier: MIT

// A three-node ring in one process: the dictionary, an event and a message.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"sort"
	"time"

	"libchord.org/chord"
)

func main() {
	opts := chord.Options{Stabilize: 50 * time.Millisecond, RPCTimeout: 300 * time.Millisecond}
	var nodes []*chord.Node
	for i := 0; i < 3; i++ {
		n, err := chord.New(opts)
		if err != nil {
			log.Fatal(err)
		}
		defer n.Close()
		nodes = append(nodes, n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, b, c := nodes[0], nodes[1], nodes[2]
	for _, n := range nodes[1:] {
		if err := n.Join(ctx, a.Addr()); err != nil {
			log.Fatal(err)
		}
	}
	waitForRing(nodes)
	events := c.Events()

	if err := a.Set(ctx, []byte("greeting"), []byte("hello")); err != nil {
		log.Fatal(err)
	}
	v, err := b.Get(ctx, []byte("greeting"))
	fmt.Printf("b reads %q (%v)\n", v, err)
	for waiting := true; waiting; {
		select {
		case ev := <-events:
			if ev.Type == chord.EventAdd {
				fmt.Printf("c saw a new key: %q\n", ev.Key)
				waiting = false
			}
		case <-ctx.Done():
			log.Fatal("no add event")
		}
	}

	a.Broadcast(ctx, []byte("ping"), []byte{0, 1})
	msg, err := b.Recv(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("b got %q from %x\n", msg.Packets, msg.Sender[:4])
	msg.Reply(ctx, []byte("pong"))
	if r, err := a.Recv(ctx); err == nil {
		fmt.Printf("a got %q\n", r.Packets)
	}

	c.Delete(ctx, []byte("greeting"))
	if _, err := a.Get(ctx, []byte("greeting")); errors.Is(err, chord.ErrNotFound) {
		fmt.Println("after delete: absent")
	}
}

// waitForRing waits until every node's successor is the next id in ring order:
// joins return at once, and the ring's pointers settle in the background.
func waitForRing(nodes []*chord.Node) {
	ids := make([][]byte, len(nodes))
	for i, n := range nodes {
		ids[i] = n.ID()
	}
	sort.Slice(ids, func(i, j int) bool { return bytes.Compare(ids[i], ids[j]) < 0 })
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
		settled := true
		for _, n := range nodes {
			s, err := n.Stats()
			i := sort.Search(len(ids), func(i int) bool { return bytes.Compare(ids[i], n.ID()) >= 0 })
			settled = settled && err == nil && bytes.Equal(s.SuccessorID, ids[(i+1)%len(ids)])
		}
		if settled {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	log.Fatal("the ring did not settle")
}
