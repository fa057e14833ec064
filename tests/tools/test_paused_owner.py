# SPDX-License-Identifier: MIT
"""A paused owner must not undo acknowledged writes (issue #20, bug 1).

Five real `chord node` processes on 127.0.0.1 form a ring. For a test key k:

1. `set k v1` is acknowledged.
2. The owner of k is frozen with SIGSTOP.
3. `set k v2` is sent by a client that already holds an open, authenticated
   link to the owner. The kernel takes the request into the frozen owner's
   socket, where it waits unread; the client's hop times out, the operation is
   routed around the owner, and once the ring has routed around it the next
   holder executes and acknowledges v2.
4. `set k v3` (or `del k`) is acknowledged, by the new holder.
5. The owner is resumed with SIGCONT. It reads the buffered v2 request, still
   believes it owns k, and (today) executes it with a fresh version, higher
   than v3's, which every replica accepts: the acknowledged v3 (or delete) is
   lost for good.
6. Ten seconds later, `get k` through every node must return v3 (or not found).

Why the request is buffered at the owner: a `chord set` process is a new light
client, which must complete a handshake with each node before it sends it a
request (src/net/node_host.cpp queues requests until then), and a frozen node
never answers the handshake, so a one-shot `chord` command can never leave a
request in the owner's socket. The v2 write therefore goes through
chord_test_session (session_client.c), one light client that stays joined: its
`get k` before the freeze opens the link to the owner and puts the owner in its
owner cache, so its `set k v2` is sent over that open link straight to the
owner first. The test checks, from /proc/net/tcp, that the owner's end of that
link holds at least v2's 16 KiB more unread bytes after the v2 write than
before it, so a pass is never a setup that missed the bug.

Node ids: `chord node` prints `id HEX`; with --identity the Ed25519 public key
is in the file, and the test checks that id = BLAKE2b-256(public key). A key's
position is BLAKE2b-256 of its bytes; its owner is the first node id at or
after that position, wrapping.

Timings are not assertions: only values and exit codes are.

Run: CHORD_BIN=build/tools/chord CHORD_SESSION_BIN=build/tests/tools/chord_test_session \\
     /usr/bin/python3 tests/tools/test_paused_owner.py -v
"""
import hashlib
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chord_procs import (CMD_TIMEOUT, Node, chord, eventually, kill_all,  # noqa: E402
                         procs, stop_and_kill)

SESSION = os.environ.get("CHORD_SESSION_BIN", "build/tests/tools/chord_test_session")
RING = 5
OP_MS = 30000  # generous: routing around a frozen node takes seconds
SETTLE_S = 10  # after SIGCONT, before the reads
# v2 is big, so that the bytes it leaves in the frozen owner's socket cannot be
# mistaken for the client's maintenance traffic (a few hundred bytes a second).
V2 = "v2-" + "x" * 16384


def ring_pos(data):
    return int.from_bytes(hashlib.blake2b(data, digest_size=32).digest(), "big")


def owner_of(key, nodes):
    """The node whose id is the first at or after the key's position."""
    pos = ring_pos(key)
    by_id = sorted(nodes, key=lambda n: n.ring_id)
    for n in by_id:
        if n.ring_id >= pos:
            return n
    return by_id[0]


def tcp_sockets():
    """{inode: (local port, remote port, rx_queue bytes)} of 127.0.0.1 TCP sockets."""
    out = {}
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, remote, queues, inode = fields[1], fields[2], fields[4], fields[9]
            out[inode] = (int(local.split(":")[1], 16), int(remote.split(":")[1], 16),
                          int(queues.split(":")[1], 16))
    return out


def socket_inodes(pid):
    inodes = set()
    fd_dir = "/proc/%d/fd" % pid
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    return inodes


def unread_from(owner_pid, client_pid):
    """Bytes waiting unread in the owner's ends of its links to the client."""
    socks = tcp_sockets()
    client_ports = {socks[i][0] for i in socket_inodes(client_pid) if i in socks}
    return sum(socks[i][2] for i in socket_inodes(owner_pid)
               if i in socks and socks[i][1] in client_ports)


