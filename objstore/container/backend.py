"""ContainerBroker: one container's object rows and stats in its SQLite file.

One row per object name holds the newest thing the container heard about it:
a live object (size, content type, etag) or a tombstone (``deleted = 1``)
kept until reclaim age so a replica that missed the delete cannot bring the
object back.  A newer row replaces the old one (delete + insert, never
UPDATE) so the changed row gets a new ROWID and replication picks it up.

Object count and bytes used per storage policy live in ``policy_stat`` and
are kept exact by triggers on every insert and delete of a live row, so HEAD
never scans and the numbers cannot drift from the rows.
"""
from __future__ import annotations

import sqlite3
from typing import Any, Mapping, Optional

from objstore.common.db import _INFO_COMMON_COLUMNS, DatabaseBroker, db_path, ts_text
from objstore.common.db_replica import new_db_id
from objstore.common.db_group_commit import GroupCommit
from objstore.common.listing_format import ObjectEntry
from objstore.common.path_hash import PathHasher
from objstore.common.timestamp import Timestamp

DATADIR = "containers"

_SCHEMA = """
CREATE TABLE object (
    ROWID INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    content_type TEXT NOT NULL DEFAULT '',
    etag TEXT NOT NULL DEFAULT '',
    deleted INTEGER NOT NULL DEFAULT 0,
    storage_policy_index INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ix_object_name ON object (name);
CREATE INDEX ix_object_deleted_name ON object (deleted, name);
CREATE TABLE policy_stat (
    storage_policy_index INTEGER PRIMARY KEY,
    object_count INTEGER NOT NULL DEFAULT 0,
    bytes_used INTEGER NOT NULL DEFAULT 0
);
CREATE TRIGGER object_insert AFTER INSERT ON object WHEN new.deleted = 0
BEGIN
    INSERT INTO policy_stat (storage_policy_index, object_count, bytes_used)
    VALUES (new.storage_policy_index, 1, new.size)
    ON CONFLICT(storage_policy_index) DO UPDATE SET
        object_count = object_count + 1, bytes_used = bytes_used + new.size;
END;
CREATE TRIGGER object_delete AFTER DELETE ON object WHEN old.deleted = 0
BEGIN
    UPDATE policy_stat SET object_count = object_count - 1,
        bytes_used = bytes_used - old.size
    WHERE storage_policy_index = old.storage_policy_index;
END;
CREATE TRIGGER object_no_update BEFORE UPDATE ON object
BEGIN
    SELECT RAISE(FAIL, 'object rows are replaced, never updated in place');
END;
CREATE TABLE container_info (
    account TEXT NOT NULL,
    container TEXT NOT NULL,
    %s,
    storage_policy_index INTEGER NOT NULL DEFAULT 0,
    reported_put_timestamp TEXT NOT NULL DEFAULT '0',
    reported_delete_timestamp TEXT NOT NULL DEFAULT '0',
    reported_object_count INTEGER NOT NULL DEFAULT -1,
    reported_bytes_used INTEGER NOT NULL DEFAULT -1,
    x_container_sync_point1 INTEGER NOT NULL DEFAULT -1,
    x_container_sync_point2 INTEGER NOT NULL DEFAULT -1
);
""" % _INFO_COMMON_COLUMNS.strip().rstrip(",")

_ROW_COLUMNS = ("name", "created_at", "size", "content_type", "etag", "deleted",
                "storage_policy_index")


def container_db_path(hasher: PathHasher, device_path: str, partition: int | str,
                      account: str, container: str) -> str:
    """Where the container's database lives on a device."""
    return db_path(device_path, DATADIR, partition, str(hasher.hash_path(account, container)))


def _row_key(row: tuple) -> tuple:
    """Total order used to pick the winner of two rows for one name.

    The timestamp decides; exact ties are broken by the row's content so every
    replica picks the same winner whatever order the rows arrived in.
    """
    return (row[1], row[5], row[2], row[4], row[3], row[6])


