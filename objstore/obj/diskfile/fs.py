"""DiskFile on a real file system: the only code that touches object files.

Layout under ``<devices>/<dev>/``::

    objects[-N]/<partition>/<suffix>/<hash>/<timestamp>.data|.ts|.meta
    objects[-N]/<partition>/<suffix>/<hash>/<file>.spill   (metadata too big for xattrs)
    tmp/                                                     (writes in progress)
    quarantined/objects[-N]/<hash>/                          (corrupt objects, kept)
    async_pending[-N]/<suffix>/<hash>-<timestamp>            (container updates to retry)

A write lands in ``tmp/``, gets its xattrs, is fsynced and renamed into the
hash directory, and that directory is fsynced (and its parents when they were
created).  Only then are older generations removed (see :mod:`.rules`).
"""
from __future__ import annotations

import errno
import logging
import os
import tempfile
import time
import uuid
from typing import Any, Callable, Iterable, Iterator, Optional

from objstore.common import durable_fs
from objstore.common.config import SpaceReserve
from objstore.common.concurrency import tpool_execute
from objstore.common.path_hash import PathHasher, hash_suffix
from objstore.common.storage_policy import StoragePolicy
from objstore.common.timestamp import InvalidTimestamp, Timestamp
from objstore.obj.diskfile import metadata as mdcodec
from objstore.obj.diskfile import rules
from objstore.obj.diskfile.fs_partitions import FsPartitions, invalidate_suffix, is_hash
from objstore.obj.diskfile.async_pending import (AsyncPendingCorrupt, AsyncUpdate,
                                                 decode_async, encode_async)
from objstore.obj.diskfile.interface import (DiskFile, DiskFileDeleted,
                                             DiskFileDeviceUnavailable, DiskFileExpired,
                                             DiskFileManager, DiskFileNoSpace,
                                             DiskFileNotExist, DiskFileQuarantined,
                                             DiskFileWriter, ObjectFileInvalid, StoredFile,
                                             check_received_data)

log = logging.getLogger("objstore.obj.diskfile")

_XATTR_FULL = (errno.ENOSPC, errno.E2BIG, errno.ERANGE, errno.EDQUOT)
# A body larger than the cache keeps (keep_cache_size) is handed to the disk
# in steps of this many bytes while it still streams in.  Left alone, the
# kernel starts writing only when dirty pages reach a share of RAM (GBs), so
# the whole object waited for the disk in the final fsync, after the last
# byte arrived: receiving and writing took turns instead of overlapping.
WRITE_BEHIND_BYTES = 8 << 20


# -- metadata on files ---------------------------------------------------

def _read_xattr_blob(fd: int) -> bytes:
    pieces = []
    index = 0
    while True:
        try:
            piece = os.getxattr(fd, mdcodec.xattr_key(index))
        except OSError as err:
            if err.errno in (errno.ENODATA, errno.ENOTSUP):
                break
            raise
        pieces.append(piece)
        if len(piece) < mdcodec.XATTR_CHUNK:
            break  # only the last piece is short: no need to ask for the next
        index += 1
    return b"".join(pieces)


def _remove_xattrs(fd: int, count: int) -> None:
    for index in range(count):
        try:
            os.removexattr(fd, mdcodec.xattr_key(index))
        except OSError:
            pass


def _set_xattr_blob(fd: int, blob: bytes) -> None:
    """Store ``blob`` in xattrs; on failure leave none of its pieces behind."""
    pieces = mdcodec.split_for_xattrs(blob)
    done = 0
    try:
        for key, piece in pieces:
            os.setxattr(fd, key, piece)
            done += 1
    except OSError:
        _remove_xattrs(fd, done)
        raise


def read_metadata(fd: int, directory: str) -> dict[str, str]:
    """Metadata of an object file (``fd``), following a spill into ``directory``."""
    blob = _read_xattr_blob(fd)
    if not blob:
        raise mdcodec.MetadataCorrupt("no metadata xattr")
    if mdcodec.blob_kind(blob) == mdcodec.KIND_INLINE:
        return mdcodec.decode_inline(blob)
    name, length, md5 = mdcodec.decode_spill_ref(blob)
    try:
        with open(os.path.join(directory, name), "rb") as handle:
            sidecar = handle.read(length + 1)
    except FileNotFoundError:
        raise mdcodec.MetadataCorrupt("spilled metadata file %s is missing" % name) from None
    return mdcodec.verify_sidecar(sidecar, length, md5)


