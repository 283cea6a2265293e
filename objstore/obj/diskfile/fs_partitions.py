"""Walking a device's partitions and the per-suffix hash cache, on the file system.

Replication compares partitions suffix by suffix.  Hashing every object of a
partition on every pass would read every directory of the device, so each
partition keeps its suffix digests in ``<partition>/hashes.json`` (plain
JSON: ``{"version": 1, "hashes": {suffix: md5}}``) and every write, delete,
quarantine or removal appends its suffix to ``<partition>/hashes.invalid``.
The next :meth:`suffix_hashes` rehashes only the suffixes named there (or
asked for), rewrites the cache atomically and empties the invalid list; a
pass over a node where nothing changed reads two small files per partition.

Both files change only under an exclusive ``flock`` on ``<partition>/.lock``,
so an invalidation can never be lost between reading and rewriting the cache.

Rehashing a suffix also cleans it: obsolete files go, a tombstone older than
``reclaim_age`` goes with its directory, and empty directories are pruned.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import time
from typing import Iterable, Iterator, Optional

from objstore.common import durable_fs
from objstore.obj.diskfile import rules

HASHES_FILE = "hashes.json"
INVALID_FILE = "hashes.invalid"
LOCK_FILE = ".lock"
HASHES_VERSION = 1
_SUFFIX = re.compile(r"^[0-9a-f]{3}$")
_HASH = re.compile(r"^[0-9a-f]{32}$")


def is_suffix(name: str) -> bool:
    return bool(_SUFFIX.match(name))


def is_hash(name: str) -> bool:
    return bool(_HASH.match(name))


def _open_creating_dir(path: str, flags: int) -> int:
    """``os.open`` with ``O_CREAT``, making the file's directory only when it is missing
    (it nearly always exists: looking first would cost every write two stats)."""
    try:
        return os.open(path, flags | os.O_CREAT, 0o644)
    except FileNotFoundError:
        durable_fs.mkdirs(os.path.dirname(path))
        return os.open(path, flags | os.O_CREAT, 0o644)


@contextlib.contextmanager
def partition_lock(part_dir: str, blocking: bool = True) -> Iterator[None]:
    """Exclusive lock on a partition's hash bookkeeping (across processes).

    Not ``blocking``: raises :class:`BlockingIOError` at once when another
    process holds it (a replicator hashing the partition holds it for as long
    as reading the suffix dirs takes).
    """
    fd = _open_creating_dir(os.path.join(part_dir, LOCK_FILE), os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield
    finally:
        os.close(fd)  # closing releases the flock


def invalidate_suffix(part_dir: str, suffix: str, blocking: bool = True) -> None:
    """Note that ``suffix`` changed; its digest is recomputed on the next read.

    Not ``blocking``: raises :class:`BlockingIOError` instead of waiting for
    the partition's lock (see :func:`partition_lock`).
    """
    with partition_lock(part_dir, blocking):
        fd = os.open(os.path.join(part_dir, INVALID_FILE), os.O_WRONLY | os.O_APPEND
                     | os.O_CREAT, 0o644)
        try:
            os.write(fd, suffix.encode("ascii") + b"\n")
        finally:
            os.close(fd)


def _read_cache(part_dir: str) -> Optional[dict[str, str]]:
    try:
        with open(os.path.join(part_dir, HASHES_FILE), "rb") as handle:
            doc = json.loads(handle.read().decode("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("version") != HASHES_VERSION \
            or not isinstance(doc.get("hashes"), dict):
        return None  # unknown or damaged: rebuilt from the files themselves
    return {str(k): str(v) for k, v in doc["hashes"].items() if is_suffix(str(k))}


def _read_invalid(part_dir: str) -> set[str]:
    try:
        with open(os.path.join(part_dir, INVALID_FILE), "r", encoding="ascii",
                  errors="replace") as handle:
            return {line.strip() for line in handle if is_suffix(line.strip())}
    except FileNotFoundError:
        return set()


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _rmdir_quietly(path: str) -> bool:
    try:
        os.rmdir(path)
        return True
    except OSError:
        return False


def scan_suffix(suffix_dir: str, now: float, reclaim_age: float) -> dict[str, list[str]]:
    """``{hash: current files}`` of one suffix dir, cleaning it on the way."""
    found: dict[str, list[str]] = {}
    for name_hash in sorted(_listdir(suffix_dir)):
        hash_dir = os.path.join(suffix_dir, name_hash)
        if not is_hash(name_hash):
            continue
        names = _listdir(hash_dir)
        if rules.reclaimable(names, now, reclaim_age):
            doomed = names
        else:
            doomed = rules.choose_files(names).obsolete
        for name in doomed:
            durable_fs.unlink_quietly(os.path.join(hash_dir, name))
        current = rules.current_files(set(names) - set(doomed))
        if current:
            found[name_hash] = current
        elif not _listdir(hash_dir):
            _rmdir_quietly(hash_dir)
    if not found and not _listdir(suffix_dir):
        _rmdir_quietly(suffix_dir)
    return found


class FsPartitions:
    """The replication seams of :class:`~.fs.FsDiskFileManager` (mixed into it)."""

    devices: str
    reclaim_age: float

    def device_path(self, device: str) -> str:
        raise NotImplementedError

    @property
    def _data_dir(self) -> str:
        return self.policy.data_dir  # type: ignore[attr-defined]

    def partition_dir(self, device: str, partition: str) -> str:
        return os.path.join(self.device_path(device), self._data_dir, str(partition))

    def list_partitions(self, device: str) -> list[str]:
        root = os.path.join(self.device_path(device), self._data_dir)
        return sorted((n for n in _listdir(root) if n.isdigit()), key=int)

    def list_suffixes(self, device: str, partition: str) -> list[str]:
        return sorted(n for n in _listdir(self.partition_dir(device, partition))
                      if is_suffix(n))

    def list_hashes(self, device: str, partition: str, suffix: str,
                    now: Optional[float] = None) -> dict[str, list[str]]:
        part_dir = self.partition_dir(device, partition)
        with partition_lock(part_dir):
            found = scan_suffix(os.path.join(part_dir, suffix),
                                time.time() if now is None else now, self.reclaim_age)
        return found

    def suffix_hashes(self, device: str, partition: str, recalculate: Iterable[str] = (),
                      now: Optional[float] = None) -> dict[str, str]:
        part_dir = self.partition_dir(device, partition)
        if not os.path.isdir(part_dir):
            return {}
        now = time.time() if now is None else now
        with partition_lock(part_dir):
            cached = _read_cache(part_dir)
            on_disk = {n for n in _listdir(part_dir) if is_suffix(n)}
            if cached is None:
                cached, todo = {}, set(on_disk)
            else:
                # suffixes named by a write, asked for, or present but never hashed
                named = _read_invalid(part_dir) | set(recalculate)
                todo = {s for s in named if is_suffix(s)} | (on_disk - set(cached))
            for suffix in sorted(todo):
                digest = rules.suffix_digest(
                    scan_suffix(os.path.join(part_dir, suffix), now, self.reclaim_age))
                if digest is None:
                    cached.pop(suffix, None)
                else:
                    cached[suffix] = digest
            if todo or not os.path.exists(os.path.join(part_dir, HASHES_FILE)):
                blob = json.dumps({"version": HASHES_VERSION, "hashes": cached},
                                  sort_keys=True).encode("utf-8")
                durable_fs.write_file_atomic(os.path.join(part_dir, HASHES_FILE), blob)
            durable_fs.unlink_quietly(os.path.join(part_dir, INVALID_FILE))
        return dict(cached)

    def remove_partition_if_empty(self, device: str, partition: str) -> bool:
        part_dir = self.partition_dir(device, partition)
        with partition_lock(part_dir):
            if any(is_suffix(n) for n in _listdir(part_dir)):
                return False
            for name in (HASHES_FILE, INVALID_FILE, LOCK_FILE):
                durable_fs.unlink_quietly(os.path.join(part_dir, name))
        return _rmdir_quietly(part_dir) or not os.path.exists(part_dir)
