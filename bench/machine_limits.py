"""What this machine allows large objects at most, to judge PUT/GET MiB/s against.

- disk: sequential 1 MiB writes then one ``fsync``, in the directory the
  clusters keep their data in.  A replicated PUT writes every byte
  ``replicas`` times, so its ceiling is this divided by the replica count.
- loopback: one TCP connection on 127.0.0.1, a sender and a receiver thread
  moving 1 MiB buffers.  A GET crosses loopback at least twice (node to
  proxy, proxy to client), so this is a generous ceiling for it.
- MD5 and CRC32 on one core.  Swift's object servers each compute the MD5
  of what they store, so on a 2-core machine its 3-replica PUT cannot beat
  ``2 * md5 / 3`` MiB/s; objstore's proxy computes the MD5 once and every
  hop checks a CRC32, measured with the implementation objstore uses.

Usage: ``python bench/machine_limits.py [--dir /tmp] [--mib 512]``;
``compare_proxy.py`` calls :func:`measure` when it runs the large phases.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import sys
import tempfile
import threading
import time
from typing import Optional

try:
    from objstore.common.fast_crc32 import crc32 as object_crc32
except ImportError:  # run without objstore installed: zlib's, the same checksum
    from zlib import crc32 as object_crc32

MIB = 1024 * 1024


def disk_write_fsync_mib_s(directory: str, mib: int) -> float:
    block = os.urandom(MIB)
    fd, path = tempfile.mkstemp(prefix="limits-", dir=directory)
    try:
        began = time.perf_counter()
        for _ in range(mib):
            os.write(fd, block)
        os.fsync(fd)
        elapsed = time.perf_counter() - began
    finally:
        os.close(fd)
        os.unlink(path)
    return mib / elapsed


def loopback_mib_s(mib: int) -> float:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    sender = socket.create_connection(listener.getsockname())
    receiver, _ = listener.accept()
    listener.close()
    total = mib * MIB
    block = os.urandom(MIB)

    def send() -> None:
        for _ in range(mib):
            sender.sendall(block)
        sender.shutdown(socket.SHUT_WR)

    began = time.perf_counter()
    thread = threading.Thread(target=send)
    thread.start()
    received = 0
    buffer = bytearray(MIB)
    while received < total:
        got = receiver.recv_into(buffer)
        if not got:
            break
        received += got
    elapsed = time.perf_counter() - began
    thread.join()
    sender.close()
    receiver.close()
    return received / MIB / elapsed


def hash_mib_s(mib: int, update) -> float:
    block = os.urandom(MIB)
    began = time.perf_counter()
    for _ in range(mib):
        update(block)
    return mib / (time.perf_counter() - began)


def measure(directory: Optional[str] = None, mib: int = 512, replicas: int = 3) -> dict:
    """Every figure in MiB/s, with the ceilings they set for large PUT and GET."""
    directory = directory or tempfile.gettempdir()
    disk = disk_write_fsync_mib_s(directory, mib)
    loopback = loopback_mib_s(mib)
    md5 = hash_mib_s(mib, hashlib.md5().update)
    crc_state = [0]

    def crc(block: bytes) -> None:
        crc_state[0] = object_crc32(block, crc_state[0])

    crc32 = hash_mib_s(mib, crc)
    cores = os.cpu_count() or 1
    return {"disk_write_fsync_mib_s": round(disk, 1),
            "loopback_mib_s": round(loopback, 1),
            "md5_mib_s_per_core": round(md5, 1),
            "crc32_mib_s_per_core": round(crc32, 1),
            "cores": cores, "replicas": replicas,
            "put_ceiling_disk_mib_s": round(disk / replicas, 1),
            "put_ceiling_md5_mib_s": round(md5 * cores / replicas, 1),
            "get_ceiling_loopback_mib_s": round(loopback, 1),
            "load_average": os.getloadavg(), "sample_mib": mib}


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", help="where to write the disk test file (default: tmp)")
    parser.add_argument("--mib", type=int, default=512)
    parser.add_argument("--replicas", type=int, default=3)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.dir, args.mib, args.replicas), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
