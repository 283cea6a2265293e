"""Time one object-expirer pass over many due objects on a fresh all-in-one cluster.

Queues N objects (default 10,000) through the proxy, each with
``X-Delete-At`` a few seconds after its own PUT, waits until they are due, lets the
updaters run once (the account learns of the queue's bucket), then times
one pass of every node's expirer (each takes its share of the queue), as
``objstore-aio run-daemons --once object-expirer`` runs it, and checks that
the container listing is empty afterwards.

On a loaded machine wall clock says little, so the figure printed also gives
the CPU seconds each group of processes burned during the pass: the pass
itself (the expirers), and the object, container and account servers.

    python bench/expirer_bench.py [--objects 10000] [--data-dir /tmp/expirer-bench]
        [--profile /tmp/expirer.prof]   # cProfile of the expirer pass process
"""
from __future__ import annotations

import argparse
import concurrent.futures
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


def _server_pids(cluster: Cluster) -> dict[str, list[int]]:
    pids = read_state(cluster.layout.state_path)["pids"]
    by_kind: dict[str, list[int]] = {kind: [] for kind in SERVER_KINDS}
    for spec in cluster.specs():
        if not spec.is_daemon and spec.kind in by_kind and pids.get(spec.name):
            by_kind[spec.kind].append(pids[spec.name])
    return by_kind


def _server_cpu(by_kind: dict[str, list[int]]) -> dict[str, float]:
    return {kind: tree_cpu_seconds(pids) or 0.0 for kind, pids in by_kind.items()}


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=10000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--profile", default=None,
                        help="write a cProfile of the expirer pass process here")
    args = parser.parse_args()
    data_dir = args.data_dir or tempfile.mkdtemp(prefix="expirer-bench-")
    cluster = Cluster(data_dir, port=0, background_daemons=False, say=lambda _m: None)
    cluster.start()
    try:
        conn = Connection(cluster.auth_url, "test:tester", USERS["test:tester"])
        conn.put_container("bench")
        began = time.monotonic()
        delete_at = _queue(cluster, "bench", args.objects, args.threads)
        print("queued %d objects in %.1fs" % (args.objects, time.monotonic() - began))
        daemons = [spec for spec in cluster.specs() if spec.is_daemon]
        others = [s for s in daemons if s.kind not in DAEMONS_LAST]
        expirers = [s for s in daemons if s.kind in DAEMONS_LAST]
        assert supervisor.run_once(others, cluster.layout.log_file("bench-daemons")) == 0
        while time.time() <= delete_at:
            time.sleep(0.5)
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
        server_cpu = {kind: cpu_after[kind] - cpu_before[kind] for kind in SERVER_KINDS}
        left = len(conn.get_container("bench", full_listing=True)[1])
        print("one expirer pass (%d nodes): %.1fs wall for %d due objects (%.0f objects/s), "
              "exit %d, %d left in the listing" % (len(expirers), took, args.objects,
                                                   args.objects / took, status, left))
        print("CPU seconds during the pass: expirer pass %.1f, %s; total %.1f "
              "(load average %s before, %s after)" % (
                  pass_cpu, ", ".join("%s servers %.1f" % (kind, server_cpu[kind])
                                      for kind in SERVER_KINDS),
                  pass_cpu + sum(server_cpu.values()), load_before, load_average()))
        return 0 if status == 0 and left == 0 else 1
    finally:
        cluster.stop()
        if args.data_dir is None:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
