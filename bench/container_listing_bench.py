"""How long a 10,000-entry listing page takes from a 1,000,000-object container.

Builds one container database with a bulk insert (through the real schema,
triggers included), then times GETs through the container server's WSGI app,
so the numbers include parameter parsing, the indexed queries and rendering:

- the first page, plain text and JSON
- a page in the middle (``marker``)
- a prefix page (``prefix`` matching 100,000 names)
- a delimiter page (``delimiter=/``: 1,000 rolled-up prefixes, one query each)
- a reverse page from the middle

Usage: ``python bench/container_listing_bench.py [--objects N] [--keep DIR]``
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from webob import Request  # noqa: E402

from objstore.common.cluster_config import ClusterConfig  # noqa: E402
from objstore.container.backend import ContainerBroker  # noqa: E402
from objstore.container.server import app_factory  # noqa: E402

ACCOUNT, CONTAINER = "AUTH_bench", "big"
PATH = "/sda/0/%s/%s" % (ACCOUNT, CONTAINER)
CLUSTER = ClusterConfig.build("bench-prefix", "bench-suffix")


def object_name(index: int, per_dir: int) -> str:
    return "p%03d/o%07d" % (index // per_dir, index)


def bulk_insert(broker: ContainerBroker, rows: list[tuple]) -> None:
    """Load ``(name, created_at, size, content_type, etag)`` rows fast.

    Bypasses the merge logic (the names must be new) but not the triggers,
    so the stats stay exact.  Only this benchmark needs it, so it lives here,
    not in the broker.
    """
    with broker.transaction() as conn:
        conn.executemany("INSERT INTO object (name, created_at, size, content_type, etag, "
                         "deleted, storage_policy_index) VALUES (?, ?, ?, ?, ?, 0, 0)", rows)


def build(devices: str, objects: int) -> float:
    device = os.path.join(devices, "sda")
    os.makedirs(device, exist_ok=True)
    broker = ContainerBroker.for_container(CLUSTER.hasher, device, 0, ACCOUNT, CONTAINER)
    broker.initialize(1000, account=ACCOUNT, container=CONTAINER)
    per_dir = max(1, objects // 1000)
    began = time.perf_counter()
    batch = 100_000
    for start in range(0, objects, batch):
        rows = [(object_name(i, per_dir), "1700000000.%05d" % (i % 100000), i % 4096,
                 "application/octet-stream", "d41d8cd98f00b204e9800998ecf8427e")
                for i in range(start, min(objects, start + batch))]
        bulk_insert(broker, rows)
    elapsed = time.perf_counter() - began
    info = broker.get_info()
    assert info["object_count"] == objects, info
    broker.close()
    return elapsed


def time_get(app, query: str, repeat: int) -> tuple[float, float, float, int, int]:
    """Median and best milliseconds, median CPU milliseconds, status and entry
    count of ``GET ?query``.

    One untimed GET first warms the page cache, so the numbers are for a
    container in regular use, not the first read after a reboot.  The CPU
    figure (this process's, from ``time.process_time``) holds on a busy
    machine, where wall time mostly measures the wait for a core.
    """
    Request.blank(PATH + "?" + query).get_response(app)
    samples = []
    cpu_samples = []
    status = count = 0
    for _ in range(repeat):
        req = Request.blank(PATH + "?" + query)
        began = time.perf_counter()
        cpu_began = time.process_time()
        resp = req.get_response(app)
        cpu_samples.append((time.process_time() - cpu_began) * 1000)
        samples.append((time.perf_counter() - began) * 1000)
        status = resp.status_int
        body = resp.body
        count = body.count(b"\n") if "format=json" not in query else body.count(b'"name"') + \
            body.count(b'"subdir"')
    return statistics.median(samples), min(samples), statistics.median(cpu_samples), status, count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", help="reuse/keep the devices directory here")
    args = parser.parse_args()
    devices = args.keep or tempfile.mkdtemp(prefix="container-bench-")
    try:
        db_exists = os.path.exists(ContainerBroker.for_container(
            CLUSTER.hasher, os.path.join(devices, "sda"), 0, ACCOUNT, CONTAINER).db_file)
        if not db_exists:
            seconds = build(devices, args.objects)
            print("built %d rows in %.1f s (%.0f rows/s)" % (
                args.objects, seconds, args.objects / seconds))
        app = app_factory(CLUSTER, {"devices": devices}, mount_check="false",
                          log_level="WARNING")
        per_dir = max(1, args.objects // 1000)
        middle = object_name(args.objects // 2, per_dir)
        cases = [
            ("first page (plain)", "limit=10000"),
            ("first page (json)", "limit=10000&format=json"),
            ("middle page via marker", "limit=10000&marker=" + middle),
            ("prefix page (prefix=p1)", "limit=10000&prefix=p1"),
            ("delimiter page (delimiter=/)", "limit=10000&delimiter=/"),
            ("prefix+delimiter (prefix=p1, /)", "limit=10000&prefix=p1&delimiter=/"),
            ("reverse page via marker", "limit=10000&reverse=on&marker=" + middle),
            ("HEAD-equivalent (limit=0)", "limit=0&format=json"),
        ]
        print("load average: %.2f %.2f %.2f" % os.getloadavg())
        print("%-34s %10s %8s %7s %7s %8s" % ("case", "median ms", "best ms", "CPU ms", "status",
                                              "entries"))
        for label, query in cases:
            median, best, cpu, status, count = time_get(app, query, args.repeat)
            print("%-34s %10.1f %8.1f %7.1f %7d %8d" % (label, median, best, cpu, status, count))
    finally:
        if not args.keep:
            shutil.rmtree(devices, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