def write_metadata_to(fd: int, final_name: str, hash_dir: str, tmp_dir: str,
                      metadata: dict[str, str],
                      offload: Optional[Callable[..., Any]] = None) -> None:
    """Attach ``metadata`` to the not-yet-renamed file ``fd`` that will be ``final_name``.

    Small metadata goes into xattrs.  Large metadata (or a file system that
    refuses the xattr) goes into a sidecar that is durably renamed into
    ``hash_dir`` *before* its owner, so an owner is never visible without it.
    The sidecar waits for fsyncs: ``offload(func, *args)``, when given, runs
    that step (in a real thread, so the hub goes on serving).
    """
    blob = mdcodec.encode_inline(metadata)
    if _set_inline_metadata(fd, blob):
        return
    if offload is None:
        _spill_metadata(fd, blob, final_name, hash_dir, tmp_dir)
    else:
        offload(_spill_metadata, fd, blob, final_name, hash_dir, tmp_dir)


def _set_inline_metadata(fd: int, blob: bytes) -> bool:
    """Put an encoded metadata blob into ``fd``'s xattrs; False when it must spill."""
    if len(blob) > mdcodec.INLINE_LIMIT:
        return False
    try:
        _set_xattr_blob(fd, blob)
        return True
    except OSError as err:
        if err.errno not in _XATTR_FULL:
            raise
        return False


def _spill_metadata(fd: int, blob: bytes, final_name: str, hash_dir: str,
                    tmp_dir: str) -> None:
    side_name = rules.sidecar_name(final_name)
    durable_fs.mkdirs(tmp_dir)
    tmp_fd, tmp_path = tempfile.mkstemp(dir=tmp_dir, prefix=".spill-")
    try:
        with os.fdopen(tmp_fd, "wb") as handle:
            handle.write(blob)
            handle.flush()
            os.fsync(handle.fileno())
        durable_fs.renamer(tmp_path, os.path.join(hash_dir, side_name))
    except BaseException:
        durable_fs.unlink_quietly(tmp_path)
        raise
    _set_xattr_blob(fd, mdcodec.encode_spill_ref(side_name, blob))


def _temp_file(tmp_dir: str, prefix: str) -> tuple[int, str]:
    """A new file in the device's ``tmp/``, made on the device's first write only
    (looking for it before every write would cost each write a stat and a mkdir)."""
    try:
        return tempfile.mkstemp(dir=tmp_dir, prefix=prefix)
    except FileNotFoundError:
        durable_fs.mkdirs(tmp_dir)
        return tempfile.mkstemp(dir=tmp_dir, prefix=prefix)


def _raise_no_space(err: OSError) -> None:
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        raise DiskFileNoSpace(str(err)) from None
    raise err


# -- the DiskFile ----------------------------------------------------------

