"""Container listings of a 1,000,000-object container, timed through the proxy.

The issue's targets: a 10,000-entry JSON page in under 50 ms and a
``delimiter=/`` page in under 20 ms, both as a client sees them (auth,
proxy pipeline, container info, the container server's query and
rendering, and the bytes on the wire).

Starts a fresh all-in-one cluster (no background daemons, so no replicator
touches the database mid-run), creates the container through the proxy,
then fills its first replica with the bulk insert of
``container_listing_bench`` (real schema and triggers, so the counts are
exact) and copies that file over the other replicas, before any listing.
Names are ``pNNN/oNNNNNNN``: 1,000 "directories" of 1,000 objects.

A ``--data-dir`` is kept; a later run with the same one reuses its filled
container instead of loading 1,000,000 rows again.

``--profile N`` then runs N more JSON page GETs under ``py-spy`` (from
outside the processes) and prints, for the proxy and for the container
server that answered, the CPU ms per GET and the top functions by own time.

Usage: ``python bench/listing_through_proxy.py [--objects N] [--repeat 7] [--data-dir DIR]
[--profile 30]``
"""
from __future__ import annotations

import argparse
import http.client
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional
from urllib.parse import quote

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.append(str(BENCH_DIR.parent))

import container_listing_bench as filler  # noqa: E402
import profile_servers as spying  # noqa: E402
from proc_cpu import tree_cpu_seconds  # noqa: E402
from quiet_aio import pids_by_kind, quiet_aio  # noqa: E402
from swift_http import authenticate  # noqa: E402

CONTAINER = "big"
TARGETS_MS = {"json page": 50.0, "delimiter page": 20.0}


