"""Object replication: a pass with nothing to do, and rebuilding a wiped device.

Builds N objects (default 100,000) on a local device spread over 1024
partitions, copies the device (with its xattrs) to a second node served by a
real object server process, then times:

1. one object-replicator pass where both nodes already agree (the suffix
   hashes come from the on-disk caches: two small files per partition, one
   REPLICATE per partition);
2. one pass after the remote device was wiped (every object streamed over
   SSYNC and written as a PUT would be), with ``--rebuild-objects`` (default
   10,000) objects.

    python bench/object_replication_bench.py [--objects N] [--rebuild-objects M]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time

from objstore.common.cluster_config import ClusterConfig
from objstore.common.timestamp import Timestamp
from objstore.obj.diskfile import DiskFileRouter, FsDiskFileManager
from objstore.obj.replicator import ObjectReplicator

CLUSTER = ClusterConfig.build("bench-prefix", "bench-suffix")
PART_POWER = 10
SERVER = textwrap.dedent("""
    import sys
    from objstore.common import concurrency
    concurrency.monkey_patch()
    from objstore.common.cluster_config import ClusterConfig
    from objstore.common.http_protocol import serve_http
    from objstore.obj.server import ObjectServer
    sock = concurrency.green_listen(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    serve_http(sock, ObjectServer(ClusterConfig.build("bench-prefix", "bench-suffix"),
                                  {"devices": sys.argv[1], "log_level": "CRITICAL"}))
""")


class OneRing:
    """Every partition on the same two devices: the local one and the remote one."""

    def __init__(self, nodes):
        self.nodes = nodes

    def get_part_nodes(self, part):
        return self.nodes


def fill(root: str, count: int) -> None:
    manager = FsDiskFileManager(root, CLUSTER.hasher)
    when = Timestamp.now()
    for index in range(count):
        name = "obj-%07d" % index
        name_hash = str(CLUSTER.hasher.hash_path("AUTH_bench", "c", name))
        part = str(int(name_hash[:8], 16) >> (32 - PART_POWER))
        df = manager.get_diskfile("sda", part, "AUTH_bench", "c", name)
        with df.writer() as writer:
            writer.write(b"x" * 64)
            writer.put({"X-Timestamp": when.internal, "Content-Type": "text/plain",
                        "Content-Length": "64", "ETag": writer.etag})


def timed_pass(local_root: str, remote_port: int) -> tuple[float, object]:
    managers = DiskFileRouter(CLUSTER.policies, lambda policy: FsDiskFileManager(
        local_root, CLUSTER.hasher, policy=policy))
    ring = OneRing([{"ip": "127.0.0.1", "port": 1, "device": "sda"},
                    {"ip": "127.0.0.1", "port": remote_port, "device": "sda"}])
    replicator = ObjectReplicator(CLUSTER, {"devices": local_root, "bind_ip": "127.0.0.1",
                                            "bind_port": "1", "log_level": "WARNING"},
                                  managers=managers, rings={0: ring})
    began = time.monotonic()
    stats = replicator.run_once()
    return time.monotonic() - began, stats


def run(objects: int, work: str) -> dict:
    local, remote = os.path.join(work, "local"), os.path.join(work, "remote")
    os.makedirs(os.path.join(local, "sda"))
    began = time.monotonic()
    fill(local, objects)
    print("wrote %d objects in %.1fs" % (objects, time.monotonic() - began), flush=True)
    os.makedirs(remote)
    subprocess.check_call(["cp", "-a", os.path.join(local, "sda"), remote])
    proc = subprocess.Popen([sys.executable, "-c", SERVER, remote], stdout=subprocess.PIPE,
                            env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    try:
        port = int(proc.stdout.readline())
        first, stats = timed_pass(local, port)  # both sides build their hash caches
        print("first pass (caches built): %.2fs %s" % (first, stats), flush=True)
        idle, stats = timed_pass(local, port)
        print("pass with nothing to do: %.2fs %s" % (idle, stats), flush=True)
        shutil.rmtree(os.path.join(remote, "sda", "objects"))
        rebuild, stats = timed_pass(local, port)
        print("rebuild of the wiped device: %.2fs %s" % (rebuild, stats), flush=True)
        return {"objects": objects, "idle_pass": idle, "rebuild": rebuild}
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--objects", type=int, default=100000)
    parser.add_argument("--rebuild-objects", type=int, default=10000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="objrepl-bench-") as work:
        run(args.objects, os.path.join(work, "idle"))
        if args.rebuild_objects != args.objects:
            run(args.rebuild_objects, os.path.join(work, "rebuild"))


if __name__ == "__main__":
    main()
