"""One SQLite file per account or container: the part every broker shares.

A broker owns one database file at
``devices/<dev>/{accounts,containers}/<part>/<suffix>/<hash>/<hash>.db``.
The subclasses (``ContainerBroker``, ``AccountBroker``) add their row table;
this module holds what both need: durable creation, the ``info`` row with the
put/delete timestamps, metadata with a timestamp per key, newest-wins merging
of rows in any order, the row-id cursor replication reads from, reclaiming
old tombstones, checking integrity and moving a corrupt file to quarantine.
Sync points, the content hash and whole copies for replication are mixed in
from :mod:`objstore.common.db_replica`.

Journal mode: write-ahead log (``journal_mode=WAL``, set once when the file
is created and remembered in its header) with ``synchronous=FULL``: a commit
appends to the ``-wal`` file and fsyncs it once, so a 2xx answer means the row
is on disk.  Measured on this project's machine a commit costs about 0.2 ms
against 1.1 ms with the rollback journal (which fsyncs the journal and the
file), and readers (listings, the updater) never block the writer.  The price:
the database is the ``.db`` file *plus* its ``-wal`` file.  Quarantine moves
the whole hash directory, so both go together; whoever copies a database
whole (the replicator) first calls :meth:`DatabaseBroker.checkpoint`, which
folds the log into the ``.db`` file and truncates it.

Concurrency: sqlite calls block the eventlet hub, so each call is kept short
(one indexed statement or one small transaction).  A broker holds one
connection, opened on first use, guarded by a lock so two green threads that
share a broker never interleave statements in one transaction.  Another
process (another worker, the replicator) may hold the write lock: SQLite's
own busy wait is a C sleep that would stall every green thread, so it is kept
to ``BUSY_WAIT_MS``, and taking the write lock (``BEGIN IMMEDIATE``) is
retried with green sleeps until the broker's ``timeout`` runs out
(:class:`DatabaseBusy`, which the servers answer with 503).  A commit alone
is cheap on an idle disk, but its fsync takes milliseconds on a busy one:
a server that hands its brokers a :class:`GroupCommit` merges concurrent
row updates in one transaction whose COMMIT runs in a real thread.
"""
from __future__ import annotations

import abc

import contextlib
import json
import os
import sqlite3
import threading
import time
import uuid
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional

from objstore.common.durable_fs import (fsync_dir, makedirs_durably, mkdirs, renamer,
                                        unlink_quietly)
from objstore.common.concurrency import sleep as green_sleep
from objstore.common.concurrency import tpool_execute
from objstore.common.db_connections import FileIdentity, IdleDbConnections, file_identity
from objstore.common.db_group_commit import GroupCommit
from objstore.common.db_files import DbFile, iter_db_files
from objstore.common.db_listing import list_rows
from objstore.common.db_replica import ReplicaMixin
from objstore.common.timestamp import Timestamp

DEFAULT_DB_TIMEOUT = 25.0
# Longest stall SQLite's C-level busy handler may impose on the hub per attempt.
BUSY_WAIT_MS = 50
BUSY_RETRY_SLEEP = 0.02
DB_SCHEMA_VERSION = 1
# Rows are fetched in chunks this size when merging (SQLite's default
# SQLITE_MAX_VARIABLE_NUMBER is 32766 on 3.32+, 999 before).
MERGE_LOOKUP_CHUNK = 500


class DatabaseError(Exception):
    """Base for broker errors the servers translate into HTTP answers."""


class DatabaseNotFound(DatabaseError):
    """The database file does not exist (the server answers 404)."""


class DatabaseBusy(DatabaseError):
    """Another process held the file lock longer than ``timeout`` (answer 503)."""


class DatabaseAlreadyExists(DatabaseError):
    """``initialize`` found a database already in place."""


class DatabaseQuarantined(DatabaseError):
    """The file was corrupt and has been moved to quarantine (answer 404)."""


def db_path(device_path: str, datadir: str, partition: int | str, name_hash: str) -> str:
    """``<device_path>/<datadir>/<part>/<suffix>/<hash>/<hash>.db``."""
    return os.path.join(device_path, datadir, str(partition), name_hash[-3:],
                        name_hash, name_hash + ".db")


