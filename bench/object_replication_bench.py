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

Each figure comes with the CPU seconds the replicator and the remote object
server spent (wall time alone means little on a loaded machine);
``--profile`` prints where the replicator's CPU went in the idle pass.

    python bench/object_replication_bench.py [--objects N] [--rebuild-objects M] [--profile]
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proc_cpu import tree_cpu_seconds  # noqa: E402  (a sibling script, not a package)

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
    """Write ``count`` objects through the DiskFile, without fsyncs.

    The fixture's durability does not matter and 100,000 fsyncs would take
    the better part of half an hour; the measured passes fsync as always.
    """
    real_fsync = os.fsync
    os.fsync = lambda fd: None
    try:
        _fill(root, count)
    finally:
        os.fsync = real_fsync


def _fill(root: str, count: int) -> None:
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


def timed_pass(local_root: str, remote_port: int, remote_pid: int, concurrency: int,
               profile: bool = False) -> tuple[float, object, str]:
    managers = DiskFileRouter(CLUSTER.policies, lambda policy: FsDiskFileManager(
        local_root, CLUSTER.hasher, policy=policy))
    ring = OneRing([{"ip": "127.0.0.1", "port": 1, "device": "sda"},
                    {"ip": "127.0.0.1", "port": remote_port, "device": "sda"}])
    replicator = ObjectReplicator(CLUSTER, {"devices": local_root, "bind_ip": "127.0.0.1",
                                            "bind_port": "1", "log_level": "WARNING",
                                            "concurrency": str(concurrency)},
                                  managers=managers, rings={0: ring})
    remote_cpu = tree_cpu_seconds([remote_pid]) or 0.0
    cpu = time.process_time()
    began = time.monotonic()
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    stats = replicator.run_once()
    if profiler:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    wall = time.monotonic() - began
    used = "CPU: replicator %.2fs, remote object server %.2fs" % (
        time.process_time() - cpu, (tree_cpu_seconds([remote_pid]) or 0.0) - remote_cpu)
    return wall, stats, used


def run(objects: int, work: str, concurrency: int, profile: bool = False,
        rebuild: bool = True) -> dict:
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
        # the first pass builds both sides' hash caches
        first, stats, cpu = timed_pass(local, port, proc.pid, concurrency)
        print("first pass (caches built): %.2fs %s; %s" % (first, stats, cpu), flush=True)
        idle, stats, cpu = timed_pass(local, port, proc.pid, concurrency, profile)
        print("pass with nothing to do: %.2fs %s; %s" % (idle, stats, cpu), flush=True)
        if not rebuild:
            return {"objects": objects, "idle_pass": idle}
        shutil.rmtree(os.path.join(remote, "sda", "objects"))
        rebuilt, stats, cpu = timed_pass(local, port, proc.pid, concurrency)
        print("rebuild of the wiped device: %.2fs %s; %s" % (rebuilt, stats, cpu),
              flush=True)
        return {"objects": objects, "idle_pass": idle, "rebuild": rebuilt}
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--objects", type=int, default=100000)
    parser.add_argument("--rebuild-objects", type=int, default=10000)
    parser.add_argument("--profile", action="store_true",
                        help="print the replicator's profile of the idle pass")
    parser.add_argument("--concurrency", type=int, default=1,
                        help="the replicator's concurrency option")
    parser.add_argument("--work-dir", default=None, help="where the devices go (a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="objrepl-bench-", dir=args.work_dir) as work:
        same = args.rebuild_objects == args.objects
        run(args.objects, os.path.join(work, "idle"), args.concurrency, args.profile,
            rebuild=same)
        if not same:
            run(args.rebuild_objects, os.path.join(work, "rebuild"), args.concurrency)


if __name__ == "__main__":
    main()