def fill_replicas(cluster, account: str, objects: int) -> float:
    """Bulk-load the container's replicas; returns the seconds it took."""
    from objstore.common.cluster_config import ClusterConfig
    from objstore.container.backend import ContainerBroker
    from objstore.ring.ring import load_ring
    prefix, suffix = cluster.hash_path_salt()
    hasher = ClusterConfig.build(prefix, suffix).hasher
    ring = load_ring(cluster.layout.etc_dir, "container", hasher)
    part, nodes = ring.get_nodes(account, CONTAINER)
    paths = []
    for node in nodes:
        device_dir = cluster.layout.device_path(int(node["device"][1:]))
        broker = ContainerBroker.for_container(hasher, device_dir, part, account, CONTAINER)
        if not os.path.exists(broker.db_file):
            raise SystemExit("replica %s missing: was the container created?" % broker.db_file)
        paths.append((broker, device_dir))
    began = time.perf_counter()
    first, _ = paths[0]
    per_dir = max(1, objects // 1000)
    for start in range(0, objects, 100_000):
        rows = [(filler.object_name(i, per_dir), "1700000000.%05d" % (i % 100000), i % 4096,
                 "application/octet-stream", "d41d8cd98f00b204e9800998ecf8427e")
                for i in range(start, min(objects, start + 100_000))]
        filler.bulk_insert(first, rows)
    info = first.get_info()
    assert info["object_count"] == objects, info
    first.close()
    for broker, _device in paths[1:]:
        broker.close()
        shutil.copyfile(first.db_file, broker.db_file)
    return time.perf_counter() - began


def timed_get(conn: http.client.HTTPConnection, path: str, token: str,
              repeat: int, pids: dict) -> tuple[float, float, int, int, dict]:
    """(median ms, best ms, status, body bytes, server CPU ms per GET by
    process kind) of ``GET path``; one untimed warm-up first.

    The CPU figures (from /proc) hold on a busy machine, where wall time
    mostly measures the queue for a core."""
    samples = []
    status = size = 0
    cpu_before: dict = {}
    for attempt in range(repeat + 1):
        if attempt == 1:
            cpu_before = {k: tree_cpu_seconds(v) or 0.0 for k, v in pids.items()}
        began = time.perf_counter()
        conn.request("GET", path, headers={"X-Auth-Token": token})
        resp = conn.getresponse()
        body = resp.read()
        elapsed = (time.perf_counter() - began) * 1000
        status, size = resp.status, len(body)
        if attempt:
            samples.append(elapsed)
    cpu = {k: 1000 * ((tree_cpu_seconds(v) or 0.0) - cpu_before[k]) / repeat
           for k, v in pids.items()}
    return statistics.median(samples), min(samples), status, size, cpu


def profile_page(conn: http.client.HTTPConnection, path: str, token: str, pids: dict,
                 gets: int, top: int = 15) -> None:
    """Where the CPU of ``gets`` GETs of ``path`` goes, per busy server process.

    Every container server is sampled: the proxy picks a replica at random,
    and the ones that answered no GET are left out of the report."""
    binary = spying.py_spy_binary()
    if binary is None:
        print("py-spy not found: no profile", file=sys.stderr)
        return
    out_dir = Path(tempfile.mkdtemp(prefix="listing-spy-"))
    spies = []
    for kind in ("proxy", "container"):
        for pid in pids[kind]:
            out = out_dir / ("%s-%d.txt" % (kind, pid))
            spies.append((kind, pid, out, spying.start_spy(binary, pid, out, 500)))
    time.sleep(1.0)     # py-spy attaches before the first GET
    before = {pid: tree_cpu_seconds([pid]) or 0.0 for _k, pid, _o, _p in spies}
    for _ in range(gets):
        conn.request("GET", path, headers={"X-Auth-Token": token})
        conn.getresponse().read()
    cpu = {pid: 1000 * ((tree_cpu_seconds([pid]) or 0.0) - before[pid]) / gets
           for _k, pid, _o, _p in spies}
    for _kind, _pid, _out, proc in spies:
        spying.stop_spy(proc)
    print("load average: %.2f %.2f %.2f" % os.getloadavg())
    for kind, pid, out, _proc in spies:
        if kind == "container" and cpu[pid] < 0.2 * max(cpu.values()):
            continue    # a replica the proxy did not pick
        summary = spying.summarise_stacks(out, top)
        print("%s %d: %.1f CPU ms per GET, %d busy samples; own time:" % (
            kind, pid, cpu[pid], summary["samples"] - summary.get("idle_samples", 0)))
        for frame, share in summary.get("own_pct", []):
            print("  %5.1f%%  %s" % (share, frame))
    shutil.rmtree(out_dir, ignore_errors=True)


def list_pages(cluster, objects: int, repeat: int, profile_gets: int = 0) -> bool:
    """Fill the container, time every case; False when a listing failed."""
    failed = False
    session = authenticate(cluster.auth_url, "test:tester", "testing")
    conn = http.client.HTTPConnection(session.host, session.port, timeout=120)
    base = session.base_path + "/" + CONTAINER
    conn.request("HEAD", base, headers={"X-Auth-Token": session.token})
    head = conn.getresponse()
    head.read()
    count = head.getheader("X-Container-Object-Count") if head.status == 204 else None
    if count == str(objects):
        # a --data-dir kept from an earlier run: its replicas are filled already
        print("reusing the %d rows already in %s" % (objects, CONTAINER))
    elif count not in (None, "0"):
        # the bulk insert needs new names; half a load cannot be topped up
        raise SystemExit("%s holds %s objects, not %d: use another --data-dir"
                         % (CONTAINER, count, objects))
    else:
        conn.request("PUT", base, headers={"X-Auth-Token": session.token})
        conn.getresponse().read()
        account = session.base_path.rstrip("/").rsplit("/", 1)[-1]
        seconds = fill_replicas(cluster, account, objects)
        print("filled 3 replicas with %d rows in %.1f s" % (objects, seconds))
    middle = filler.object_name(objects // 2, max(1, objects // 1000))
    cases = [
        ("json page", "?format=json&limit=10000"),
        ("plain page", "?limit=10000"),
        ("json page from the middle", "?format=json&limit=10000&marker=" + quote(middle)),
        ("delimiter page", "?format=json&delimiter=/&limit=10000"),
        ("prefix+delimiter page", "?format=json&prefix=p500/&delimiter=/&limit=10000"),
    ]
    print("load average: %.2f %.2f %.2f" % os.getloadavg())
    pids = pids_by_kind(cluster, ("proxy", "container"))
    print("%-28s %10s %8s %7s %10s %14s %8s" % (
        "case", "median ms", "best ms", "status", "bytes", "CPU ms px/ct", "target"))
    for label, query in cases:
        median, best, status, size, cpu = timed_get(conn, base + query, session.token,
                                                    repeat, pids)
        target = TARGETS_MS.get(label)
        verdict = "" if target is None else ("< %g ok" % target if median < target
                                             else "> %g MISSED" % target)
        failed |= status != 200
        print("%-28s %10.1f %8.1f %7d %10d %6.1f/%-7.1f %8s" % (
            label, median, best, status, size, cpu["proxy"], cpu["container"], verdict))
    if profile_gets:
        profile_page(conn, base + cases[0][1], session.token, pids, profile_gets)
    conn.close()
    return not failed


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--data-dir", help="kept afterwards; a later run reuses its container")
    parser.add_argument("--profile", type=int, default=0, metavar="GETS",
                        help="then py-spy the proxy and container server over GETS JSON pages")
    args = parser.parse_args(argv)
    with quiet_aio(args.data_dir, "listing-proxy-") as cluster:
        ok = list_pages(cluster, args.objects, args.repeat, args.profile)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
