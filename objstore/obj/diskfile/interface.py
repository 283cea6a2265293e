"""The DiskFile seam: what the object server and daemons may ask of storage.

Two implementations stand behind it: :mod:`.fs` (files and xattrs on real
devices) and :mod:`.mem` (dicts, for tests and to prove the seam is narrow).
One contract test suite runs against both.

A :class:`DiskFileManager` hands out one :class:`DiskFile` per object name
and stores async pendings (container updates to retry).  A DiskFile is used
in one of these ways:

- ``df.open()`` then ``df.metadata`` / ``df.reader(...)`` / ``df.close()``;
  ``open`` raises :class:`DiskFileNotExist` (or its subclasses
  :class:`DiskFileDeleted` and :class:`DiskFileExpired`, which carry the
  timestamp that proves the object's state);
- ``with df.writer(size) as w: w.write(chunk)...; w.put(metadata)``;
- ``df.write_metadata(metadata)`` (a POST: a ``.meta``);
- ``df.delete(timestamp)`` (a tombstone).
"""
from __future__ import annotations

import abc
import hashlib
from typing import Any, Iterable, Iterator, Optional

from objstore.common.fast_crc32 import crc32
from objstore.common.storage_policy import StoragePolicy
from objstore.common.timestamp import Timestamp
from objstore.obj.diskfile import integrity
from objstore.obj.diskfile.async_pending import AsyncUpdate
from objstore.obj.diskfile.rules import DEFAULT_RECLAIM_AGE


class DiskFileError(Exception):
    """Base for storage errors the object server turns into responses."""


class DiskFileNotExist(DiskFileError):
    """No object (404).  ``timestamp`` is the newest thing known, if any."""

    def __init__(self, message: str = "", timestamp: Optional[Timestamp] = None,
                 metadata: Optional[dict] = None):
        super().__init__(message or self.__class__.__name__)
        self.timestamp = timestamp
        self.metadata = metadata or {}


class DiskFileDeleted(DiskFileNotExist):
    """The newest file is a tombstone; ``timestamp`` is the tombstone's."""


class DiskFileExpired(DiskFileNotExist):
    """The object exists but its X-Delete-At has passed; ``metadata`` is its."""


class DiskFileQuarantined(DiskFileNotExist):
    """The object was found corrupt and moved aside; answer as if absent."""


class DiskFileNoSpace(DiskFileError):
    """The device is full (507)."""


class DiskFileDeviceUnavailable(DiskFileError):
    """The device is missing or not mounted (507)."""


class ObjectFileInvalid(DiskFileError):
    """A replicated file whose bytes or metadata do not match (refused, not stored)."""


class StoredFile:
    """One object file as replication reads it: metadata, size and its bytes."""

    def __init__(self, name: str, metadata: dict[str, str], size: int,
                 chunks: Iterator[bytes]):
        self.name = name
        self.metadata = metadata
        self.size = size
        self.chunks = chunks


