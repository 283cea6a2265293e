"""DiskFile in memory: proves the seam and makes server tests cheap.

Each object is a dict of file name to ``(bytes, metadata)``, named and chosen
exactly like the files on disk (:mod:`.rules`), so the contract tests hold
for both implementations.  Nothing survives the process.
"""
from __future__ import annotations

import hashlib
import threading
import time
from typing import Iterable, Iterator, Optional

from objstore.common.fast_crc32 import crc32
from objstore.common.path_hash import PathHasher, hash_suffix
from objstore.common.storage_policy import StoragePolicy
from objstore.common.timestamp import Timestamp
from objstore.obj.diskfile import rules
from objstore.obj.diskfile.async_pending import AsyncUpdate, decode_async, encode_async
from objstore.obj.diskfile.interface import (DiskFile, DiskFileDeleted,
                                             DiskFileDeviceUnavailable, DiskFileExpired,
                                             DiskFileManager, DiskFileNoSpace,
                                             DiskFileNotExist, DiskFileQuarantined,
                                             DiskFileWriter, ObjectFileInvalid, StoredFile,
                                             check_received_data)

ObjectKey = tuple[str, str, str]  # (device, partition, hash)


class MemDiskFileWriter(DiskFileWriter):
    def __init__(self, diskfile: "MemDiskFile"):
        super().__init__()
        self._df = diskfile
        self._chunks: list[bytes] = []

    def _write(self, chunk: bytes) -> None:
        limit = self._df.manager.capacity
        if limit is not None and self.bytes_written > limit:
            raise DiskFileNoSpace("memory device full")
        self._chunks.append(bytes(chunk))

    def _put(self, metadata: dict[str, str]) -> None:
        timestamp = Timestamp(metadata["X-Timestamp"])
        self._df.store(rules.file_name(timestamp, rules.DATA_EXT), b"".join(self._chunks),
                       metadata)
        self.committed = True

    def abort(self) -> None:
        self._chunks = []


class MemDiskFile(DiskFile):
    def __init__(self, manager: "MemDiskFileManager", key: ObjectKey, name: str):
        super().__init__()
        self.manager = manager
        self.key = key
        self.name = name
        self._body = b""

    def _files(self) -> dict[str, tuple[bytes, dict[str, str]]]:
        return self.manager.objects.get(self.key, {})

    def newest_timestamp(self) -> Optional[Timestamp]:
        stamps = [info[0] for info in map(rules.parse_name, self._files()) if info]
        return max(stamps) if stamps else None

    def open(self, now: Optional[float] = None, open_expired: bool = False) -> "MemDiskFile":
        with self.manager.lock:
            files = dict(self._files())
        choice = rules.choose_files(files)
        if choice.tombstone:
            raise DiskFileDeleted(timestamp=rules.parse_name(choice.tombstone)[0])
        if not choice.data:
            raise DiskFileNotExist()
        self._body, data_meta = files[choice.data]
        post_meta = files[choice.meta][1] if choice.meta else None
        self.data_timestamp = rules.parse_name(choice.data)[0]
        self.timestamp = rules.parse_name(choice.meta)[0] if choice.meta else self.data_timestamp
        self._data_metadata = dict(data_meta)
        self._metadata = rules.merge_metadata(data_meta, post_meta)
        stored = data_meta.get("Content-Length", "")
        if not (stored.isascii() and stored.isdigit()) or int(stored) != len(self._body):
            self.quarantine("size does not match Content-Length %r" % stored)
        if not open_expired and rules.is_expired(self._metadata,
                                                 time.time() if now is None else now):
            raise DiskFileExpired(timestamp=self.timestamp, metadata=self._metadata)
        return self

    def _iter_range(self, start: int, end: int, chunk_size: int) -> Iterator[bytes]:
        for offset in range(start, end, chunk_size):
            yield self._body[offset:min(offset + chunk_size, end)]

    def quarantine(self, reason: str) -> None:
        with self.manager.lock:
            files = self.manager.objects.pop(self.key, None)
            if files is not None:
                self.manager.quarantined.append((self.key, files, reason))
        raise DiskFileQuarantined(reason)

    def writer(self, size: Optional[int] = None) -> MemDiskFileWriter:
        capacity = self.manager.capacity
        if size is not None and capacity is not None and size > capacity:
            raise DiskFileNoSpace("memory device full")
        return MemDiskFileWriter(self)

    def store(self, name: str, body: bytes, metadata: dict[str, str]) -> None:
        with self.manager.lock:
            files = self.manager.objects.setdefault(self.key, {})
            files[name] = (body, dict(metadata))
            for old in rules.choose_files(files).obsolete:
                files.pop(old, None)

    def write_metadata(self, metadata: dict[str, str]) -> None:
        timestamp = Timestamp(metadata["X-Timestamp"])
        self.store(rules.file_name(timestamp, rules.META_EXT), b"", metadata)

    def delete(self, timestamp: Timestamp) -> None:
        self.store(rules.file_name(timestamp, rules.TOMBSTONE_EXT), b"",
                   {"X-Timestamp": timestamp.internal})


