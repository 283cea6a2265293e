"""Time one object-expirer pass over many due objects on a fresh all-in-one cluster.

Queues N objects (default 10,000) through the proxy, each with
``X-Delete-At`` a few seconds after its own PUT, waits until they are due, lets the
updaters run once (the account learns of the queue's bucket), then times
one pass of every node's expirer (each takes its share of the queue) and
checks that the container listing is empty afterwards.

    python bench/expirer_bench.py [--objects 10000] [--data-dir /tmp/expirer-bench]
"""
from __future__ import annotations

import argparse
import concurrent.futures
import shutil
import tempfile
import time

from swiftclient.client import Connection

from objstore.aio import supervisor
from objstore.aio.cluster import USERS, Cluster
from objstore.aio.layout import DAEMONS_LAST


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=10000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--data-dir", default=None)
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
        began = time.monotonic()
        status = supervisor.run_once(expirers, cluster.layout.log_file("bench-expirer"))
        took = time.monotonic() - began
        left = len(conn.get_container("bench", full_listing=True)[1])
        print("one expirer pass (4 nodes): %.1fs for %d due objects (%.0f objects/s), "
              "exit %d, %d left in the listing" % (took, args.objects, args.objects / took,
                                                   status, left))
        return 0 if status == 0 and left == 0 else 1
    finally:
        cluster.stop()
        if args.data_dir is None:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