class DiskFileWriter(abc.ABC):
    """Streams one new ``.data``; nothing is visible until :meth:`put` returns."""

    def __init__(self) -> None:
        self._md5: Any = hashlib.md5(usedforsecurity=False)
        self._named_etag: Optional[str] = None
        self.crc32 = 0  # of the bytes written so far: what whole reads will check
        self.bytes_written = 0
        self.committed = False

    def etag_named_by_sender(self) -> None:
        """Hash no MD5 here: the sender names it (:meth:`name_etag`) and the
        caller checks the sender's CRC32 of the body against :attr:`crc32`."""
        if self.bytes_written:
            raise ValueError("the MD5 is already being hashed")
        self._md5 = None

    def name_etag(self, etag: str) -> None:
        """The body's MD5, as the sender computed it (after the last write)."""
        if self._md5 is not None:
            raise ValueError("this writer hashes its own MD5")
        self._named_etag = etag

    @property
    def etag(self) -> str:
        """MD5 hex digest of the bytes written so far (or the one the sender named)."""
        if self._md5 is None:
            if self._named_etag is None:
                raise ValueError("the sender has not named the MD5 yet")
            return self._named_etag
        return self._md5.hexdigest()

    def write(self, chunk: bytes) -> None:
        if chunk:
            if self._md5 is not None:
                self._md5.update(chunk)
            self.crc32 = crc32(chunk, self.crc32)
            self.bytes_written += len(chunk)
            self._write(chunk)

    @abc.abstractmethod
    def _write(self, chunk: bytes) -> None:
        """Append ``chunk`` to the pending file."""

    def put(self, metadata: dict[str, str]) -> None:
        """Make the file durable and visible; ``metadata['X-Timestamp']`` names it.

        The stored metadata also records the CRC32 of the bytes (see
        :mod:`.integrity`); ``metadata`` itself is left as the caller made it.
        """
        self._put(integrity.with_crc(metadata, self.crc32, self.etag))

    @abc.abstractmethod
    def _put(self, metadata: dict[str, str]) -> None:
        """Commit the pending file with exactly ``metadata``."""

    @abc.abstractmethod
    def abort(self) -> None:
        """Throw away the pending file (safe to call twice or after put)."""

    def __enter__(self) -> "DiskFileWriter":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.abort()


class DiskFile(abc.ABC):
    """One object name on one device."""

    def __init__(self) -> None:
        self._metadata: Optional[dict[str, str]] = None
        self._data_metadata: Optional[dict[str, str]] = None
        self.data_timestamp: Optional[Timestamp] = None
        self.timestamp: Optional[Timestamp] = None

    # -- reading ---------------------------------------------------------
    @abc.abstractmethod
    def open(self, now: Optional[float] = None, open_expired: bool = False) -> "DiskFile":
        """Pick the current files; raise DiskFileNotExist and friends.

        ``open_expired`` opens an object whose ``X-Delete-At`` has passed (not
        yet removed by the expirer) instead of raising DiskFileExpired.
        """

    def current_state(self) -> tuple[Optional[Timestamp], bool, Optional[dict[str, str]]]:
        """``(newest .data/.ts timestamp, live object?, metadata)`` without raising.

        What a write decides from (409 for an older timestamp, the expiry an
        expiring DELETE must match): a deleted object gives its tombstone's
        timestamp, an expired one its metadata, and a quarantined one nothing.
        """
        try:
            self.open()
        except DiskFileExpired as err:
            self.close()
            return self.data_timestamp, False, err.metadata
        except DiskFileNotExist as err:
            return err.timestamp, False, None
        self.close()
        return self.data_timestamp, True, self.metadata

    @property
    def metadata(self) -> dict[str, str]:
        """Client-visible metadata (the .data's, with a newer .meta applied)."""
        if self._metadata is None:
            raise RuntimeError("DiskFile not opened")
        return self._metadata

    @property
    def data_metadata(self) -> dict[str, str]:
        """Metadata as written by the PUT, ignoring any .meta."""
        if self._data_metadata is None:
            raise RuntimeError("DiskFile not opened")
        return self._data_metadata

    @property
    def content_length(self) -> int:
        return int(self.metadata.get("Content-Length", 0))

    def reader(self, start: int = 0, end: Optional[int] = None,
               chunk_size: int = 65536) -> Iterator[bytes]:
        """Yield bytes ``[start, end)``; a whole-file read checks its checksum.

        A whole read holds back its last chunk until the checksum of everything
        matches the stored one (the CRC32 when the writer stored it, else the
        MD5 against the ETag: :mod:`.integrity`).  On a mismatch the object is
        quarantined at once and :class:`DiskFileQuarantined` cuts the stream
        short of its Content-Length, so the client (the proxy) never takes the
        corrupt bytes for a complete object and resumes from another replica.
        """
        length = self.content_length
        end = length if end is None else min(end, length)
        whole = start == 0 and end == length
        if not whole:
            yield from self._iter_range(start, end, chunk_size)
            return
        check = integrity.WholeReadCheck(self.data_metadata)
        seen = 0
        held: Optional[bytes] = None
        for chunk in self._iter_range(start, end, chunk_size):
            check.update(chunk)
            seen += len(chunk)
            if held is not None:
                yield held
            held = chunk
        problem = check.problem()
        if seen != length:
            problem = "read %d bytes of %d" % (seen, length)
        if problem:
            self.quarantine(problem)
        if held is not None:
            yield held

    def verify(self, chunk_size: int = 65536) -> None:
        """Read the whole object and check it; quarantine it (and raise) if corrupt."""
        for _ in self.reader(chunk_size=chunk_size):
            pass

    @abc.abstractmethod
    def _iter_range(self, start: int, end: int, chunk_size: int) -> Iterator[bytes]:
        """Raw bytes ``[start, end)`` of the opened .data."""

    @abc.abstractmethod
    def quarantine(self, reason: str) -> None:
        """Move the object's files aside (never delete them)."""

    def close(self) -> None:
        """Release anything :meth:`open` holds."""

    # -- writing ---------------------------------------------------------
    @abc.abstractmethod
    def writer(self, size: Optional[int] = None) -> DiskFileWriter:
        """A writer for a new .data; ``size`` (if known) is reserved up front."""

    @abc.abstractmethod
    def write_metadata(self, metadata: dict[str, str]) -> None:
        """Write a .meta named by ``metadata['X-Timestamp']``."""

    @abc.abstractmethod
    def delete(self, timestamp: Timestamp) -> None:
        """Write a tombstone at ``timestamp``."""

    @abc.abstractmethod
    def newest_timestamp(self) -> Optional[Timestamp]:
        """Newest .data/.ts/.meta timestamp on disk, without opening (for 409s)."""


