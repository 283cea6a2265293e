"""The proxy's resident memory while 16 clients upload large objects at once.

The issue's target: 16 concurrent 1 GiB uploads keep the proxy under
150 MB.  The proxy holds at most ``put_queue_depth`` chunks per node per
upload (plus the client's read buffer), so its memory depends on the number
of uploads in flight, not on their size: once every upload streams, the
figure is the steady state whatever the size.  A full run writes
16 x 1 GiB x 3 replicas = 48 GiB, which a shared disk may not have; then
pass a smaller ``--size-mib`` (default 256) and say so with the figure.

Starts a fresh all-in-one cluster without background daemons, streams the
objects with ``proxy_bench``'s large-object client (a generator of views
of one random block, never the object in memory), samples the proxy's
``VmRSS`` every 0.1 s and reads ``VmHWM`` (the kernel's peak) at the end.
Exits non-zero when an upload failed or the peak crossed ``--limit-mb``.

Usage: ``python bench/concurrent_upload_memory.py [--uploads 16]
[--size-mib 256] [--limit-mb 150]``
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Optional

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.append(str(BENCH_DIR.parent))

import proxy_bench  # noqa: E402
from large_object_memory import RssSampler, proc_status_mb, proxy_pid  # noqa: E402
from proc_cpu import ServerCpuMeter  # noqa: E402
from quiet_aio import quiet_aio  # noqa: E402
from swift_http import MIB, authenticate  # noqa: E402


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=16)
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--limit-mb", type=float, default=150.0)
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--data-dir")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    with quiet_aio(args.data_dir, "upload-memory-") as cluster:
        pid = proxy_pid(cluster)
        config = proxy_bench.BenchConfig(
            cluster.auth_url, "test:tester", "testing", containers=1,
            large_size=args.size_mib * MIB, large_count=args.uploads,
            large_concurrency=args.uploads, large_timeout=args.timeout,
            phases=("large_put",))
        session = authenticate(config.auth_url, config.user, config.key)
        proxy_bench._setup_containers(config, session)
        before = proc_status_mb(pid, "VmRSS")
        sampler = RssSampler(pid)
        sampler.start()
        try:
            outcome = proxy_bench.run_large(config, session, "PUT", ServerCpuMeter(None))
        finally:
            peak = sampler.stop()
        hwm = proc_status_mb(pid, "VmHWM")
    result = {"uploads": args.uploads, "size_mib": args.size_mib,
              "proxy_rss_before_mb": round(before, 1), "proxy_rss_peak_mb": round(peak, 1),
              "proxy_vmhwm_mb": round(hwm, 1), "limit_mb": args.limit_mb,
              "objects_stored": outcome["objects"], "errors": outcome["errors"],
              "first_errors": outcome["first_errors"], "mib_per_s": outcome["mib_per_s"],
              "elapsed_s": outcome["elapsed_s"]}
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    ok = outcome["errors"] == 0 and outcome["objects"] == args.uploads and \
        max(peak, hwm) < args.limit_mb
    print("%s: proxy peak %.1f MB (VmHWM %.1f) with %d concurrent %d MiB uploads, limit %g MB"
          % ("PASS" if ok else "FAIL", peak, hwm, args.uploads, args.size_mib, args.limit_mb))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
