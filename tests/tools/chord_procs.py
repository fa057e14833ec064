# SPDX-License-Identifier: MIT
"""Helpers shared by the tests of the `chord` program: `chord node` processes on
127.0.0.1 and one-shot `chord` commands, every one bounded by a timeout.

Every process started here is recorded in `procs`; kill_all() resumes (SIGCONT)
and kills those still running, by PID, and nothing else.
"""
import os
import queue
import signal
import socket
import subprocess
import tempfile
import threading
import time

CHORD = os.environ.get("CHORD_BIN", "build/tools/chord")
CMD_TIMEOUT = 30  # seconds for one short command
procs = []  # every subprocess.Popen started by these tests


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chord(*args, stdin=None, timeout=CMD_TIMEOUT):
    """Runs `chord ARGS`; returns (exit code, stdout bytes, stderr text)."""
    p = subprocess.run([CHORD] + list(args), input=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def stop_and_kill(p, timeout=10):
    """Kills one process we started: SIGCONT first (a stopped process cannot die
    until it runs), then SIGKILL, then reaps it."""
    if p.poll() is None:
        try:
            p.send_signal(signal.SIGCONT)
            p.kill()
        except ProcessLookupError:
            pass
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass


class Node:
    """One `chord node` process, its stdout lines collected by a thread."""

    def __init__(self, join=None, extra=(), port=None):
        self.port = port or free_port()  # a given port: a restart where peers remember it
        self.addr = "127.0.0.1:%d" % self.port
        args = [CHORD, "node", "--listen", self.addr] + list(extra)
        for j in join or []:
            args += ["--join", j]
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log)
        procs.append(self.proc)
        self.lines = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.decode(errors="replace").rstrip("\n"))
        self.lines.put(None)

    def wait_line(self, prefix, timeout=CMD_TIMEOUT):
        """Waits for a stdout line starting with prefix; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no %r line from node %s; saw %r; stderr:\n%s"
                                     % (prefix, self.addr, self.seen, self.stderr()))
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError("node %s exited (%s) before %r; saw %r; stderr:\n%s"
                                     % (self.addr, self.proc.poll(), prefix, self.seen,
                                        self.stderr()))
            self.seen.append(line)
            if line.startswith(prefix):
                return line

    def stderr(self):
        if self.log.closed:
            return ""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-4000:]

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)

    def kill(self):
        stop_and_kill(self.proc, timeout=CMD_TIMEOUT)
        self.log.close()


def kill_all():
    for p in procs:
        stop_and_kill(p)


def eventually(check, timeout=20, what="condition"):
    """Retries check() until it returns a true value; returns it."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))
