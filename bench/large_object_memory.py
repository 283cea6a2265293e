"""The proxy's memory while a large object passes through it as an SLO, both ways.

Backup tools send big files as static large objects: ``swift upload
--segment-size 100M`` (and rclone) PUT the segments several at a time, then
the manifest.  A proxy that held bodies instead of streaming them would grow
by the segment size times the concurrency.  This script uploads SIZE bytes
(default 2 GiB, 100 MiB segments) from a file with the real ``swift`` CLI,
downloads them with ``swift download -o -`` while hashing the stream,
checks the copy is byte-identical (md5 of both), and reads the proxy's
resident memory from ``/proc`` all along: ``VmRSS`` sampled every 0.1 s and
``VmHWM`` (the kernel's peak) at the end.

    python bench/large_object_memory.py                      # fresh aio cluster in a temp dir
    python bench/large_object_memory.py --attach aio-data    # a running cluster
    python bench/large_object_memory.py --size-mb 300 --segment-mb 20

It prints one JSON line (figures in MB, seconds) and exits 1 when the
proxy's peak exceeds ``--limit-mb`` (default 200) or the copy differs.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from typing import Optional

from objstore.aio.cluster import USERS, Cluster

MB = 1024 * 1024
USER = "test:tester"


def proc_status_mb(pid: int, field: str) -> float:
    """``VmRSS``/``VmHWM`` of ``pid`` in MB (0 when the process is gone)."""
    try:
        with open("/proc/%d/status" % pid) as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


class RssSampler(threading.Thread):
    """Keeps the highest ``VmRSS`` seen for one process until stopped."""

    def __init__(self, pid: int, interval: float = 0.1):
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak_mb = 0.0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.peak_mb = max(self.peak_mb, proc_status_mb(self.pid, "VmRSS"))
            self._stop_event.wait(self.interval)

    def stop(self) -> float:
        self._stop_event.set()
        self.join()
        return self.peak_mb


def write_random_file(path: str, size: int) -> str:
    """``size`` random bytes at ``path``; returns their md5."""
    digest = hashlib.md5()
    with open(path, "wb") as out:
        left = size
        while left:
            chunk = os.urandom(min(8 * MB, left))
            digest.update(chunk)
            out.write(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def swift_cli() -> str:
    beside_python = os.path.join(os.path.dirname(sys.executable), "swift")
    found = beside_python if os.path.exists(beside_python) else shutil.which("swift")
    if not found:
        raise SystemExit("python-swiftclient's swift command is not installed")
    return found


def proxy_pid(cluster: Cluster) -> int:
    pids = [row["pid"] for row in cluster.status() if row["kind"] == "proxy" and row["up"]]
    if len(pids) != 1:
        raise SystemExit("expected one running proxy process, found %r" % pids)
    return pids[0]


def round_trip(cluster: Cluster, size: int, segment_size: int, work_dir: str) -> dict:
    """Upload, download and compare one large object; the figures as a dict."""
    env = dict(os.environ, ST_AUTH=cluster.auth_url, ST_USER=USER, ST_KEY=USERS[USER])
    for key in [k for k in env if k.startswith("OS_")]:
        del env[key]
    cli = swift_cli()
    container = "lo-memory-%d" % os.getpid()
    source = os.path.join(work_dir, "big")
    started = time.monotonic()
    expected = write_random_file(source, size)
    pid = proxy_pid(cluster)
    sampler = RssSampler(pid)
    result = {"size_mb": size / MB, "segment_mb": segment_size / MB,
              "proxy_rss_before_mb": round(proc_status_mb(pid, "VmRSS"), 1)}
    sampler.start()
    try:
        began = time.monotonic()
        subprocess.run([cli, "upload", container, "--object-name", "big", "--use-slo",
                        "--segment-size", str(segment_size), source], env=env, check=True,
                       stdout=subprocess.DEVNULL, timeout=3600)
        result["upload_s"] = round(time.monotonic() - began, 1)
        result["proxy_rss_peak_upload_mb"] = round(sampler.peak_mb, 1)
        began = time.monotonic()
        digest = hashlib.md5()
        received = 0
        with subprocess.Popen([cli, "download", container, "big", "-o", "-"], env=env,
                              stdout=subprocess.PIPE) as download:
            assert download.stdout is not None
            for chunk in iter(lambda: download.stdout.read(MB), b""):
                digest.update(chunk)
                received += len(chunk)
        if download.returncode != 0:
            raise SystemExit("swift download failed (%d)" % download.returncode)
        result["download_s"] = round(time.monotonic() - began, 1)
    finally:
        result["proxy_rss_peak_sampled_mb"] = round(sampler.stop(), 1)
        result["proxy_vmhwm_mb"] = round(proc_status_mb(pid, "VmHWM"), 1)
        os.unlink(source)
        subprocess.run([cli, "delete", container], env=env, stdout=subprocess.DEVNULL,
                       timeout=600)
    result["identical"] = received == size and digest.hexdigest() == expected
    result["total_s"] = round(time.monotonic() - started, 1)
    return result


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=2048)
    parser.add_argument("--segment-mb", type=int, default=100)
    parser.add_argument("--limit-mb", type=float, default=200.0)
    parser.add_argument("--attach", metavar="DATA_DIR",
                        help="use the running cluster of this data dir instead of a fresh one")
    parser.add_argument("--work-dir", help="where the source file goes (default: a temp dir)")
    args = parser.parse_args(argv)
    work_dir = tempfile.mkdtemp(prefix="lo-memory-", dir=args.work_dir)
    own_cluster = None
    try:
        if args.attach:
            cluster = Cluster.attach(args.attach)
        else:
            own_cluster = cluster = Cluster(os.path.join(work_dir, "aio"), port=0,
                                            say=lambda _message: None)
            cluster.start()
        result = round_trip(cluster, args.size_mb * MB, args.segment_mb * MB, work_dir)
    finally:
        if own_cluster is not None:
            own_cluster.stop()
        shutil.rmtree(work_dir, ignore_errors=True)
    peak = max(result["proxy_rss_peak_sampled_mb"], result["proxy_vmhwm_mb"])
    result["limit_mb"] = args.limit_mb
    result["ok"] = result["identical"] and peak <= args.limit_mb
    print(json.dumps(result, sort_keys=True))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
