# SPDX-License-Identifier: MIT
"""Runs chord-bench with the given arguments and checks its JSON report.

usage: check_bench_json.py CHORD_BENCH [bench arguments...]

Checks that stdout is one JSON object holding every documented field, that
every key was readable before the crash and after it (the run must crash fewer
nodes than there are replicas), and that the echoed arguments match. Asserts
no timings. Exits 0 on success, 1 with the reason on failure.
"""
import json
import subprocess
import sys

FIELDS = [
    "nodes", "keys", "value_bytes", "bootstrap_ms", "put_p50_us", "put_p99_us",
    "get_p50_us", "get_p99_us", "get_ops_per_s", "concurrency", "mean_hops",
    "rss_kb", "rss_per_node_kb", "idle_cpu_pct", "idle_cpu_total_pct", "killed_fraction",
    "keys_readable_after_kill", "repair_ms", "keys_readable_before_kill",
    "killed_nodes", "repaired", "replicas", "stabilize_ms", "mode",
    "put_ops_per_s", "msgs_per_put", "msgs_per_get", "idle_msgs_per_s_per_node",
    "longest_killed_run", "put_errors", "get_errors", "idle_cpu_settled_total_pct",
    "idle_settled_msgs_per_s_per_node",
]


def flag(args, name):
    return args[args.index(name) + 1]


def main():
    bench, args = sys.argv[1], sys.argv[2:]
    proc = subprocess.run([bench] + args, stdout=subprocess.PIPE, timeout=110)
    if proc.returncode != 0:
        sys.exit("chord-bench exited %d" % proc.returncode)
    lines = proc.stdout.decode().strip().splitlines()
    if len(lines) != 1:
        sys.exit("want one line of JSON on stdout, got %d lines" % len(lines))
    report = json.loads(lines[0])
    print(json.dumps(report, indent=1))
    missing = [f for f in FIELDS if f not in report]
    if missing:
        sys.exit("missing fields: %s" % ", ".join(missing))
    problems = []
    if report["nodes"] != int(flag(args, "--nodes")):
        problems.append("nodes %r" % report["nodes"])
    if report["keys"] != int(flag(args, "--keys")):
        problems.append("keys %r" % report["keys"])
    if report["mode"] != "real":
        problems.append("mode %r" % report["mode"])
    if report["keys_readable_before_kill"] != 1.0:
        problems.append("keys_readable_before_kill %r" % report["keys_readable_before_kill"])
    if report["killed_nodes"] < 1:
        problems.append("no node was crashed")
    if report["keys_readable_after_kill"] != 1.0:
        problems.append("keys_readable_after_kill %r" % report["keys_readable_after_kill"])
    if report["repaired"] is not True:
        problems.append("the ring was not repaired before the deadline")
    if report["put_errors"] != 0 or report["get_errors"] != 0:
        problems.append("put_errors %r get_errors %r" % (report["put_errors"], report["get_errors"]))
    if not report["mean_hops"] >= 0:
        problems.append("mean_hops %r" % report["mean_hops"])
    if problems:
        sys.exit("; ".join(problems))
    print("chord-bench report OK")


if __name__ == "__main__":
    main()
