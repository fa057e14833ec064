# SPDX-License-Identifier: MIT
"""End-to-end tests of the `chord` program.

Starts real `chord node` processes on 127.0.0.1 and uses the dictionary
commands through --via, checking values, exit codes and the graceful leave on
SIGTERM. Every process is bounded by a timeout and killed at the end.

Run: CHORD_BIN=build/tools/chord /usr/bin/python3 tests/tools/test_cli.py -v
"""
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chord_procs import (CHORD, CMD_TIMEOUT, Node, chord, eventually, free_port,  # noqa: E402
                         kill_all, procs)


class ChordCommandTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.a = Node()
        cls.a.wait_line("ready")
        cls.b = Node(join=[cls.a.addr])
        cls.b.wait_line("ready")
        # The first --join address is dead: the node must fall back to the next.
        cls.c = Node(join=["127.0.0.1:%d" % free_port(), cls.a.addr])
        cls.c.wait_line("ready")
        cls.nodes = [cls.a, cls.b, cls.c]
        # Every node can serve a write and a read once the ring has settled.
        for n in cls.nodes:
            eventually(lambda: chord("set", "probe-" + n.addr, "x", "--via", n.addr)[0] == 0,
                       what="a write through " + n.addr)
            for m in cls.nodes:
                eventually(lambda: chord("get", "probe-" + n.addr, "--via", m.addr)[:2]
                           == (0, b"x"), what="a read through " + m.addr)

    @classmethod
    def tearDownClass(cls):
        for n in cls.nodes:
            n.kill()

    def test_node_prints_its_address_and_id(self):
        self.assertIn("address " + self.a.addr, self.a.seen)
        ids = [l for l in self.a.seen if l.startswith("id ")]
        self.assertEqual(len(ids), 1)
        self.assertRegex(ids[0], r"^id [0-9a-f]{64}$")
        self.assertIn("started a new ring", self.a.seen)
        self.assertIn("joined via " + self.a.addr, self.b.seen)
        self.assertIn("joined via " + self.a.addr, self.c.seen)

    def test_set_through_one_node_is_read_through_the_others(self):
        rc, out, err = chord("set", "colour", "blue", "--via", self.a.addr)
        self.assertEqual((rc, out), (0, b""), err)
        for n in (self.b, self.c):
            self.assertEqual(chord("get", "colour", "--via", n.addr)[:2], (0, b"blue"))

    def test_get_of_an_absent_key_exits_1_and_prints_nothing(self):
        rc, out, _ = chord("get", "no-such-key", "--via", self.b.addr)
        self.assertEqual((rc, out), (1, b""))

    def test_malformed_address_exits_2_with_one_line_on_stderr(self):
        for bad in ("nonsense", "127.0.0.1", "127.0.0.1:99999", ":4000", "127.0.0.1:port"):
            rc, out, err = chord("get", "k", "--via", bad)
            self.assertEqual(rc, 2, bad)
            self.assertEqual(out, b"")
            self.assertEqual(len(err.strip().splitlines()), 1, err)
            self.assertIn(bad, err)

    def test_unreachable_address_exits_3_naming_the_code(self):
        rc, _, err = chord("get", "k", "--via", "127.0.0.1:%d" % free_port())
        self.assertEqual(rc, 3, err)
        self.assertTrue(err.startswith("chord get: "), err)
        self.assertIn("CHORD_E", err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)

    def test_oversized_key_or_value_exits_2_naming_the_limit(self):
        rc, _, err = chord("set", "k" * 2000, "v", "--via", self.a.addr)
        self.assertEqual(rc, 2, err)
        self.assertIn("CHORD_ETOOBIG", err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertLess(len(err), 400, "the message should not echo the whole key")
        rc, _, err = chord("set", "big", "-", "--via", self.a.addr, stdin=b"x" * (2 << 20))
        self.assertEqual(rc, 2, err)
        self.assertIn("CHORD_ETOOBIG", err)

    def test_usage_errors_exit_2(self):
        self.assertEqual(chord("get", "--via", self.a.addr)[0], 2)  # no key
        self.assertEqual(chord("get", "k", "--via", self.a.addr, "--bogus")[0], 2)
        self.assertEqual(chord("nosuchcommand")[0], 2)
        self.assertEqual(chord()[0], 2)

    def test_del_removes_the_key_and_exits_1_when_absent(self):
        self.assertEqual(chord("set", "doomed", "v", "--via", self.a.addr)[0], 0)
        self.assertEqual(chord("del", "doomed", "--via", self.b.addr)[0], 0)
        self.assertEqual(chord("get", "doomed", "--via", self.c.addr)[0], 1)
        self.assertEqual(chord("del", "doomed", "--via", self.a.addr)[0], 1)

    def test_pop_returns_the_value_once(self):
        self.assertEqual(chord("set", "job", "payload", "--via", self.a.addr)[0], 0)
        self.assertEqual(chord("pop", "job", "--via", self.c.addr)[:2], (0, b"payload"))
        self.assertEqual(chord("pop", "job", "--via", self.b.addr)[:2], (1, b""))
        self.assertEqual(chord("get", "job", "--via", self.a.addr)[0], 1)

    def test_keys_and_items_list_what_was_set(self):
        want = {b"list-%d" % i: b"v%d" % i for i in range(10)}
        for k, v in want.items():
            self.assertEqual(chord("set", k.decode(), v.decode(), "--via", self.b.addr)[0], 0)
        rc, out, err = chord("keys", "--via", self.c.addr)
        self.assertEqual(rc, 0, err)
        keys = out.splitlines()
        self.assertEqual(len(keys), len(set(keys)), "a key was listed twice")
        self.assertTrue(set(want) <= set(keys), keys)
        rc, out, err = chord("items", "--via", self.a.addr)
        self.assertEqual(rc, 0, err)
        items = dict(line.split(b"\t", 1) for line in out.splitlines())
        for k, v in want.items():
            self.assertEqual(items.get(k), v)

    def test_set_dash_reads_binary_value_from_stdin_and_hex_prints_it(self):
        value = bytes(range(256)) + b"\n\x00tail"
        rc, _, err = chord("set", "blob", "-", "--via", self.a.addr, stdin=value)
        self.assertEqual(rc, 0, err)
        self.assertEqual(chord("get", "blob", "--via", self.b.addr)[:2], (0, value))
        rc, out, _ = chord("get", "blob", "--hex", "--via", self.c.addr)
        self.assertEqual((rc, out), (0, value.hex().encode() + b"\n"))

    def test_every_subcommand_has_help_with_examples(self):
        for sub in ("node", "get", "set", "del", "pop", "keys", "items", "watch", "demo",
                    "keygen"):
            rc, out, _ = chord(sub, "--help")
            self.assertEqual(rc, 0, sub)
            self.assertIn(b"usage: chord " + sub.encode(), out)
            self.assertIn(b"examples:", out)

    def test_help_states_the_defaults_that_chord_h_documents(self):
        # chord.h documents each option's default at the end of its comment;
        # the help of `chord node` and `chord get` must say the same.
        header = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                              "include", "chord", "chord.h")
        with open(header) as f:
            text = f.read()
        body = text[text.index("typedef struct chord_node_opts {"):
                    text.index("} chord_node_opts;")]
        documented = {}
        for m in re.finditer(r"(\w+);\s*/\*\*<([^*]*)\*/", body):
            documented[m.group(1)] = m.group(2).strip().rstrip(".").split(".")[-1].strip()
        documented["max_clock_skew_ms"] = re.search(
            r"run NTP\. (\d+) \*/\s*unsigned max_clock_skew_ms;", body).group(1)
        _, node_help, _ = chord("node", "--help")
        _, get_help, _ = chord("get", "--help")
        node_help, get_help = node_help.decode(), get_help.decode()

        def default_after(help_text, option):
            i = help_text.index(option)
            return re.search(r"\(default ([^)]*)\)", help_text[i:]).group(1)

        self.assertEqual(default_after(node_help, "--replicas"), documented["replicas"])
        self.assertEqual(default_after(node_help, "--max-clock-skew"),
                         documented["max_clock_skew_ms"])
        self.assertEqual(default_after(get_help, "--network"), documented["network"]
                         .split()[-1])  # '"chord"'
        self.assertEqual(default_after(get_help, "--timeout"), documented["default_timeout_ms"])

    def check_watch(self, *extra):
        """Runs `chord watch`, sets keys until an add shows up, deletes that key
        and waits for its delete line, then stops watch with SIGINT."""
        w = subprocess.Popen([CHORD, "watch", "--via", self.b.addr] + list(extra),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        procs.append(w)
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(l) for l in w.stdout], daemon=True).start()
        try:
            # The subscription is live once an add shows up; keep writing until then.
            # Fresh keys: setting a key that is already present is no add event.
            tag = os.urandom(4).hex()
            deadline = time.monotonic() + 8
            seen = None
            i = 0
            # watch prints every event of the network: a late one from an earlier
            # test's keys (a broadcast retried around a node that went away can
            # reach a node that joined since) is skipped.
            mine = re.compile(rb"^add watched-" + tag.encode() + rb"-\d+$")
            while seen is None and time.monotonic() < deadline:
                key = "watched-%s-%d" % (tag, i)
                i += 1
                self.assertEqual(chord("set", key, "v", "--via", self.c.addr)[0], 0)
                try:
                    line = lines.get(timeout=0.5).rstrip(b"\n")
                    if mine.match(line):
                        seen = line
                    else:
                        self.assertNotIn(tag.encode(), line)  # never a wrong event of ours
                except queue.Empty:
                    pass
            self.assertIsNotNone(seen, "watch printed no add event of this test's keys")
            key = seen.split(b" ", 1)[1].decode()
            self.assertEqual(chord("del", key, "--via", self.a.addr)[0], 0)
            deadline = time.monotonic() + 20
            want = b"delete " + key.encode()
            got = []
            while want not in got and time.monotonic() < deadline:
                try:
                    got.append(lines.get(timeout=0.5).rstrip(b"\n"))
                except queue.Empty:
                    pass
            self.assertIn(want, got)
            w.send_signal(signal.SIGINT)
            self.assertEqual(w.wait(timeout=CMD_TIMEOUT), 0)
        finally:
            if w.poll() is None:
                w.kill()
                w.wait()

    def test_watch_as_a_member_prints_add_and_delete_events(self):
        self.check_watch("--listen", "127.0.0.1:0")

    # A light client gets events through a member it holds a lease at
    # (src/core/client_events.cpp, tests/sim/client_events_test.cpp).
    def test_watch_as_a_light_client_prints_add_and_delete_events(self):
        self.check_watch()

    def test_network_key_file_refuses_outsiders_and_admits_holders(self):
        with tempfile.TemporaryDirectory() as tmp:
            key = os.path.join(tmp, "net.key")
            with open(key, "wb") as f:
                f.write(os.urandom(32))
            hex_key = os.path.join(tmp, "net.hex")
            with open(key, "rb") as f, open(hex_key, "w") as g:
                g.write(f.read().hex() + "\n")
            bad = os.path.join(tmp, "bad.key")
            with open(bad, "w") as f:
                f.write("not a key\n")
            n = Node(extra=["--network", "private", "--network-key-file", key])
            try:
                n.wait_line("ready")
                rc, _, err = chord("get", "k", "--via", n.addr, "--network", "private")
                self.assertEqual(rc, 3, err)
                self.assertIn("CHORD_EREFUSED", err)
                rc, _, err = chord("get", "k", "--via", n.addr, "--network", "private",
                                   "--network-key-file", hex_key)
                self.assertEqual(rc, 1, err)  # admitted; the key is simply absent
                rc, _, err = chord("get", "k", "--via", n.addr, "--network", "private",
                                   "--network-key-file", bad)
                self.assertEqual(rc, 2, err)
                self.assertIn(bad, err)
            finally:
                n.kill()

    def test_keygen_writes_a_private_key_that_admits_its_holders(self):
        with tempfile.TemporaryDirectory() as tmp:
            key = os.path.join(tmp, "net.key")
            rc, out, err = chord("keygen", key)
            self.assertEqual(rc, 0, err)
            self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
            with open(key) as f:
                self.assertRegex(f.read(), r"^[0-9a-f]{64}\n$")
            # Never over an existing file.
            with open(key) as f:
                before = f.read()
            rc, _, err = chord("keygen", key)
            self.assertEqual(rc, 2, err)
            self.assertIn("exists", err)
            with open(key) as f:
                self.assertEqual(f.read(), before)
            n = Node(extra=["--network-key-file", key])
            try:
                n.wait_line("ready")
                rc, _, err = chord("get", "k", "--via", n.addr)
                self.assertEqual(rc, 3, err)  # no key: refused
                rc, _, err = chord("get", "k", "--via", n.addr, "--network-key-file", key)
                self.assertEqual(rc, 1, err)  # admitted; the key is absent
            finally:
                n.kill()

    def test_new_network_writes_a_key_and_prints_the_join_command(self):
        with tempfile.TemporaryDirectory() as tmp:
            key = os.path.join(tmp, "net.key")
            first = Node(extra=["--new-network", key])
            try:
                line = first.wait_line("join with: ")
                self.assertEqual(line, "join with: chord node --join %s --network-key-file %s"
                                 % (first.addr, key))
                first.wait_line("ready")
                self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
                # The printed command joins; without the key nobody gets in.
                args = line[len("join with: chord node "):].split()
                second = Node(extra=args)
                try:
                    second.wait_line("ready")
                    self.assertIn("joined via " + first.addr, second.seen)
                finally:
                    second.kill()
                self.assertEqual(chord("get", "k", "--via", first.addr)[0], 3)
            finally:
                first.kill()
            # Never over an existing key, and never with --join.
            rc, _, err = chord("node", "--new-network", key)
            self.assertEqual(rc, 2, err)
            self.assertIn("exists", err)
            rc, _, err = chord("node", "--new-network", key + "2", "--join", first.addr)
            self.assertEqual(rc, 2, err)
            self.assertFalse(os.path.exists(key + "2"))

    def test_key_files_that_hang_or_leak_are_refused_or_flagged(self):
        with tempfile.TemporaryDirectory() as tmp:
            fifo = os.path.join(tmp, "fifo.key")
            os.mkfifo(fifo)
            # Once blocked in open() until a writer came.
            rc, _, err = chord("get", "k", "--via", self.a.addr, "--network-key-file", fifo)
            self.assertEqual(rc, 2, err)
            self.assertIn("not a regular file", err)
            key = os.path.join(tmp, "open.key")
            self.assertEqual(chord("keygen", key)[0], 0)
            os.chmod(key, 0o644)
            rc, _, err = chord("get", "k", "--via", self.a.addr, "--network-key-file", key)
            self.assertIn("chmod 600", err)  # used, with a warning (then refused: other key)
            self.assertEqual(rc, 3, err)

    def test_a_node_on_a_reachable_address_needs_a_key_or_open(self):
        port = free_port()
        rc, out, err = chord("node", "--listen", "0.0.0.0:%d" % port)
        self.assertEqual(rc, 2, err)
        self.assertIn("without a network key", err)
        self.assertIn("--open", err)
        self.assertNotIn(b"address", out)  # it never started
        # --open allows it (and loopback needs neither).
        n = Node(extra=["--open"])
        try:
            n.wait_line("ready")
        finally:
            n.kill()
        p = subprocess.Popen([CHORD, "node", "--listen", "0.0.0.0:%d" % port, "--advertise",
                              "127.0.0.1:%d" % port, "--open"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        procs.append(p)
        try:
            first = p.stdout.readline().decode()
            self.assertTrue(first.startswith("address 127.0.0.1:%d" % port), first)
        finally:
            p.kill()
            p.wait(timeout=CMD_TIMEOUT)

    def test_identity_file_keeps_the_node_id_across_restarts(self):
        with tempfile.TemporaryDirectory() as tmp:
            ident = os.path.join(tmp, "id")
            ids = []
            for _ in range(2):
                n = Node(extra=["--identity", ident])
                try:
                    ids.append(n.wait_line("id "))
                    n.wait_line("ready")
                    n.proc.send_signal(signal.SIGINT)
                    self.assertEqual(n.proc.wait(timeout=CMD_TIMEOUT), 0)
                finally:
                    n.kill()
            self.assertEqual(ids[0], ids[1])
            self.assertEqual(os.stat(ident).st_mode & 0o077, 0, "identity readable by others")

    def test_sigterm_leaves_gracefully_and_keeps_its_data(self):
        # A ring of its own with one copy per key: a key that the leaver holds
        # survives only if the leave hands it over.
        one = ["--replicas", "1"]
        first = Node(extra=one)
        ring = [first]
        try:
            first.wait_line("ready")
            for _ in range(2):
                ring.append(Node(join=[first.addr], extra=one))
                ring[-1].wait_line("ready")
            leaver = Node(join=[ring[1].addr], extra=one)
            ring.append(leaver)
            leaver.wait_line("ready")
            eventually(lambda: chord("set", "via-leaver", "x", "--via", leaver.addr)[0] == 0,
                       what="a write through the new node")
            keys = {"leaver-%d" % i: "value-%d" % i for i in range(40)}
            for k, v in keys.items():
                rc, _, err = chord("set", k, v, "--via", leaver.addr)
                self.assertEqual(rc, 0, err)
            leaver.proc.send_signal(signal.SIGTERM)
            self.assertEqual(leaver.proc.wait(timeout=CMD_TIMEOUT), 0, leaver.stderr())
            leaver.wait_line("left the ring")
            for i, (k, v) in enumerate(sorted(keys.items())):
                via = ring[i % 3].addr
                self.assertEqual(chord("get", k, "--via", via)[:2], (0, v.encode()), k)
        finally:
            for n in ring:
                n.kill()


class ChordDemoTest(unittest.TestCase):
    def test_demo_exits_0_and_reports_that_the_data_survived(self):
        rc, out, err = chord("demo", timeout=120)
        text = out.decode(errors="replace")
        self.assertEqual(rc, 0, text + err)
        self.assertIn("All data survived the crash", text)
        self.assertRegex(text, r"(\d+)/\1 keys, and \"hello\", survived with their values")
        self.assertIn("saw: add \"hello\"", text)
        self.assertIn("p50", text)
        self.assertIn("hops", text)


if __name__ == "__main__":
    try:
        unittest.main()
    finally:
        kill_all()