class ContainerBroker(DatabaseBroker):
    db_type = "container"
    datadir = DATADIR
    item_table = "object"
    info_table = "container_info"

    @classmethod
    def for_container(cls, hasher: PathHasher, device_path: str, partition: int | str,
                      account: str, container: str,
                      timeout: float = 25.0,
                      group_commit: Optional[GroupCommit] = None) -> "ContainerBroker":
        return cls(container_db_path(hasher, device_path, partition, account, container),
                   timeout=timeout, account=account, container=container,
                   group_commit=group_commit)

    # -- creation ------------------------------------------------------
    def _create_tables(self) -> str:
        return _SCHEMA

    def _insert_info(self, conn: sqlite3.Connection, put_ts: str, info: Mapping[str, Any]) -> None:
        account = info.get("account", self.account)
        container = info.get("container", self.container)
        if not account or not container:
            raise ValueError("a container database needs account and container names")
        conn.execute(
            "INSERT INTO container_info (account, container, created_at, put_timestamp, "
            "status_changed_at, id, storage_policy_index) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (account, container, Timestamp.now().internal, put_ts, put_ts, new_db_id(),
             int(info.get("storage_policy_index", 0))))

    # -- info ----------------------------------------------------------
    def _totals(self, conn: sqlite3.Connection) -> dict[str, Any]:
        row = conn.execute("SELECT COALESCE(SUM(object_count), 0), "
                           "COALESCE(SUM(bytes_used), 0) FROM policy_stat").fetchone()
        return {"object_count": row[0], "bytes_used": row[1]}

    def info_is_deleted(self, info: Mapping[str, Any]) -> bool:
        return (Timestamp(info["delete_timestamp"]) > Timestamp(info["put_timestamp"])
                and not info.get("object_count"))

    def get_policy_stats(self) -> dict[int, dict[str, int]]:
        """``{policy_index: {"object_count", "bytes_used"}}`` for policies with rows."""
        with self.get() as conn:
            return {r[0]: {"object_count": r[1], "bytes_used": r[2]} for r in conn.execute(
                "SELECT storage_policy_index, object_count, bytes_used FROM policy_stat")}

    def empty(self) -> bool:
        """True when the container holds no live object."""
        with self.get() as conn:
            return not conn.execute("SELECT 1 FROM object INDEXED BY ix_object_deleted_name "
                                    "WHERE deleted = 0 LIMIT 1").fetchone()

    def set_storage_policy_index(self, policy_index: int, timestamp: Any = None) -> None:
        """Change the policy of a container that has no live objects (re-created)."""
        with self.transaction() as conn:
            conn.execute("UPDATE container_info SET storage_policy_index = ?",
                         (int(policy_index),))
            if timestamp is not None:
                conn.execute("UPDATE container_info SET status_changed_at = ?",
                             (ts_text(timestamp),))

    def reported(self, put_timestamp: Any, delete_timestamp: Any, object_count: int,
                 bytes_used: int) -> None:
        """Remember what the account servers were last told (the updater skips unchanged DBs)."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE container_info SET reported_put_timestamp = ?, "
                "reported_delete_timestamp = ?, reported_object_count = ?, "
                "reported_bytes_used = ?",
                (ts_text(put_timestamp), ts_text(delete_timestamp), int(object_count),
                 int(bytes_used)))

    def set_x_container_sync_points(self, point1: Optional[int], point2: Optional[int]) -> None:
        with self.transaction() as conn:
            if point1 is not None:
                conn.execute("UPDATE container_info SET x_container_sync_point1 = ?", (point1,))
            if point2 is not None:
                conn.execute("UPDATE container_info SET x_container_sync_point2 = ?", (point2,))

    # -- rows ----------------------------------------------------------
    def put_object(self, name: str, timestamp: Any, size: int, content_type: str, etag: str,
                   deleted: int = 0, storage_policy_index: int = 0) -> bool:
        """Record an object PUT (or, with ``deleted=1``, a DELETE); True if the row changed."""
        return bool(self.merge_items([{
            "name": name, "created_at": timestamp, "size": size,
            "content_type": content_type, "etag": etag, "deleted": deleted,
            "storage_policy_index": storage_policy_index}]))

    def delete_object(self, name: str, timestamp: Any, storage_policy_index: int = 0) -> bool:
        return self.put_object(name, timestamp, 0, "", "", deleted=1,
                               storage_policy_index=storage_policy_index)

    def _merge_rows(self, conn: sqlite3.Connection, rows: list[Mapping[str, Any]]) -> int:
        # Normalise, then keep only the winning row per name within the batch.
        winners: dict[str, tuple] = {}
        for item in rows:
            deleted = 1 if int(item.get("deleted", 0) or 0) else 0
            row = (str(item["name"]), ts_text(item["created_at"]),
                   0 if deleted else int(item.get("size", 0) or 0),
                   str(item.get("content_type") or ""), str(item.get("etag") or ""),
                   deleted, int(item.get("storage_policy_index", 0) or 0))
            if row[2] < 0:
                raise ValueError("object size must not be negative")
            current = winners.get(row[0])
            if current is None or _row_key(row) > _row_key(current):
                winners[row[0]] = row
        existing = self._existing_rows(conn, list(winners), ", ".join(_ROW_COLUMNS[1:]))
        changed = 0
        for name, row in winners.items():
            old = existing.get(name)
            if old is not None:
                if _row_key(row) <= _row_key(old):
                    continue
                conn.execute("DELETE FROM object WHERE name = ?", (name,))
            conn.execute("INSERT INTO object (name, created_at, size, content_type, etag, "
                         "deleted, storage_policy_index) VALUES (?, ?, ?, ?, ?, ?, ?)", row)
            changed += 1
        return changed

    def get_object_row(self, name: str) -> Optional[dict[str, Any]]:
        """The stored row for ``name`` (live or tombstone), or None."""
        with self.get() as conn:
            cursor = conn.execute("SELECT ROWID, * FROM object WHERE name = ?", (name,))
            row = cursor.fetchone()
            if row is None:
                return None
            return dict(zip([c[0] for c in cursor.description], row))

    def _reclaim_items(self, conn: sqlite3.Connection, age: str) -> int:
        cursor = conn.execute("DELETE FROM object WHERE deleted = 1 AND created_at < ?", (age,))
        return cursor.rowcount

    # -- listing -------------------------------------------------------
    def list_objects_iter(self, limit: int, marker: str = "", end_marker: str = "",
                          prefix: str = "", delimiter: str = "", path: Optional[str] = None,
                          reverse: bool = False, show_reserved: bool = True,
                          plain_rows: bool = False, names_only: bool = False) -> list:
        """A page of :class:`ObjectEntry` and ``SubdirEntry`` in Swift order (UTF-8 bytes).

        With ``plain_rows`` each object is the plain tuple of ObjectEntry's
        fields (:data:`ObjectRow`): the server renders a page of 10,000
        without building a namedtuple for each.  With ``names_only`` it is
        the 1-tuple ``(name,)``: a plain text listing needs nothing else,
        and the name index alone answers it, without a table lookup per row.
        """
        if names_only:
            return self._list_rows("name", None, limit, marker, end_marker, prefix, delimiter,
                                   path, reverse, show_reserved)
        return self._list_rows("name, created_at, size, content_type, etag",
                               None if plain_rows else ObjectEntry._make, limit, marker,
                               end_marker, prefix, delimiter, path, reverse, show_reserved)