class Session:
    """chord_test_session: one long-lived light client, driven line by line."""

    def __init__(self, via):
        self.proc = subprocess.Popen([SESSION, via, str(OP_MS)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        procs.append(self.proc)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        first = self._line(CMD_TIMEOUT)
        if first != "joined":
            raise AssertionError("chord_test_session did not join via %s: %r" % (via, first))

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.decode(errors="replace").rstrip("\n"))
        self.lines.put(None)

    def _line(self, timeout):
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("chord_test_session gave no answer in %s s" % timeout)

    def run(self, command):
        """Sends one command; returns its answer line."""
        self.proc.stdin.write(command.encode() + b"\n")
        self.proc.stdin.flush()
        return self._line(OP_MS / 1000 + 10)

    def close(self):
        stop_and_kill(self.proc)


class PausedOwnerTest(unittest.TestCase):
    def setUp(self):
        self.nodes = []
        self.sessions = []
        self.tmp = tempfile.TemporaryDirectory()
        try:
            self.start_ring()
        except BaseException:
            self.tearDown()
            raise

    def tearDown(self):
        for s in self.sessions:
            s.close()
        for n in self.nodes:
            n.kill()
        self.tmp.cleanup()

    def start_ring(self):
        for i in range(RING):
            ident = os.path.join(self.tmp.name, "id%d" % i)
            join = [self.nodes[0].addr] if self.nodes else []
            n = Node(join=join, extra=["--identity", ident])
            self.nodes.append(n)
            id_line = n.wait_line("id ")
            n.wait_line("ready")
            with open(ident, "rb") as f:
                public_key = f.read()[40:72]  # "CHORDID1" || seed || public key
            n.ring_id = int(id_line[3:], 16)
            self.assertEqual(n.ring_id, ring_pos(public_key),
                             "the printed id is not BLAKE2b-256 of the public key")
        # Formed: a write through every node is read through every node.
        for n in self.nodes:
            key = "probe-" + n.addr
            eventually(lambda: chord("set", key, "x", "--via", n.addr)[0] == 0, 30,
                       what="a write through " + n.addr)
            for m in self.nodes:
                eventually(lambda: chord("get", key, "--via", m.addr)[:2] == (0, b"x"), 30,
                           what="a read through " + m.addr)

    def pick_key(self, via):
        tag = os.urandom(4).hex()
        for i in range(1000):
            key = "paused-%s-%d" % (tag, i)
            if owner_of(key.encode(), self.nodes) is not via:
                return key
        self.fail("no key owned by a node other than the one requests go through")

    def check_last_write_survives(self, last):
        """last: "set" (v3 is the last acknowledged write) or "del"."""
        via = self.nodes[0]
        key = self.pick_key(via)
        owner = owner_of(key.encode(), self.nodes)
        others = [n for n in self.nodes if n is not owner and n is not via]
        ms = str(OP_MS)

        rc, _, err = chord("set", key, "v1", "--via", via.addr, "--timeout", ms)
        self.assertEqual(rc, 0, err)
        session = Session(via.addr)
        self.sessions.append(session)
        # Opens the session's link to the owner and caches it as the key's owner.
        self.assertEqual(session.run("get " + key), "value v1")

        owner.pause()
        before = unread_from(owner.proc.pid, session.proc.pid)
        self.assertEqual(session.run("set %s %s" % (key, V2)), "ok")
        buffered = unread_from(owner.proc.pid, session.proc.pid)
        self.assertGreaterEqual(buffered - before, len(V2),
                                "setup: the v2 request never reached the frozen owner's socket")

        if last == "set":
            rc, _, err = chord("set", key, "v3", "--via", others[0].addr, "--timeout", ms)
        else:
            rc, _, err = chord("del", key, "--via", others[0].addr, "--timeout", ms)
        self.assertEqual(rc, 0, err)

        owner.resume()
        time.sleep(SETTLE_S)
        want = (0, b"v3") if last == "set" else (1, b"")
        got = {n.addr: chord("get", key, "--via", n.addr, "--timeout", ms)[:2]
               for n in self.nodes}
        names = {b"v1": "v1", V2.encode(): "v2", b"v3": "v3"}
        wrong = {a: (rc, names.get(out, out[:20])) for a, (rc, out) in got.items()
                 if (rc, out) != want}
        self.assertEqual(wrong, {}, "after the owner %s resumed, wanted %r from every node "
                         "(got exit code, value)" % (owner.addr, want))

    def test_a_set_acknowledged_while_the_owner_was_paused_survives_its_return(self):
        self.check_last_write_survives("set")

    def test_a_delete_acknowledged_while_the_owner_was_paused_survives_its_return(self):
        self.check_last_write_survives("del")


if __name__ == "__main__":
    try:
        unittest.main()
    finally:
        kill_all()
