# SPDX-License-Identifier: MIT
"""Durable `chord node` processes killed with SIGKILL (#15): a whole ring
killed and started again on its data folders, and one node killed at random
moments of a write burst, 50 times.

Three nodes, each with --data DIR on a fixed port. Writes (each key twice, so
that the second value must win) and deletes go through the ring; then every
process is killed with `kill -9` at once, and each is started again on its
folder, without --join: the first finds no remembered member alive and starts
a new ring, the others rejoin through the members their folders remember.
Every acknowledged write must be read with its latest value through every
node, and every acknowledged delete must stay deleted.

Run: CHORD_BIN=build/tools/chord /usr/bin/python3 tests/tools/test_durable_ring.py -v
"""
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chord_procs import CHORD, Node, chord, eventually, kill_all  # noqa: E402

KEYS = 30


class DurableRingTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="chord-tools-durable-")
        self.nodes = []

    def tearDown(self):
        kill_all()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, i, port=None, join=None):
        extra = ["--data", os.path.join(self.tmp, "n%d" % i), "--timeout", "3000"]
        n = Node(join=join, extra=extra, port=port)
        n.wait_line("ready")
        return n

    def test_every_acknowledged_write_survives_kill_9_of_the_whole_ring(self):
        a = self.start(0)
        b = self.start(1, join=[a.addr])
        c = self.start(2, join=[a.addr])
        ring = [a, b, c]
        for n in ring:
            eventually(lambda: chord("set", "probe", "x", "--via", n.addr)[0] == 0,
                       what="a write through " + n.addr)
        ids = [next(l for l in n.seen if l.startswith("id ")) for n in ring]
        for rnd in range(2):
            for k in range(KEYS):
                rc, _, err = chord("set", "k%d" % k, "v%d-%d" % (k, rnd),
                                   "--via", ring[k % 3].addr)
                self.assertEqual(rc, 0, err)
        for k in range(0, KEYS, 3):
            rc, _, err = chord("del", "k%d" % k, "--via", ring[(k + 1) % 3].addr)
            self.assertEqual(rc, 0, err)
        time.sleep(1.5)  # the members files (written at most once a second)
        for n in ring:
            n.proc.kill()  # kill -9 of every process, as a power cut of the ring
        for n in ring:
            n.proc.wait(timeout=10)
            n.log.close()

        back = [self.start(0, port=a.port)]
        self.assertIn("started a new ring", back[0].seen)
        for i, old in ((1, b), (2, c)):
            back.append(self.start(i, port=old.port))
            self.assertIn("rejoined remembered members", back[-1].seen, back[-1].stderr())
        for old, new in zip(ids, back):
            self.assertIn(old, new.seen, "the same id from the folder")
        for k in range(KEYS):
            for n in back:
                if k % 3 == 0:
                    eventually(lambda: chord("get", "k%d" % k, "--via", n.addr)[0] == 1,
                               what="k%d deleted through %s" % (k, n.addr))
                else:
                    want = ("v%d-1" % k).encode()
                    eventually(lambda: chord("get", "k%d" % k, "--via", n.addr)[:2] == (0, want),
                               what="k%d through %s" % (k, n.addr))


    def test_a_node_killed_50_times_during_writes_keeps_every_acknowledged_one(self):
        port = None
        acked = {}  # key -> value, once `chord set` exited 0
        rng = random.Random(15)
        for life in range(50):
            n = self.start(0, port=port)
            port = n.port
            stop = threading.Event()

            def burst(life=life, addr=n.addr):
                i = 0
                while not stop.is_set():
                    k, v = "w%d-%d" % (life, i), "v%d" % i
                    p = subprocess.run([CHORD, "set", k, v, "--via", addr, "--timeout", "2000"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                       timeout=30)
                    if p.returncode == 0:
                        acked[k] = v.encode()
                    i += 1

            t = threading.Thread(target=burst)
            t.start()
            time.sleep(rng.uniform(0.02, 0.3))
            n.proc.kill()  # kill -9 at a random moment of the burst
            n.proc.wait(timeout=10)
            stop.set()
            t.join()
            n.log.close()
        n = self.start(0, port=port)
        rc, out, err = chord("items", "--via", n.addr)
        self.assertEqual(rc, 0, err)
        items = dict(line.split(b"\t", 1) for line in out.splitlines())
        missing = [k for k, v in acked.items() if items.get(k.encode()) != v]
        sys.stderr.write("%d acknowledged writes over 50 kills, %d stored\n" % (len(acked), len(items)))
        self.assertGreater(len(acked), 50, "too few acknowledged writes to mean anything")
        self.assertEqual(missing, [], "%d of %d acknowledged writes lost" % (len(missing), len(acked)))


if __name__ == "__main__":
    unittest.main()
