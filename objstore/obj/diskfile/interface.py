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
from typing import Iterator, Optional

from objstore.common.storage_policy import StoragePolicy
from objstore.common.timestamp import Timestamp
from objstore.obj.diskfile.async_pending import AsyncUpdate


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


class DiskFileWriter(abc.ABC):
    """Streams one new ``.data``; nothing is visible until :meth:`put` returns."""

    def __init__(self) -> None:
        self._md5 = hashlib.md5(usedforsecurity=False)
        self.bytes_written = 0
        self.committed = False

    @property
    def etag(self) -> str:
        """MD5 hex digest of the bytes written so far."""
        return self._md5.hexdigest()

    def write(self, chunk: bytes) -> None:
        if chunk:
            self._md5.update(chunk)
            self.bytes_written += len(chunk)
            self._write(chunk)

    @abc.abstractmethod
    def _write(self, chunk: bytes) -> None:
        """Append ``chunk`` to the pending file."""

    @abc.abstractmethod
    def put(self, metadata: dict[str, str]) -> None:
        """Make the file durable and visible; ``metadata['X-Timestamp']`` names it."""

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
    def open(self, now: Optional[float] = None) -> "DiskFile":
        """Pick the current files; raise DiskFileNotExist and friends."""

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
        """Yield bytes ``[start, end)``; a whole-file read checks the ETag.

        A whole read whose MD5 differs from the stored ETag quarantines the
        object: this client already got the bad bytes, the next one gets a 404
        and the proxy goes to another replica.
        """
        length = self.content_length
        end = length if end is None else min(end, length)
        whole = start == 0 and end == length
        md5 = hashlib.md5(usedforsecurity=False) if whole else None
        seen = 0
        for chunk in self._iter_range(start, end, chunk_size):
            if md5 is not None:
                md5.update(chunk)
                seen += len(chunk)
            yield chunk
        if md5 is not None:
            expected = self.data_metadata.get("ETag", "").strip('"')
            if seen != length or (expected and md5.hexdigest() != expected):
                self.quarantine("checksum mismatch on read: got %s, stored %s"
                                % (md5.hexdigest(), expected))

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

    def __init__(self, policy: Optional[StoragePolicy] = None) -> None:
        self.policy = policy or StoragePolicy(index=0, default=True)

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
    def list_devices(self) -> list[str]:
        """Devices this node can use now (for daemons)."""

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

