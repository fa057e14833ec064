#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Replays chord-bench --sim runs with fixed seeds and compares their JSON
with the committed expected output (bench/sim/golden/*.json).

The simulator is deterministic, so a change to the core that is meant to
keep behaviour (a refactor) must print the same figures and the same
trace_digest (every message sent, when, from, to and its bytes). Only the
wall-clock fields differ between runs and are ignored.

A deliberate change of behaviour updates the expected files:
    check_golden.py CHORD_BENCH GOLDEN_DIR --update
and says why in the commit message.
"""
import json
import subprocess
import sys
from pathlib import Path

IGNORED = {"elapsed_ms", "sim_events_per_s"}


def main() -> int:
    if len(sys.argv) < 3:
        print("usage: check_golden.py CHORD_BENCH GOLDEN_DIR [--update]", file=sys.stderr)
        return 2
    bench, golden = sys.argv[1], Path(sys.argv[2])
    update = "--update" in sys.argv[3:]
    cases = sorted(golden.glob("*.json"))
    if not cases:
        print(f"no expected files in {golden}", file=sys.stderr)
        return 1
    failed = 0
    for case in cases:
        expected = json.loads(case.read_text())
        args = expected["args"]
        out = subprocess.run([bench, "--sim", *args], capture_output=True, text=True,
                             timeout=600)
        if out.returncode != 0:
            print(f"FAIL {case.name}: chord-bench exited {out.returncode}\n{out.stderr[-2000:]}")
            failed += 1
            continue
        got = json.loads(out.stdout)
        for k in IGNORED:
            got.pop(k, None)
        if update:
            case.write_text(json.dumps({"args": args, "output": got}, indent=1,
                                       sort_keys=True) + "\n")
            print(f"updated {case.name}")
            continue
        want = expected["output"]
        diff = [k for k in sorted(set(want) | set(got)) if want.get(k) != got.get(k)]
        if diff:
            failed += 1
            print(f"FAIL {case.name} (chord-bench --sim {' '.join(args)}):")
            for k in diff:
                print(f"  {k}: expected {want.get(k)!r}, got {got.get(k)!r}")
        else:
            print(f"ok   {case.name}: {got['sim_events']} events, digest {got['trace_digest'][:16]}")
    print(f"{len(cases) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