class DiskFileManager(abc.ABC):
    """Hands out DiskFiles and stores async pendings: one storage policy on one node.

    A node has one manager per policy (see :mod:`.router`), so a policy's
    objects and pendings stay in that policy's own directories, and a later
    policy type (erasure coding) brings its own manager without touching
    this one.
    """

    def __init__(self, policy: Optional[StoragePolicy] = None,
                 reclaim_age: float = DEFAULT_RECLAIM_AGE) -> None:
        self.policy = policy or StoragePolicy(index=0, default=True)
        # Tombstones older than this are removed when their suffix is rehashed.
        self.reclaim_age = max(float(reclaim_age), 0.0)

    @property
    def policy_index(self) -> int:
        return self.policy.index

    def check_policy(self, update: AsyncUpdate) -> None:
        """An async pending is stored by the manager of the policy it names."""
        if update.policy_index != self.policy.index:
            raise ValueError("async pending of policy %d given to the manager of policy %d"
                             % (update.policy_index, self.policy.index))

    @abc.abstractmethod
    def get_diskfile(self, device: str, partition: str, account: str, container: str,
                     obj: str) -> DiskFile:
        """Raise DiskFileDeviceUnavailable when ``device`` cannot be used."""

    @abc.abstractmethod
    def get_diskfile_by_hash(self, device: str, partition: str, name_hash: str) -> DiskFile:
        """The DiskFile of an object known only by its hash (daemons walking a device)."""

    @abc.abstractmethod
    def list_devices(self) -> list[str]:
        """Devices this node can use now (for daemons)."""

    @abc.abstractmethod
    def remove_stale_temp_files(self, device: str, max_age: float,
                                now: Optional[float] = None) -> int:
        """Remove writes abandoned in ``device``'s temp area untouched for ``max_age`` s.

        A crashed server or a killed upload leaves its temp file behind; a
        live upload touches its file with every chunk, so only the age since
        the last write counts.  Returns how many were removed.
        """

    @abc.abstractmethod
    def save_async_update(self, device: str, update: AsyncUpdate) -> None:
        """Durably store a container update to retry later (newer replaces older)."""

    @abc.abstractmethod
    def iter_async_updates(self, device: str) -> Iterator[AsyncUpdate]:
        """This policy's pending updates on ``device``, only the newest per object."""

    @abc.abstractmethod
    def remove_async_update(self, update: AsyncUpdate) -> None:
        """Forget a delivered update."""

    @abc.abstractmethod
    def update_async_update(self, update: AsyncUpdate) -> None:
        """Rewrite a pending update in place (e.g. after some nodes succeeded)."""


    # -- replication seams (daemons and the REPLICATE/SSYNC verbs) ------------
    @abc.abstractmethod
    def list_partitions(self, device: str) -> list[str]:
        """Partitions of this policy that hold anything on ``device``."""

    @abc.abstractmethod
    def list_suffixes(self, device: str, partition: str) -> list[str]:
        """Suffixes present in a partition."""

    @abc.abstractmethod
    def list_hashes(self, device: str, partition: str, suffix: str,
                    now: Optional[float] = None) -> dict[str, list[str]]:
        """``{hash: current file names}`` of a suffix, after cleanup and tombstone reclaim."""

    @abc.abstractmethod
    def suffix_hashes(self, device: str, partition: str,
                      recalculate: Iterable[str] = (),
                      now: Optional[float] = None) -> dict[str, str]:
        """``{suffix: digest}`` of a partition; ``recalculate`` forces those suffixes."""

    @abc.abstractmethod
    def read_file(self, device: str, partition: str, name_hash: str, name: str,
                  chunk_size: int = 65536) -> StoredFile:
        """One current file of an object, for sending; DiskFileNotExist if gone."""

    @abc.abstractmethod
    def receive_file(self, device: str, partition: str, name_hash: str, name: str,
                     metadata: dict[str, str], chunks: Iterable[bytes]) -> bool:
        """Store a replicated file unless newer state is already here.

        A ``.data`` whose bytes do not match its Content-Length and ETag
        raises :class:`ObjectFileInvalid` and leaves nothing behind.  Returns
        whether the file was stored.
        """

    @abc.abstractmethod
    def remove_files(self, device: str, partition: str, name_hash: str,
                     names: Iterable[str]) -> None:
        """Forget files another node now holds (a handoff drained); prunes empty dirs."""

    def remove_partition_if_empty(self, device: str, partition: str) -> bool:
        """Drop an emptied partition's bookkeeping; True when nothing is left."""
        return not self.list_suffixes(device, partition)