def ts_text(value: Any) -> str:
    """A timestamp as stored in every DB column: its internal string form.

    Internal forms are fixed width (10.5 digits, then ``_`` and 16 hex digits
    when there is an offset), so SQL compares them correctly as text.
    """
    return Timestamp(value).internal


_ZERO = Timestamp(0).internal

_INFO_COMMON_COLUMNS = """
    created_at TEXT NOT NULL,
    put_timestamp TEXT NOT NULL DEFAULT '0000000000.00000',
    delete_timestamp TEXT NOT NULL DEFAULT '0000000000.00000',
    status_changed_at TEXT NOT NULL DEFAULT '0000000000.00000',
    id TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    schema_version INTEGER NOT NULL DEFAULT 1
"""

_SYNC_TABLES = """
CREATE TABLE outgoing_sync (
    remote_id TEXT PRIMARY KEY,
    sync_point INTEGER NOT NULL,
    updated_at TEXT NOT NULL DEFAULT '0'
);
CREATE TABLE incoming_sync (
    remote_id TEXT PRIMARY KEY,
    sync_point INTEGER NOT NULL,
    updated_at TEXT NOT NULL DEFAULT '0'
);
"""


def _is_busy(err: BaseException) -> bool:
    text = str(err).lower()
    return "locked" in text or "busy" in text


def _is_corruption(err: BaseException) -> bool:
    text = str(err).lower()
    return any(marker in text for marker in (
        "malformed", "not a database", "file is encrypted", "disk image",
        "no such table"))