class FsDiskFileWriter(DiskFileWriter):
    def __init__(self, diskfile: "FsDiskFile", size: Optional[int]):
        super().__init__()
        self._df = diskfile
        manager = diskfile.manager
        if manager.fallocate_reserve.amount > 0:
            free, total = durable_fs.space_of(diskfile.device_path)
            if manager.fallocate_reserve.crossed_by(size or 0, free, total):
                raise DiskFileNoSpace("free space would fall to fallocate_reserve (%s)"
                                      % manager.fallocate_reserve)
        self._fd, self.tmp_path = _temp_file(diskfile.tmp_dir, ".obj-")
        self._keep_cache_size = manager.keep_cache_size
        # [_behind_from, _behind_to): the step handed to the disk last time
        self._behind_from = self._behind_to = 0
        try:
            if size:
                durable_fs.fallocate(self._fd, size)
        except OSError as err:
            self.abort()
            _raise_no_space(err)

    def _write(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError as err:
            _raise_no_space(err)
        if self.bytes_written - self._behind_to >= WRITE_BEHIND_BYTES \
                and self.bytes_written > self._keep_cache_size:
            self._write_behind()

    def _write_behind(self) -> None:
        """Queue the new step's pages for writing and evict the previous step's.

        On Linux, DONTNEED advice first starts writeback of the range's dirty
        pages without waiting for it, then evicts the pages already clean:
        the previous step has had a step's time to reach the disk, so its
        pages go, and the page cache holds about two steps of this body
        instead of all of it.  The fsync in :meth:`put` still makes the
        whole file durable; this only means it finds little left to write.
        """
        end = self.bytes_written
        durable_fs.drop_buffer_cache(self._fd, self._behind_from, end - self._behind_from)
        self._behind_from, self._behind_to = self._behind_to, end

    def _put(self, metadata: dict[str, str]) -> None:
        timestamp = Timestamp(metadata["X-Timestamp"])
        if self.bytes_written < os.fstat(self._fd).st_size:
            os.ftruncate(self._fd, self.bytes_written)  # drop unused fallocated space
        self._df.commit_file(self._fd, self.tmp_path, timestamp, rules.DATA_EXT, metadata)
        self.committed = True
        self._close()

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def abort(self) -> None:
        self._close()
        if not self.committed:
            durable_fs.unlink_quietly(self.tmp_path)


class FsDiskFile(DiskFile):
    def __init__(self, manager: "FsDiskFileManager", device_path: str, partition: str,
                 account: str, container: str, obj: str):
        super().__init__()
        self.manager = manager
        self.device_path = device_path
        self.name = "/%s/%s/%s" % (account, container, obj)
        self.name_hash = str(manager.hasher.hash_path(account, container, obj))
        self._set_paths(partition)

    @classmethod
    def by_hash(cls, manager: "FsDiskFileManager", device_path: str, partition: str,
                name_hash: str) -> "FsDiskFile":
        """The DiskFile of an object known only by its hash (replication)."""
        df = cls.__new__(cls)
        DiskFile.__init__(df)
        df.manager, df.device_path = manager, device_path
        df.name, df.name_hash = name_hash, name_hash
        df._set_paths(partition)
        return df

    def _set_paths(self, partition: str) -> None:
        self.part_dir = os.path.join(self.device_path, self.manager.policy.data_dir,
                                     str(partition))
        self.suffix = hash_suffix(self.name_hash)
        self.hash_dir = os.path.join(self.part_dir, self.suffix, self.name_hash)
        self.tmp_dir = os.path.join(self.device_path, "tmp")
        self._fd: Optional[int] = None

    # -- reading ---------------------------------------------------------
    def _listdir(self) -> list[str]:
        try:
            return os.listdir(self.hash_dir)
        except (FileNotFoundError, NotADirectoryError):
            return []

    def newest_timestamp(self) -> Optional[Timestamp]:
        stamps = [info[0] for info in map(rules.parse_name, self._listdir()) if info]
        return max(stamps) if stamps else None

    def _read_file_metadata(self, name: str, keep_fd: bool) -> dict[str, str]:
        fd = os.open(os.path.join(self.hash_dir, name), os.O_RDONLY)
        try:
            meta = read_metadata(fd, self.hash_dir)
        except (mdcodec.MetadataCorrupt, OSError) as err:
            os.close(fd)
            if isinstance(err, FileNotFoundError) or not os.path.exists(
                    os.path.join(self.hash_dir, name)):
                # cleaned up by a newer write while we read: not corruption
                raise FileNotFoundError(name) from None
            self.quarantine("unreadable metadata on %s: %s" % (name, err))
        if keep_fd:
            self._fd = fd
        else:
            os.close(fd)
        return meta

    def open(self, now: Optional[float] = None, open_expired: bool = False) -> "FsDiskFile":
        for attempt in range(3):
            self.close()
            choice = rules.choose_files(self._listdir())
            if choice.tombstone:
                raise DiskFileDeleted(timestamp=rules.parse_name(choice.tombstone)[0])
            if not choice.data:
                raise DiskFileNotExist()
            try:
                data_meta = self._read_file_metadata(choice.data, keep_fd=True)
                post_meta = (self._read_file_metadata(choice.meta, keep_fd=False)
                             if choice.meta else None)
                break
            except FileNotFoundError:
                # a newer write cleaned up under us: look at the directory again
                self.close()
        else:
            raise DiskFileNotExist("object files keep changing under the reader")
        self.data_timestamp = rules.parse_name(choice.data)[0]
        self.timestamp = rules.parse_name(choice.meta)[0] if choice.meta else self.data_timestamp
        self._data_metadata = data_meta
        self._metadata = rules.merge_metadata(data_meta, post_meta)
        size = os.fstat(self._fd).st_size
        try:
            stored = int(data_meta.get("Content-Length", -1))
        except ValueError:
            stored = -1
        if stored != size:
            self.quarantine("size %d does not match Content-Length %r" % (
                size, data_meta.get("Content-Length")))
        if not open_expired and rules.is_expired(self._metadata,
                                                 time.time() if now is None else now):
            raise DiskFileExpired(timestamp=self.timestamp, metadata=self._metadata)
        return self

    def _iter_range(self, start: int, end: int, chunk_size: int) -> Iterator[bytes]:
        if self._fd is None:
            raise RuntimeError("DiskFile not opened")
        return _pread_chunks(self._fd, start, end, chunk_size)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def quarantine(self, reason: str) -> None:
        self.close()
        target_root = os.path.join(self.device_path, "quarantined",
                                   self.manager.policy.data_dir)
        target = os.path.join(target_root, self.name_hash)
        if os.path.exists(target):
            target += "-" + uuid.uuid4().hex
        log.error("quarantining %s (%s) to %s: %s", self.name, self.hash_dir, target, reason)
        try:
            durable_fs.renamer(self.hash_dir, target)
        except FileNotFoundError:
            pass
        invalidate_suffix(self.part_dir, self.suffix)
        raise DiskFileQuarantined(reason)

    # -- writing ---------------------------------------------------------
    def writer(self, size: Optional[int] = None) -> FsDiskFileWriter:
        try:
            return FsDiskFileWriter(self, size)
        except OSError as err:
            _raise_no_space(err)
            raise

    def commit_file(self, fd: int, tmp_path: str, timestamp: Timestamp, ext: str,
                    metadata: dict[str, str]) -> None:
        """Attach metadata, fsync, rename into the hash dir, then clean up older files.

        The quick steps (an xattr, a mkdir, opening directories, a line in
        hashes.invalid) run on the hub.  The steps that wait for the disk run
        in one trip to a real thread, so the hub serves other requests and
        their fsyncs overlap; that thread makes as few system calls as it can,
        because each one hands the GIL back and forth with the busy hub
        (measured: about 180 futex calls per PUT when the whole sequence,
        some 25 calls, ran there).
        """
        final_name = rules.file_name(timestamp, ext)
        try:
            write_metadata_to(fd, final_name, self.hash_dir, self.tmp_dir, metadata,
                              offload=tpool_execute)
            drop_cache = final_name.endswith(rules.DATA_EXT) \
                and os.fstat(fd).st_size > self.manager.keep_cache_size
            # a new name needs its directory fsynced, a new directory its parent
            created = durable_fs.create_missing_dirs(self.hash_dir)
            dir_fds: list[int] = []
            try:
                for path in [self.hash_dir] + [os.path.dirname(p) for p in created]:
                    dir_fds.append(durable_fs.open_dir(path))
                tpool_execute(self._make_durable, fd, tmp_path, final_name, dir_fds,
                              drop_cache)
            finally:
                for dir_fd in dir_fds:
                    os.close(dir_fd)
            try:
                invalidate_suffix(self.part_dir, self.suffix, blocking=False)
            except BlockingIOError:  # a replicator is hashing the partition
                tpool_execute(invalidate_suffix, self.part_dir, self.suffix)
        except OSError as err:
            _raise_no_space(err)

    def _make_durable(self, fd: int, tmp_path: str, final_name: str, dir_fds: list[int],
                      drop_cache: bool) -> None:
        """fsync the data, rename it into place, fsync the directories, then
        drop what the new file makes obsolete: plain system calls only."""
        os.fsync(fd)
        if drop_cache:
            durable_fs.drop_buffer_cache(fd)
        final_path = os.path.join(self.hash_dir, final_name)
        try:
            os.rename(tmp_path, final_path)
        except FileNotFoundError:
            # a replicator pruned the hash dir while it was still empty:
            # create it again, and fsync it and its parents afresh
            durable_fs.renamer(tmp_path, final_path)
        for dir_fd in dir_fds:
            durable_fs.fsync_dir_fd(dir_fd)
        self.cleanup()

    def _write_marker(self, ext: str, metadata: dict[str, str]) -> None:
        timestamp = Timestamp(metadata["X-Timestamp"])
        try:
            fd, tmp_path = _temp_file(self.tmp_dir, ".mark-")
        except OSError as err:
            _raise_no_space(err)
        try:
            self.commit_file(fd, tmp_path, timestamp, ext, metadata)
        except BaseException:
            durable_fs.unlink_quietly(tmp_path)
            raise
        finally:
            os.close(fd)

    def write_metadata(self, metadata: dict[str, str]) -> None:
        self._write_marker(rules.META_EXT, metadata)

    def delete(self, timestamp: Timestamp) -> None:
        self._write_marker(rules.TOMBSTONE_EXT, {"X-Timestamp": timestamp.internal})

    def cleanup(self) -> list[str]:
        """Remove files made obsolete by newer ones; return their names."""
        choice = rules.choose_files(self._listdir())
        for name in choice.obsolete:
            durable_fs.unlink_quietly(os.path.join(self.hash_dir, name))
        return choice.obsolete


def _pread_chunks(fd: int, start: int, end: int, chunk_size: int) -> Iterator[bytes]:
    """Bytes ``[start, end)`` of ``fd``; stops early if the file is shorter.

    Each step first asks for the one after it (:func:`durable_fs.prefetch`),
    so the disk reads ahead while the caller checksums and sends this one.
    """
    offset = start
    while offset < end:
        step = min(chunk_size, end - offset)
        if offset + step < end:
            durable_fs.prefetch(fd, offset + step, min(chunk_size, end - offset - step))
        chunk = os.pread(fd, step, offset)
        if not chunk:
            break
        offset += len(chunk)
        yield chunk


def _read_and_close(fd: int, size: int, chunk_size: int) -> Iterator[bytes]:
    try:
        yield from _pread_chunks(fd, 0, size, chunk_size)
    finally:
        os.close(fd)


# -- the manager -----------------------------------------------------------

class FsDiskFileManager(FsPartitions, DiskFileManager):
    def __init__(self, devices: str, hasher: PathHasher, mount_check: bool = False,
                 fallocate_reserve: "SpaceReserve | int" = 0, keep_cache_size: int = 5242880,
                 policy: Optional[StoragePolicy] = None,
                 reclaim_age: float = rules.DEFAULT_RECLAIM_AGE):
        super().__init__(policy, reclaim_age=reclaim_age)
        self.devices = devices
        self.hasher = hasher
        self.mount_check = mount_check
        self.fallocate_reserve = SpaceReserve.parse(fallocate_reserve)
        # Files larger than this leave the page cache once they are durable.
        self.keep_cache_size = keep_cache_size

    def device_path(self, device: str) -> str:
        path = durable_fs.check_device(self.devices, device, self.mount_check)
        if path is None:
            raise DiskFileDeviceUnavailable("device %r unavailable" % device)
        return path

    def list_devices(self) -> list[str]:
        try:
            names = sorted(os.listdir(self.devices))
        except FileNotFoundError:
            return []
        return [n for n in names
                if durable_fs.check_device(self.devices, n, self.mount_check)]

    def remove_stale_temp_files(self, device: str, max_age: float,
                                now: Optional[float] = None) -> int:
        tmp_dir = os.path.join(self.device_path(device), "tmp")
        cutoff = (time.time() if now is None else now) - max_age
        removed = 0
        try:
            entries = list(os.scandir(tmp_dir))
        except FileNotFoundError:
            return 0
        for entry in entries:
            try:
                stale = entry.is_file(follow_symlinks=False) and \
                    entry.stat(follow_symlinks=False).st_mtime < cutoff
            except FileNotFoundError:
                continue  # finished (renamed into place) while we looked
            if stale and durable_fs.unlink_quietly(entry.path):
                removed += 1
        return removed

    def get_diskfile(self, device: str, partition: str, account: str, container: str,
                     obj: str) -> FsDiskFile:
        return FsDiskFile(self, self.device_path(device), partition, account, container,
                          obj)

    # -- replication: whole files by hash ----------------------------------
    def get_diskfile_by_hash(self, device: str, partition: str,
                             name_hash: str) -> FsDiskFile:
        if not is_hash(name_hash) or not str(partition).isdigit():
            raise ObjectFileInvalid("bad object hash %r or partition %r"
                                    % (name_hash, partition))
        return FsDiskFile.by_hash(self, self.device_path(device), partition, name_hash)

    def read_file(self, device: str, partition: str, name_hash: str, name: str,
                  chunk_size: int = 65536) -> StoredFile:
        df = self.get_diskfile_by_hash(device, partition, name_hash)
        if rules.parse_name(name) is None:
            raise DiskFileNotExist("not an object file: %r" % name)
        try:
            fd = os.open(os.path.join(df.hash_dir, name), os.O_RDONLY)
        except FileNotFoundError:
            raise DiskFileNotExist(name) from None
        try:
            metadata = read_metadata(fd, df.hash_dir)
            size = os.fstat(fd).st_size
        except (mdcodec.MetadataCorrupt, OSError) as err:
            os.close(fd)
            raise DiskFileNotExist("%s unreadable: %s" % (name, err)) from None
        return StoredFile(name, metadata, size, _read_and_close(fd, size, chunk_size))

    def receive_file(self, device: str, partition: str, name_hash: str, name: str,
                     metadata: dict[str, str], chunks: Iterable[bytes]) -> bool:
        df = self.get_diskfile_by_hash(device, partition, name_hash)
        info = rules.parse_name(name)
        if info is None or info[0] != Timestamp(metadata.get("X-Timestamp", "0")):
            raise ObjectFileInvalid("file %r does not match its X-Timestamp" % name)
        if not rules.wanted_files(df._listdir(), [name]):
            for _ in chunks:  # newer state is here already: drain and drop
                pass
            return False
        writer = df.writer()
        try:
            for chunk in chunks:
                writer.write(chunk)
            metadata = check_received_data(name, metadata, writer.etag, writer.crc32,
                                           writer.bytes_written)
            df.commit_file(writer._fd, writer.tmp_path, info[0], info[1], metadata)
            writer.committed = True
        finally:
            writer.abort()
        return True

    def remove_files(self, device: str, partition: str, name_hash: str,
                     names: Iterable[str]) -> None:
        df = self.get_diskfile_by_hash(device, partition, name_hash)
        for name in names:
            if rules.parse_name(name) is None:
                continue
            durable_fs.unlink_quietly(os.path.join(df.hash_dir, name))
            durable_fs.unlink_quietly(os.path.join(df.hash_dir, rules.sidecar_name(name)))
        invalidate_suffix(df.part_dir, df.suffix)
        df.cleanup()
        for path in (df.hash_dir, os.path.dirname(df.hash_dir)):
            try:
                os.rmdir(path)
            except OSError:
                break

    # -- async pendings --------------------------------------------------
    def _async_root(self, device: str) -> str:
        return os.path.join(self.device_path(device), self.policy.async_dir)

    def async_path(self, device: str, update: AsyncUpdate) -> str:
        self.check_policy(update)
        name_hash = str(self.hasher.hash_path(update.account, update.container, update.obj))
        return os.path.join(self._async_root(device),
                            hash_suffix(name_hash),
                            "%s-%s" % (name_hash, update.timestamp.internal))

    def save_async_update(self, device: str, update: AsyncUpdate) -> None:
        path = self.async_path(device, update)
        try:
            durable_fs.write_file_atomic(path, encode_async(update),
                                         os.path.join(self.device_path(device), "tmp"))
        except OSError as err:
            _raise_no_space(err)
        update.location = path

    def update_async_update(self, update: AsyncUpdate) -> None:
        path = update.location
        device_path = os.path.dirname(os.path.dirname(os.path.dirname(path)))
        durable_fs.write_file_atomic(path, encode_async(update),
                                     os.path.join(device_path, "tmp"))

    def remove_async_update(self, update: AsyncUpdate) -> None:
        if update.location:
            durable_fs.unlink_quietly(update.location)

    def iter_async_updates(self, device: str) -> Iterator[AsyncUpdate]:
        device_path = self.device_path(device)
        root = os.path.join(device_path, self.policy.async_dir)
        try:
            suffixes = sorted(os.listdir(root))
        except FileNotFoundError:
            return
        for suffix in suffixes:
            suffix_dir = os.path.join(root, suffix)
            if not os.path.isdir(suffix_dir):
                continue
            yield from self._iter_suffix(device_path, suffix_dir)

    def _iter_suffix(self, device_path: str, suffix_dir: str) -> Iterator[AsyncUpdate]:
        newest: dict[str, tuple[Timestamp, str]] = {}
        for name in sorted(os.listdir(suffix_dir)):
            path = os.path.join(suffix_dir, name)
            name_hash, _, stamp = name.partition("-")
            try:
                when = Timestamp(stamp)
            except (InvalidTimestamp, ValueError):
                continue  # a temp or foreign file
            best = newest.get(name_hash)
            if best is None or when > best[0]:
                if best is not None:
                    durable_fs.unlink_quietly(best[1])  # superseded by a newer update
                newest[name_hash] = (when, path)
            else:
                durable_fs.unlink_quietly(path)
        for _, path in newest.values():
            try:
                with open(path, "rb") as handle:
                    update = decode_async(handle.read())
            except FileNotFoundError:
                continue
            except AsyncPendingCorrupt as err:
                target = os.path.join(device_path, "quarantined", self.policy.async_dir,
                                      os.path.basename(path))
                log.error("quarantining async pending %s: %s", path, err)
                durable_fs.renamer(path, target)
                continue
            update.policy_index = self.policy.index
            update.location = path
            yield update
