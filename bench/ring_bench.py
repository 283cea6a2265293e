"""Ring micro-benchmark: build time, ring load time and get_nodes lookups per second.

Run from the repository root::

    python bench/ring_bench.py [--part-power 18] [--lookups 300000]

Numbers are CPU time of one core of whatever machine runs it (so other load on a
shared box does not count against us); compare runs on the same box.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from objstore.common.path_hash import PathHasher  # noqa: E402
from objstore.ring.builder import RingBuilder  # noqa: E402
from objstore.ring.ring import Ring  # noqa: E402


def build(part_power: int, zones: int, per_zone: int) -> RingBuilder:
    builder = RingBuilder(part_power, 3, 0)
    for zone in range(zones):
        for i in range(per_zone):
            builder.add_dev({"region": 1, "zone": zone, "ip": "10.0.%d.%d" % (zone, i // 2),
                             "port": 6200, "device": "sdb%d" % i,
                             "weight": 100 + 50 * (i % 3)})
    return builder


def timed(fn):
    """Run fn; return (CPU seconds of this process, result).

    CPU time, not wall time: on a shared machine other processes would
    otherwise be billed to us.
    """
    started = time.process_time()
    result = fn()
    return time.process_time() - started, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part-power", type=int, default=18)
    parser.add_argument("--lookups", type=int, default=300000)
    parser.add_argument("--zones", type=int, default=4)
    parser.add_argument("--per-zone", type=int, default=8)
    opts = parser.parse_args()
    hasher = PathHasher.from_salt("bench-prefix", "bench-suffix")

    builder = build(opts.part_power, opts.zones, opts.per_zone)
    devices = opts.zones * opts.per_zone
    seconds, (moved, balance) = timed(lambda: builder.rebalance(seed=1))
    print("build 2^%d x 3 on %d devices: %.2f s CPU (%d assignments, balance %.3f%%)"
          % (opts.part_power, devices, seconds, moved, balance))
    builder.add_dev({"region": 1, "zone": 0, "ip": "10.0.0.99", "port": 6200,
                     "device": "sdbx", "weight": 100})
    seconds, (moved, balance) = timed(lambda: builder.rebalance(seed=2))
    print("rebalance after adding 1 device: %.2f s CPU (%d moved, %.2f%% of replicas, "
          "balance %.3f%%)" % (seconds, moved, 100.0 * moved / (3 << opts.part_power), balance))

    small = build(14, 4, 4)
    seconds, _ = timed(lambda: small.rebalance(seed=1))
    print("build 2^14 x 3 on 16 devices: %.2f s CPU" % seconds)

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "object.ring.gz")
        seconds, _ = timed(lambda: builder.write_ring(path))
        print("write_ring: %.3f s CPU, %d bytes on disk" % (seconds, os.path.getsize(path)))
        loads = [timed(lambda: Ring(path, hasher))[0] for _ in range(5)]
        print("load 2^%d-partition ring: median %.1f ms CPU (min %.1f ms)"
              % (opts.part_power, statistics.median(loads) * 1000, min(loads) * 1000))
        ring = Ring(path, hasher)
        names = ["object-%d" % i for i in range(opts.lookups)]
        get_nodes = ring.get_nodes
        def lookup_all() -> None:
            for name in names:
                get_nodes("AUTH_bench", "container", name)

        rates = []
        for _ in range(3):
            seconds, _ = timed(lookup_all)
            rates.append(opts.lookups / seconds)
        print("get_nodes: %.0f lookups/s per CPU second (best of 3; median %.0f)"
              % (max(rates), statistics.median(rates)))
        seconds, _ = timed(lambda: [ring.get_part("AUTH_bench", "container", n)
                                    for n in names])
        print("get_part: %.0f lookups/s" % (opts.lookups / seconds))
        seconds, _ = timed(lambda: [list(ring.get_more_nodes(p)) for p in range(2000)])
        print("get_more_nodes (all handoffs of %d devices): %.0f partitions/s"
              % (devices + 1, 2000 / seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
