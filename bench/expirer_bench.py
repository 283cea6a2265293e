"""Time one object-expirer pass over many due objects on a fresh all-in-one cluster.

Queues N objects (default 10,000) through the proxy, each with
``X-Delete-At`` a few seconds after its own PUT, waits until they are due, lets the
updaters run once (the account learns of the queue's bucket), then times
one pass of every node's expirer (each takes its share of the queue), as
``objstore-aio run-daemons --once object-expirer`` runs it, and checks that
the container listing is empty afterwards.

On a loaded machine wall clock says little, so the figure printed also gives
the CPU seconds each process burned during the pass: the pass itself (the
expirers of every node run side by side in one process), and each object,
container, account and proxy server, with the load average around it.

Queueing 10,000 objects takes minutes; ``--prepared DIR`` keeps a copy of
the stopped cluster with its queue in DIR the first time, and later runs
start from a fresh copy of it (its objects are long due by then), so only
the pass is repeated.

    python bench/expirer_bench.py [--objects 10000] [--data-dir /tmp/expirer-bench]
        [--prepared /tmp/expirer-bench-10000]   # reuse a queued cluster
        [--profile /tmp/expirer.prof]   # cProfile of the expirer pass process
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

from swiftclient.client import Connection

from objstore.aio import supervisor
from objstore.aio.cluster import USERS, Cluster
from objstore.aio.layout import DAEMONS_LAST
from objstore.aio.state import read_state

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proc_cpu import load_average, tree_cpu_seconds  # noqa: E402  (bench sibling)

SERVER_KINDS = ("object", "container", "account", "proxy")


def _queue(cluster: Cluster, container: str, count: int, threads: int) -> int:
    """PUT ``count`` objects due 5 s after each PUT; return the last expiry."""
    last = [0]

    def put_range(start: int) -> None:
        conn = Connection(cluster.auth_url, "test:tester", USERS["test:tester"], retries=2)
        for i in range(start, min(count, start + 500)):
            delete_at = int(time.time()) + 5
            conn.put_object(container, "obj-%06d" % i, b"x",
                            headers={"X-Delete-At": str(delete_at)})
            last[0] = max(last[0], delete_at)

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        list(pool.map(put_range, range(0, count, 500)))
    return last[0]


def _server_pids(cluster: Cluster) -> dict[str, tuple[str, int]]:
    """``{process name: (kind, pid)}`` of every running server."""
    pids = read_state(cluster.layout.state_path)["pids"]
    return {spec.name: (spec.kind, pids[spec.name]) for spec in cluster.specs()
            if not spec.is_daemon and spec.kind in SERVER_KINDS and pids.get(spec.name)}


def _server_cpu(servers: dict[str, tuple[str, int]]) -> dict[str, float]:
    return {name: tree_cpu_seconds([pid]) or 0.0 for name, (_kind, pid) in servers.items()}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _profiled_pass(expirers: list, log_file: str, profile: str) -> int:
    """The same pass as ``supervisor.run_once``, run under cProfile."""
    command = [sys.executable, "-m", "cProfile", "-o", profile, "-m",
               "objstore.aio.daemon_pass"]
    for spec in expirers:
        command += [spec.name, spec.kind, spec.conf]
    with open(log_file, "ab") as log:
        return subprocess.call(command, stdin=subprocess.DEVNULL, stdout=log,
                               stderr=subprocess.STDOUT)


PREPARED_MARK = "expirer-bench.json"


def _prepared(prepared: str) -> tuple[int, str]:
    """(objects queued, data dir it was made in) of the copy in ``prepared``; (0, "") if none."""
    try:
        with open(os.path.join(prepared, PREPARED_MARK)) as handle:
            mark = json.load(handle)
        return int(mark["objects"]), str(mark["data_dir"])
    except (OSError, ValueError, KeyError):
        return 0, ""


def _prepare(cluster: Cluster, objects: int, threads: int) -> None:
    """Queue ``objects`` due objects; let the updaters tell the account of the queue."""
    conn = Connection(cluster.auth_url, "test:tester", USERS["test:tester"])
    conn.put_container("bench")
    began = time.monotonic()
    delete_at = _queue(cluster, "bench", objects, threads)
    print("queued %d objects in %.1fs" % (objects, time.monotonic() - began))
    others = [s for s in cluster.specs() if s.is_daemon and s.kind not in DAEMONS_LAST]
    assert supervisor.run_once(others, cluster.layout.log_file("bench-daemons")) == 0
    while time.time() <= delete_at:
        time.sleep(0.5)


def _save_prepared(cluster: Cluster, prepared: str, objects: int) -> None:
    """Keep a copy of the stopped cluster (without logs) for later runs."""
    cluster.stop()
    shutil.rmtree(prepared, ignore_errors=True)
    shutil.copytree(cluster.data_dir, prepared, symlinks=True,
                    ignore=shutil.ignore_patterns("logs"))
    with open(os.path.join(prepared, PREPARED_MARK), "w") as handle:
        json.dump({"objects": objects, "data_dir": os.path.abspath(cluster.data_dir)}, handle)
    print("kept the queued cluster in %s for --prepared runs" % prepared)
    cluster.start()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=10000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--prepared", default=None,
                        help="keep (first run) or reuse (later runs) a queued cluster here")
    parser.add_argument("--profile", default=None,
                        help="write a cProfile of the expirer pass process here")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # progress shows in a log file as it comes
    data_dir = args.data_dir or tempfile.mkdtemp(prefix="expirer-bench-")
    objects, made_in = _prepared(args.prepared) if args.prepared else (0, "")
    reuse = objects == args.objects
    if reuse and os.path.abspath(data_dir) != made_in:
        # the copy's configs name the devices and rings by their absolute paths
        print("%s was prepared in --data-dir %s; use that one" % (args.prepared, made_in))
        return 2
    previous = None
    if reuse:
        if os.path.exists(data_dir):
            # Removed after the pass, not before: on ext4 without a journal, every
            # inode freed in the last minutes makes allocating one (each tombstone)
            # dearer, so deleting the last run's 100,000 files first slows the pass.
            previous = "%s.old-%d" % (data_dir, os.getpid())
            os.rename(data_dir, previous)
        shutil.copytree(args.prepared, data_dir, symlinks=True)
        print("starting from the queued cluster kept in %s" % args.prepared)
    cluster = Cluster(data_dir, port=0, background_daemons=False, say=lambda _m: None)
    cluster.start()
    try:
        if not reuse:
            _prepare(cluster, args.objects, args.threads)
            if args.prepared:
                _save_prepared(cluster, args.prepared, args.objects)
        conn = Connection(cluster.auth_url, "test:tester", USERS["test:tester"])
        expirers = [s for s in cluster.specs() if s.is_daemon and s.kind in DAEMONS_LAST]
        servers = _server_pids(cluster)
        log_file = cluster.layout.log_file("bench-expirer")
        cpu_before, pass_cpu_before = _server_cpu(servers), _children_cpu()
        load_before = load_average()
        began = time.monotonic()
        if args.profile:
            status = _profiled_pass(expirers, log_file, args.profile)
        else:
            status = supervisor.run_once(expirers, log_file, timeout=1800)
        took = time.monotonic() - began
        pass_cpu = _children_cpu() - pass_cpu_before
        cpu_after = _server_cpu(servers)
        load_after = load_average()
        server_cpu = {name: cpu_after[name] - cpu_before[name] for name in servers}
        left = len(conn.get_container("bench", full_listing=True)[1])
        print("one expirer pass (%d nodes): %.1fs wall for %d due objects (%.0f objects/s), "
              "exit %d, %d left in the listing" % (len(expirers), took, args.objects,
                                                   args.objects / took, status, left))
        print("CPU seconds during the pass, per process:")
        print("  %-24s %6.1f" % ("expirer pass", pass_cpu))
        for name in sorted(servers, key=lambda n: (SERVER_KINDS.index(servers[n][0]), n)):
            print("  %-24s %6.1f" % (name, server_cpu[name]))
        by_kind = {kind: sum(cpu for name, cpu in server_cpu.items()
                             if servers[name][0] == kind) for kind in SERVER_KINDS}
        print("  total %.1f: expirers %.1f, %s" % (
            pass_cpu + sum(server_cpu.values()), pass_cpu,
            ", ".join("%s servers %.1f" % (kind, by_kind[kind]) for kind in SERVER_KINDS)))
        print("load average %s before, %s after" % (load_before, load_after))
        return 0 if status == 0 and left == 0 else 1
    finally:
        cluster.stop()
        if args.data_dir is None:
            shutil.rmtree(data_dir, ignore_errors=True)
        if previous:
            shutil.rmtree(previous, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
