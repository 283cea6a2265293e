"""Where objstore's server CPU goes, per request kind and per process kind.

Starts a fresh all-in-one cluster, then runs the small-object phases of
``proxy_bench`` (PUT, GET, HEAD, DELETE of 4 KiB objects) one at a time.
During each phase it

- samples every server's CPU time from ``/proc`` and reports it per
  request, summed by kind (proxy, object, container, account), so one
  table says which process kind pays for which verb, and
- runs ``py-spy record`` (when installed; ``--no-spy`` skips it) on the
  proxy, one object server and one container server, and prints each
  one's top functions by own time and by time including callees.

py-spy is not a dependency of objstore: install it into the venv that runs
this script (``pip install py-spy``).  It samples from outside the process
(``--nonblocking``), so the profiled servers run unchanged.

Usage: ``python bench/profile_servers.py [--duration 5] [--concurrency 16]
[--top 25] [--json out.json]``
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.append(str(BENCH_DIR.parent))

import proxy_bench  # noqa: E402
from proc_cpu import ServerCpuMeter, tree_cpu_seconds  # noqa: E402
from quiet_aio import pids_by_kind, quiet_aio  # noqa: E402
from swift_http import authenticate  # noqa: E402

KINDS = ("proxy", "object", "container", "account")


def py_spy_binary() -> Optional[str]:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def start_spy(binary: str, pid: int, out: Path, rate: int) -> subprocess.Popen:
    return subprocess.Popen(
        [binary, "record", "--pid", str(pid), "--format", "raw", "--rate", str(rate),
         "--nonblocking", "--output", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_spy(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _frame_name(frame: str) -> str:
    """``func (path/to/module.py:123)`` -> ``module.py:func``."""
    name, _, where = frame.partition(" (")
    filename = where.split(":")[0]
    parts = Path(filename).parts
    short = "/".join(parts[-2:]) if parts else filename
    return "%s:%s" % (short, name)


# The hub's functions that park a process waiting for sockets.
HUB_WAITS = frozenset(("wait", "poll", "do_poll", "select", "epoll"))


def _is_hub_wait(frame: str) -> bool:
    """True for an eventlet hub frame that waits: py-spy names it ``wait`` or,
    in newer versions, with its class (``Hub.wait``, ``Hub.do_poll``)."""
    where, _, name = frame.rpartition(":")
    return "hubs" in where and name.rpartition(".")[2] in HUB_WAITS


def summarise_stacks(path: Path, top: int) -> dict:
    """Own-time and inclusive-time shares of the top functions, from py-spy's
    collapsed-stack output (``frame;frame;frame count`` per line).  Idle
    samples (a green thread parked in the hub's poll) are counted apart."""
    own: collections.Counter = collections.Counter()
    inclusive: collections.Counter = collections.Counter()
    total = idle = 0
    if not path.exists():
        return {"samples": 0}
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_name(f) for f in stack.split(";") if f]
        if not frames:
            continue
        total += count
        if any(_is_hub_wait(f) for f in frames[-2:]):
            idle += count
            continue
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    busy = max(1, total - idle)
    return {"samples": total, "idle_samples": idle,
            "own_pct": [(f, round(100 * c / busy, 1)) for f, c in own.most_common(top)],
            "inclusive_pct": [(f, round(100 * c / busy, 1))
                              for f, c in inclusive.most_common(top)]}


def profile_phases(cluster, args: argparse.Namespace, spy: Optional[str],
                   report: dict) -> None:
    """Every small-object phase once, measured (and sampled) into ``report``."""
    pids = pids_by_kind(cluster, KINDS)
    targets = {"proxy": pids["proxy"][0], "object": pids["object"][0],
               "container": pids["container"][0]}
    config = proxy_bench.BenchConfig(cluster.auth_url, "test:tester", "testing",
                                     concurrency=args.concurrency,
                                     containers=args.containers,
                                     duration=args.duration,
                                     phases=proxy_bench.SMALL_PHASES)
    config.run_id = "%d-%d" % (time.time(), os.getpid())
    session = authenticate(config.auth_url, config.user, config.key)
    proxy_bench._setup_containers(config, session)
    all_pids = [p for kind in KINDS for p in pids[kind]]
    meter = ServerCpuMeter(lambda: all_pids)
    meter.calibrate()
    with proxy_bench.SmallObjectDriver(config, session, meter) as driver:
        for phase in proxy_bench.SMALL_PHASES:
            meter.settle()
            spies = {}
            if spy:
                for kind, pid in targets.items():
                    out = Path(cluster.layout.logs_dir) / ("spy-%s-%s.txt" % (phase, kind))
                    spies[kind] = (start_spy(spy, pid, out, args.rate), out)
            before = {k: tree_cpu_seconds(pids[k]) or 0.0 for k in KINDS}
            result = driver.run(phase)
            after = {k: tree_cpu_seconds(pids[k]) or 0.0 for k in KINDS}
            ops = max(1, result.ops)
            per_kind = {k: round(1000 * (after[k] - before[k]) / ops, 2) for k in KINDS}
            per_kind["total"] = round(sum(per_kind[k] for k in KINDS), 2)
            per_kind["ops"] = result.ops
            per_kind["errors"] = result.errors
            report["cpu_ms_per_op"][phase] = per_kind
            print("%-7s %5d ops  CPU ms/op: %s" % (phase, result.ops, "  ".join(
                "%s %.2f" % (k, per_kind[k]) for k in KINDS + ("total",))))
            for kind, (proc, out) in spies.items():
                stop_spy(proc)
                report["profiles"]["%s/%s" % (phase, kind)] = summarise_stacks(
                    out, args.top)


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--containers", type=int, default=4,
                        help="containers the clients share (1: every upload into one)")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples/s")
    parser.add_argument("--no-spy", action="store_true")
    parser.add_argument("--json")
    parser.add_argument("--data-dir")
    args = parser.parse_args(argv)
    spy = None if args.no_spy else py_spy_binary()
    if spy is None and not args.no_spy:
        print("py-spy not found: CPU per process kind only", file=sys.stderr)
    report: dict = {"cpu_ms_per_op": {}, "profiles": {}}
    with quiet_aio(args.data_dir, "profile-servers-") as cluster:
        profile_phases(cluster, args, spy, report)
    for key, summary in report["profiles"].items():
        if not summary.get("samples"):
            continue
        print("\n== %s: %d samples (%d idle); own%% | inclusive%%" % (
            key, summary["samples"], summary["idle_samples"]))
        for (own_f, own_p), (inc_f, inc_p) in zip(summary["own_pct"],
                                                  summary["inclusive_pct"]):
            print("  %5.1f %-52s %5.1f %s" % (own_p, own_f[:52], inc_p, inc_f))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