class MemDiskFileManager(DiskFileManager):
    """``devices=None`` accepts any device name; ``capacity`` bytes per write, if set.

    Like the files on disk, each policy's manager keeps its own objects and
    pendings: two managers never see each other's.
    """

    def __init__(self, hasher: PathHasher, devices: Optional[list[str]] = None,
                 capacity: Optional[int] = None, policy: Optional[StoragePolicy] = None,
                 reclaim_age: float = rules.DEFAULT_RECLAIM_AGE):
        super().__init__(policy, reclaim_age=reclaim_age)
        self.hasher = hasher
        self.devices = devices
        self.capacity = capacity
        self.lock = threading.Lock()
        self.objects: dict[ObjectKey, dict[str, tuple[bytes, dict[str, str]]]] = {}
        self.quarantined: list = []
        self.asyncs: dict[tuple[str, str], bytes] = {}

    def _check_device(self, device: str) -> None:
        if self.devices is not None and device not in self.devices:
            raise DiskFileDeviceUnavailable("device %r unavailable" % device)

    def list_devices(self) -> list[str]:
        if self.devices is not None:
            return list(self.devices)
        return sorted({key[0] for key in self.objects} | {key[0] for key in self.asyncs})

    def get_diskfile(self, device: str, partition: str, account: str, container: str,
                     obj: str) -> MemDiskFile:
        self._check_device(device)
        key = (device, str(partition), str(self.hasher.hash_path(account, container, obj)))
        return MemDiskFile(self, key, "/%s/%s/%s" % (account, container, obj))

    def get_diskfile_by_hash(self, device: str, partition: str,
                             name_hash: str) -> MemDiskFile:
        self._check_device(device)
        return MemDiskFile(self, (device, str(partition), name_hash), name_hash)

    def remove_stale_temp_files(self, device: str, max_age: float,
                                now: Optional[float] = None) -> int:
        self._check_device(device)
        return 0  # a write in memory is never left half done on a "disk"

    # -- replication seams: computed on demand, memory is cheap to walk -----
    def list_partitions(self, device: str) -> list[str]:
        self._check_device(device)
        with self.lock:
            return sorted({key[1] for key, files in self.objects.items()
                           if key[0] == device and files}, key=int)

    def list_suffixes(self, device: str, partition: str) -> list[str]:
        self._check_device(device)
        with self.lock:
            return sorted({hash_suffix(key[2]) for key, files in self.objects.items()
                           if key[:2] == (device, str(partition)) and files})

    def list_hashes(self, device: str, partition: str, suffix: str,
                    now: Optional[float] = None) -> dict[str, list[str]]:
        self._check_device(device)
        now = time.time() if now is None else now
        found: dict[str, list[str]] = {}
        with self.lock:
            for key in [k for k in self.objects if k[:2] == (device, str(partition))
                        and hash_suffix(k[2]) == suffix]:
                files = self.objects[key]
                if rules.reclaimable(files, now, self.reclaim_age):
                    files.clear()
                for old in rules.choose_files(files).obsolete:
                    files.pop(old, None)
                if not files:
                    del self.objects[key]
                    continue
                found[key[2]] = rules.current_files(files)
        return found

    def suffix_hashes(self, device: str, partition: str, recalculate: Iterable[str] = (),
                      now: Optional[float] = None) -> dict[str, str]:
        digests = {}
        for suffix in self.list_suffixes(device, partition):
            digest = rules.suffix_digest(self.list_hashes(device, partition, suffix, now))
            if digest is not None:
                digests[suffix] = digest
        return digests

    def read_file(self, device: str, partition: str, name_hash: str, name: str,
                  chunk_size: int = 65536) -> StoredFile:
        self._check_device(device)
        with self.lock:
            stored = self.objects.get((device, str(partition), name_hash), {}).get(name)
        if stored is None:
            raise DiskFileNotExist(name)
        body, metadata = stored
        chunks = (body[i:i + chunk_size] for i in range(0, len(body), chunk_size))
        return StoredFile(name, dict(metadata), len(body), chunks)

    def receive_file(self, device: str, partition: str, name_hash: str, name: str,
                     metadata: dict[str, str], chunks: Iterable[bytes]) -> bool:
        self._check_device(device)
        info = rules.parse_name(name)
        if info is None or info[0] != Timestamp(metadata.get("X-Timestamp", "0")):
            raise ObjectFileInvalid("file %r does not match its X-Timestamp" % name)
        body = b"".join(chunks)
        key = (device, str(partition), name_hash)
        with self.lock:
            local = list(self.objects.get(key, {}))
        if not rules.wanted_files(local, [name]):
            return False
        metadata = check_received_data(name, metadata, hashlib.md5(
            body, usedforsecurity=False).hexdigest(), crc32(body), len(body))
        MemDiskFile(self, key, name_hash).store(name, body, metadata)
        return True

    def remove_files(self, device: str, partition: str, name_hash: str,
                     names: Iterable[str]) -> None:
        key = (device, str(partition), name_hash)
        with self.lock:
            files = self.objects.get(key, {})
            for name in names:
                files.pop(name, None)
            if not files:
                self.objects.pop(key, None)

    def save_async_update(self, device: str, update: AsyncUpdate) -> None:
        self._check_device(device)
        self.check_policy(update)
        name_hash = str(self.hasher.hash_path(update.account, update.container, update.obj))
        key = (device, "%s-%s" % (name_hash, update.timestamp.internal))
        with self.lock:
            self.asyncs[key] = encode_async(update)  # round-trip the real encoding
        update.location = key

    def update_async_update(self, update: AsyncUpdate) -> None:
        with self.lock:
            self.asyncs[update.location] = encode_async(update)

    def remove_async_update(self, update: AsyncUpdate) -> None:
        with self.lock:
            self.asyncs.pop(update.location, None)

    def iter_async_updates(self, device: str) -> Iterator[AsyncUpdate]:
        self._check_device(device)
        with self.lock:
            keys = sorted(k for k in self.asyncs if k[0] == device)
            newest: dict[str, tuple[Timestamp, tuple]] = {}
            for key in keys:
                name_hash, _, stamp = key[1].partition("-")
                when = Timestamp(stamp)
                best = newest.get(name_hash)
                if best is None or when > best[0]:
                    if best is not None:
                        self.asyncs.pop(best[1], None)
                    newest[name_hash] = (when, key)
                else:
                    self.asyncs.pop(key, None)
            chosen = [(key, self.asyncs[key]) for _, key in newest.values()]
        for key, blob in chosen:
            update = decode_async(blob)
            update.location = key
            yield update
