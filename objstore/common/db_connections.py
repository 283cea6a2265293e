"""Open SQLite connections kept between requests, one database file at a time.

Opening a connection costs more than the small query or merge a container
update runs on it: the file is opened, the pragmas set and, on the first
statement, the whole schema (tables, indexes, triggers) parsed again.  A
server that keeps its recently used connections pays that once per file.

A kept connection is only handed out while the path still names the file it
was opened on (same device and inode): a replicated copy renamed over the
old one, a quarantined or reclaimed database, is never read through a
connection to its predecessor.  A connection in a transaction is never kept.
Damage done to a file under a kept connection (its pages cached) shows when
the file is next opened: after an idle spell, a restart, or by the auditor,
which opens every database afresh.
"""
from __future__ import annotations

import os
import sqlite3
import time
from collections import OrderedDict
from typing import Optional

# A container server's hot set is a few containers; this bounds the open
# files (and the space of deleted databases they may pin until evicted).
MAX_KEPT = 64
MAX_KEPT_PER_FILE = 2
MAX_IDLE_SECONDS = 60.0

FileIdentity = tuple[int, int]


def file_identity(path: str) -> Optional[FileIdentity]:
    """``(st_dev, st_ino)`` of ``path``, or None when nothing is there."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


class IdleDbConnections:
    """Idle connections by database path, most recently used last."""

    def __init__(self, max_kept: int = MAX_KEPT, max_per_file: int = MAX_KEPT_PER_FILE,
                 max_idle_seconds: float = MAX_IDLE_SECONDS) -> None:
        self.max_kept = max_kept
        self.max_per_file = max_per_file
        self.max_idle_seconds = max_idle_seconds
        self._kept: OrderedDict[str, list[tuple[float, FileIdentity, sqlite3.Connection]]] = \
            OrderedDict()
        self._count = 0
        self._pid = os.getpid()
        self._inherited: list = []

    def take(self, path: str) -> Optional[tuple[sqlite3.Connection, FileIdentity]]:
        """A kept connection to the file ``path`` names now, with its identity; or None."""
        self._forget_if_forked()
        stack = self._kept.get(path)
        if not stack:
            return None
        current = file_identity(path)
        now = time.monotonic()
        found = None
        while stack and found is None:
            since, identity, conn = stack.pop()
            self._count -= 1
            if identity == current and now - since < self.max_idle_seconds:
                found = (conn, identity)
            else:
                conn.close()
        if not stack:
            del self._kept[path]
        return found

    def give(self, path: str, conn: sqlite3.Connection, identity: Optional[FileIdentity]) -> None:
        """Keep ``conn`` (opened on the file with ``identity``) for the next request."""
        self._forget_if_forked()
        if identity is None or conn.in_transaction:
            conn.close()
            return
        stack = self._kept.setdefault(path, [])
        self._kept.move_to_end(path)
        if len(stack) >= self.max_per_file:
            stack.pop(0)[2].close()
            self._count -= 1
        stack.append((time.monotonic(), identity, conn))
        self._count += 1
        while self._count > self.max_kept:
            oldest_path, oldest = next(iter(self._kept.items()))
            oldest.pop(0)[2].close()
            self._count -= 1
            if not oldest:
                del self._kept[oldest_path]

    def clear(self) -> None:
        for stack in self._kept.values():
            for _since, _identity, conn in stack:
                conn.close()
        self._kept.clear()
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def _forget_if_forked(self) -> None:
        # A connection must not cross a fork: the child starts with none.
        # The parent's are set aside unclosed: closing one here could
        # checkpoint or unlink a log the parent is still using.
        if os.getpid() != self._pid:
            self._pid = os.getpid()
            self._inherited.append(self._kept)
            self._kept = OrderedDict()
            self._count = 0