class DatabaseBroker(ReplicaMixin, abc.ABC):
    """Shared machinery of the account and container databases.

    Subclasses set ``db_type`` (``container``/``account``), ``datadir``
    (``containers``/``accounts``), ``item_table`` and implement
    ``_create_tables``, ``_merge_rows`` and ``_reclaim_items``.
    """

    db_type = ""
    datadir = ""
    item_table = ""
    info_table = ""

    def __init__(self, db_file: str, timeout: float = DEFAULT_DB_TIMEOUT,
                 account: Optional[str] = None, container: Optional[str] = None,
                 group_commit: Optional[GroupCommit] = None, scratch: bool = False,
                 connections: Optional[IdleDbConnections] = None):
        self.db_file = db_file
        # A server's kept connections: this broker takes one instead of
        # opening the file, and release() gives it back.
        self.connections = connections
        # A server's GroupCommit lets concurrent row merges share one COMMIT.
        self.group_commit = group_commit
        # A scratch file (an uploaded copy being checked) lies outside the
        # layout: a corrupt one is refused, there is no hash directory to quarantine.
        self.scratch = scratch
        self.timeout = timeout
        self.account = account
        self.container = container
        self._conn: Optional[sqlite3.Connection] = None
        self._conn_identity: Optional[FileIdentity] = None
        self._lock = threading.RLock()

    # -- paths ---------------------------------------------------------
    @property
    def db_dir(self) -> str:
        return os.path.dirname(self.db_file)

    @property
    def device_path(self) -> str:
        """``devices/<dev>``: five levels above the file (hash, suffix, part, datadir)."""
        path = self.db_dir
        for _ in range(4):
            path = os.path.dirname(path)
        return path

    def exists(self) -> bool:
        return os.path.exists(self.db_file)

    @classmethod
    def iter_on_device(cls, device_path: str,
                       partition: Optional[int] = None) -> Iterator[DbFile]:
        """This kind's databases on one device (or one partition of it)."""
        return iter_db_files(device_path, cls.datadir, partition)

    # -- connections ---------------------------------------------------
    def _connect(self, path: str) -> sqlite3.Connection:
        conn = sqlite3.connect(path, timeout=self.timeout, isolation_level=None,
                               check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout = %d" % min(BUSY_WAIT_MS,
                                                          int(self.timeout * 1000)))
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA temp_store = MEMORY")
        except BaseException:
            conn.close()
            raise
        return conn

    @contextlib.contextmanager
    def get(self) -> Iterator[sqlite3.Connection]:
        """The broker's connection, held exclusively for the ``with`` block.

        A corrupt file is quarantined and :class:`DatabaseQuarantined` raised.
        """
        with self._lock:
            if self._conn is None:
                kept = self.connections.take(self.db_file) if self.connections else None
                if kept is not None:
                    self._conn, self._conn_identity = kept
                else:
                    # the identity is read before the open: should the file be
                    # replaced in between, it is stale and the connection is
                    # never kept, the safe way round
                    self._conn_identity = file_identity(self.db_file)
                    if self._conn_identity is None:
                        raise DatabaseNotFound(self.db_file)
                    self._conn = self._open()
            try:
                yield self._conn
            except sqlite3.DatabaseError as err:
                if self._conn.in_transaction:
                    try:
                        self._conn.rollback()
                    except sqlite3.Error:
                        pass
                self._maybe_quarantine(err)
                if isinstance(err, sqlite3.OperationalError) and _is_busy(err):
                    raise DatabaseBusy("%s: %s" % (self.db_file, err)) from err
                raise

    def _open(self) -> sqlite3.Connection:
        """Connect, waiting (green) while another process holds the file briefly.

        Opening a WAL database reads its shared index; the last connection
        of another process to close checkpoints and removes the log under an
        exclusive lock, so an open can meet "database is locked" on a healthy
        file: that is waited out, never taken for corruption.
        """
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                return self._connect(self.db_file)
            except sqlite3.OperationalError as err:
                if not _is_busy(err):
                    self._maybe_quarantine(err)
                    raise
                if time.monotonic() >= deadline:
                    raise DatabaseBusy("%s: %s" % (self.db_file, err)) from err
            except sqlite3.DatabaseError as err:
                self._maybe_quarantine(err)
                raise
            green_sleep(BUSY_RETRY_SLEEP)

    @contextlib.contextmanager
    def transaction(self, commit_in_thread: bool = False) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` (rollback on error) under the broker lock.

        ``commit_in_thread`` runs the COMMIT (its fsync) in a real thread so
        the hub serves other requests meanwhile; readers of the file are not
        blocked by it (WAL), other writers wait for the lock as always.
        """
        with self.get() as conn:
            self._begin_immediate(conn)
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.rollback()
                raise
            if commit_in_thread:
                tpool_execute(conn.execute, "COMMIT")
            else:
                conn.execute("COMMIT")

    def _begin_immediate(self, conn: sqlite3.Connection) -> None:
        """Take the write lock, yielding to other green threads while another process has it."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as err:
                if not _is_busy(err) or time.monotonic() >= deadline:
                    raise
            green_sleep(BUSY_RETRY_SLEEP)

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the ``.db`` file (before copying the file whole)."""
        with self.get() as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def release(self) -> None:
        """Done with this broker: its connection goes back to the server's
        kept connections (closed when there are none)."""
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                if self.connections is not None:
                    self.connections.give(self.db_file, conn, self._conn_identity)
                else:
                    conn.close()

    def _maybe_quarantine(self, err: BaseException) -> None:
        if _is_corruption(err) and not self.scratch:
            self.quarantine(str(err))
            raise DatabaseQuarantined("%s quarantined: %s" % (self.db_file, err)) from err

    def quarantine(self, reason: str = "") -> str:
        """Move the hash directory to ``devices/<dev>/quarantined/<datadir>/<hash>``.

        A corrupt database is never deleted: an operator (or a later
        replication pass from a good copy) decides what to keep.
        """
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.close()
                finally:
                    self._conn = None
        name_hash = os.path.basename(self.db_dir)
        target = os.path.join(self.device_path, "quarantined", self.datadir, name_hash)
        if os.path.exists(target):
            target += "-" + uuid.uuid4().hex
        renamer(self.db_dir, target)
        return target

    # -- creation ------------------------------------------------------
    def initialize(self, put_timestamp: Any = None, **info: Any) -> None:
        """Create the database durably: build it in ``devices/<dev>/tmp``, fsync, rename.

        ``info`` carries the subclass's identity fields (``account``,
        ``container``, ``storage_policy_index``).  Raises
        :class:`DatabaseAlreadyExists` when another request won the race.
        """
        if os.path.exists(self.db_file):
            raise DatabaseAlreadyExists(self.db_file)
        put_ts = ts_text(put_timestamp if put_timestamp is not None else Timestamp.now())
        tmp_dir = os.path.join(self.device_path, "tmp")
        mkdirs(tmp_dir)
        tmp_path = os.path.join(tmp_dir, "%s.db.%s" % (self.db_type, uuid.uuid4().hex))
        conn = self._connect(tmp_path)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            # The file is private until it is linked into place below, so the
            # schema script may commit on its own.
            conn.executescript(self._create_tables() + _SYNC_TABLES)
            conn.execute("BEGIN")
            self._insert_info(conn, put_ts, info)
            conn.execute("COMMIT")
        except BaseException:
            conn.close()
            for leftover in (tmp_path, tmp_path + "-wal", tmp_path + "-shm"):
                unlink_quietly(leftover)
            raise
        conn.close()
        with open(tmp_path, "rb+") as handle:
            os.fsync(handle.fileno())
        if os.path.exists(self.db_file):
            unlink_quietly(tmp_path)
            raise DatabaseAlreadyExists(self.db_file)
        makedirs_durably(self.db_dir)
        # link() fails if a racing creator got there first; rename would clobber it.
        try:
            os.link(tmp_path, self.db_file)
        except FileExistsError:
            unlink_quietly(tmp_path)
            raise DatabaseAlreadyExists(self.db_file) from None
        unlink_quietly(tmp_path)
        fsync_dir(self.db_dir)
        if account := info.get("account"):
            self.account = account
        if container := info.get("container"):
            self.container = container

    @abc.abstractmethod
    def _create_tables(self) -> str:
        """Each broker does this for its own tables."""

    @abc.abstractmethod
    def _insert_info(self, conn: sqlite3.Connection, put_ts: str, info: Mapping[str, Any]) -> None:
        """Each broker does this for its own tables."""

    # -- info row ------------------------------------------------------
    def _info_row(self, conn: sqlite3.Connection) -> dict[str, Any]:
        cursor = conn.execute("SELECT * FROM %s" % self.info_table)
        names = [col[0] for col in cursor.description]
        row = cursor.fetchone()
        if row is None:
            raise DatabaseQuarantined("%s has no info row" % self.db_file)
        return dict(zip(names, row))

    def get_info(self) -> dict[str, Any]:
        """The info row plus totals; timestamps as internal strings."""
        with self.get() as conn:
            info = self._info_row(conn)
            info.update(self._totals(conn))
            info["max_row"] = self._max_row(conn)
        info.pop("metadata", None)
        return info

    def _totals(self, conn: sqlite3.Connection) -> dict[str, Any]:
        return {}

    def _max_row(self, conn: sqlite3.Connection) -> int:
        row = conn.execute("SELECT MAX(ROWID) FROM %s" % self.item_table).fetchone()
        return row[0] if row and row[0] is not None else -1

    def is_deleted(self) -> bool:
        """True when there is no database or its delete outranks its put and it is empty."""
        if not self.exists():
            return True
        info = self.get_info()
        return self.info_is_deleted(info)

    def info_is_deleted(self, info: Mapping[str, Any]) -> bool:
        return Timestamp(info["delete_timestamp"]) > Timestamp(info["put_timestamp"])

    def update_put_timestamp(self, timestamp: Any) -> bool:
        """Raise the put timestamp if ``timestamp`` is newer; True if it changed."""
        return self._raise_timestamp("put_timestamp", timestamp)

    def update_delete_timestamp(self, timestamp: Any) -> bool:
        return self._raise_timestamp("delete_timestamp", timestamp)

    def _raise_timestamp(self, column: str, timestamp: Any) -> bool:
        new_ts = ts_text(timestamp)
        with self.transaction() as conn:
            info = self._info_row(conn)
            if Timestamp(info[column]) >= Timestamp(new_ts):
                return False
            was_deleted = self.info_is_deleted(dict(info, **self._totals(conn)))
            conn.execute("UPDATE %s SET %s = ?" % (self.info_table, column), (new_ts,))
            info[column] = new_ts
            now_deleted = self.info_is_deleted(dict(info, **self._totals(conn)))
            if was_deleted != now_deleted:
                changed_at = max(Timestamp(new_ts), Timestamp(info["status_changed_at"]))
                conn.execute("UPDATE %s SET status_changed_at = ?" % self.info_table,
                             (changed_at.internal,))
        return True

    # -- metadata ------------------------------------------------------
    def get_raw_metadata(self) -> dict[str, list]:
        """``{key: [value, timestamp]}`` including deleted (empty-valued) keys."""
        with self.get() as conn:
            row = conn.execute("SELECT metadata FROM %s" % self.info_table).fetchone()
        return json.loads(row[0]) if row and row[0] else {}

    @property
    def metadata(self) -> dict[str, tuple[str, str]]:
        """Live metadata ``{key: (value, timestamp)}``; keys whose value is empty are gone."""
        return {key: (pair[0], pair[1]) for key, pair in self.get_raw_metadata().items()
                if pair[0] != ""}

    def update_metadata(self, updates: Mapping[str, tuple[str, Any]]) -> None:
        """Merge ``{key: (value, timestamp)}``: per key, the newest timestamp wins.

        An empty value deletes the key.  The empty entry is kept (hidden from
        :attr:`metadata`) until :meth:`reclaim` so an older value arriving
        later by replication cannot bring the key back.
        """
        if not updates:
            return
        with self.transaction() as conn:
            row = conn.execute("SELECT metadata FROM %s" % self.info_table).fetchone()
            current = json.loads(row[0]) if row and row[0] else {}
            changed = False
            for key, (value, timestamp) in updates.items():
                new_ts = Timestamp(timestamp)
                old = current.get(key)
                if old is None or Timestamp(old[1]) < new_ts:
                    current[key] = [str(value), new_ts.internal]
                    changed = True
            if changed:
                conn.execute("UPDATE %s SET metadata = ?" % self.info_table,
                             (json.dumps(current, ensure_ascii=False, sort_keys=True),))

    # -- rows ----------------------------------------------------------
    def merge_items(self, rows: Iterable[Mapping[str, Any]], source: Optional[str] = None) -> int:
        """Merge rows (dicts as :meth:`get_items_since` returns them); newest wins per name.

        Idempotent and order independent.  A changed row gets a new ROWID so
        :meth:`get_items_since` hands it to replication again.  With
        ``source`` (a remote database id) the incoming sync point advances to
        the highest ``ROWID`` seen in the batch.  Returns the number of rows
        that changed.
        """
        rows = list(rows)
        if not rows:
            return 0

        def merge(conn: sqlite3.Connection) -> int:
            changed = self._merge_rows(conn, rows)
            if source:
                max_rowid = max((r.get("ROWID", -1) for r in rows), default=-1)
                if max_rowid >= 0:
                    self._merge_sync_point(conn, "incoming_sync", source, max_rowid)
            return changed

        if self.group_commit is not None:
            return self.group_commit.submit(self.db_file, merge, self._run_merges)
        with self.transaction() as conn:
            return merge(conn)

    def _run_merges(self, jobs: list[Callable[[sqlite3.Connection], Any]]
                    ) -> list[tuple[bool, Any]]:
        """Run a group's merges in one transaction, each in a savepoint of its own.

        A merge that raises (a bad row) is rolled back alone and its request
        fails; a database error aborts the whole transaction and every member.
        """
        outcomes: list[tuple[bool, Any]] = []
        with self.transaction(commit_in_thread=True) as conn:
            for job in jobs:
                conn.execute("SAVEPOINT merge_job")
                try:
                    outcomes.append((True, job(conn)))
                except sqlite3.DatabaseError:
                    raise
                except Exception as err:  # noqa: BLE001 - handed back to its own request
                    conn.execute("ROLLBACK TO merge_job")
                    outcomes.append((False, err))
                conn.execute("RELEASE merge_job")
        return outcomes

    @abc.abstractmethod
    def _merge_rows(self, conn: sqlite3.Connection, rows: list[Mapping[str, Any]]) -> int:
        """Each broker does this for its own tables."""

    def _existing_rows(self, conn: sqlite3.Connection, names: list[str],
                       columns: str) -> dict[str, tuple]:
        """Current rows for ``names``, looked up in chunks, keyed by name."""
        found: dict[str, tuple] = {}
        for start in range(0, len(names), MERGE_LOOKUP_CHUNK):
            chunk = names[start:start + MERGE_LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            for row in conn.execute("SELECT name, %s FROM %s WHERE name IN (%s)" % (
                    columns, self.item_table, marks), chunk):
                found[row[0]] = row
        return found

    def get_items_since(self, row_id: int, count: int) -> list[dict[str, Any]]:
        """Up to ``count`` rows with ``ROWID > row_id`` in ROWID order (for replication)."""
        with self.get() as conn:
            cursor = conn.execute(
                "SELECT ROWID, * FROM %s WHERE ROWID > ? ORDER BY ROWID LIMIT ?" % self.item_table,
                (row_id, count))
            names = [col[0] for col in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]

    # -- listings ------------------------------------------------------
    def _list_rows(self, columns: str, make_entry: Optional[Callable[[tuple], Any]], limit: int,
                   marker: str = "", end_marker: str = "", prefix: str = "",
                   delimiter: str = "", path: Optional[str] = None,
                   reverse: bool = False, show_reserved: bool = True) -> list[Any]:
        """A listing page of this broker's rows; see :func:`db_listing.list_rows`."""
        with self.get() as conn:
            return list_rows(conn, self.item_table, columns, make_entry, limit, marker,
                             end_marker, prefix, delimiter, path, reverse, show_reserved)

    # -- integrity -----------------------------------------------------
    def integrity_problem(self, full: bool = False) -> Optional[str]:
        """What is wrong with the file, or None: SQLite's own check, then the schema.

        ``quick_check`` skips index-versus-table comparisons; ``full`` runs
        ``integrity_check``, which also reads every index.
        """
        pragma = "integrity_check" if full else "quick_check"
        try:
            with self.get() as conn:
                result = [row[0] for row in conn.execute("PRAGMA %s" % pragma)]
                if result != ["ok"]:
                    return "%s: %s" % (pragma, "; ".join(map(str, result[:5])))
                tables = {row[0] for row in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'")}
                missing = {self.item_table, self.info_table, "incoming_sync",
                           "outgoing_sync"} - tables
                if missing:
                    return "missing tables %s" % ", ".join(sorted(missing))
                rows = conn.execute("SELECT COUNT(*) FROM %s" % self.info_table).fetchone()[0]
                if rows != 1:
                    return "%d rows in %s" % (rows, self.info_table)
        except sqlite3.OperationalError as err:
            # I/O trouble or a lock is no verdict on the file's content.
            if self.scratch and _is_corruption(err):
                return str(err)
            raise DatabaseError("%s: %s" % (self.db_file, err)) from err
        except sqlite3.DatabaseError as err:
            return str(err)
        return None

    # -- reclaim -------------------------------------------------------
    def reclaim(self, age_timestamp: Any) -> int:
        """Drop tombstone rows and deleted metadata keys older than ``age_timestamp``.

        Returns the number of rows removed.  Tombstones must outlive the
        longest time a replica can be away, or a stale replica would bring the
        row back; that is what reclaim age (a week by default) is for.
        """
        age = ts_text(age_timestamp)
        with self.transaction() as conn:
            removed = self._reclaim_items(conn, age)
            row = conn.execute("SELECT metadata FROM %s" % self.info_table).fetchone()
            current = json.loads(row[0]) if row and row[0] else {}
            kept = {k: v for k, v in current.items()
                    if v[0] != "" or Timestamp(v[1]) >= Timestamp(age)}
            if len(kept) != len(current):
                conn.execute("UPDATE %s SET metadata = ?" % self.info_table,
                             (json.dumps(kept, ensure_ascii=False, sort_keys=True),))
        return removed

    @abc.abstractmethod
    def _reclaim_items(self, conn: sqlite3.Connection, age: str) -> int:
        """Each broker does this for its own tables."""