def check_received_data(name: str, metadata: dict[str, str], md5_hex: str,
                        crc32: int, length: int) -> dict[str, str]:
    """A replicated file must carry what its metadata promises, or it is refused.

    Returns the metadata to store.  The MD5 is checked in full (the copy is
    only as good as this check); a ``.data`` also gets the CRC32 whole reads
    check here: the sender's when it stored one (it must match the bytes, or
    every read here would quarantine the copy), else the one just computed
    (a file written before CRCs were stored gains one).
    """
    if not name.endswith(".data"):
        if length:
            raise ObjectFileInvalid("%s: a %s file carries no bytes" % (name, name[-5:]))
        return metadata
    if str(length) != metadata.get("Content-Length"):
        raise ObjectFileInvalid("%s: %d bytes, Content-Length %r"
                                % (name, length, metadata.get("Content-Length")))
    expected = metadata.get("ETag", "").strip('"')
    if expected != md5_hex:
        raise ObjectFileInvalid("%s: MD5 %s, ETag %r" % (name, md5_hex, expected))
    if integrity.CRC_KEY in metadata:
        if metadata[integrity.CRC_KEY] != integrity.crc_value(crc32, md5_hex):
            raise ObjectFileInvalid("%s: CRC32 %08x and ETag %s, stored %r" % (
                name, crc32, md5_hex, metadata[integrity.CRC_KEY]))
        return metadata
    return integrity.with_crc(metadata, crc32, md5_hex)
