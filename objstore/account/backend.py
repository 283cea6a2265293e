"""AccountBroker: one account's container rows and totals in its SQLite file.

Each container server reports its container's put/delete timestamps and
object count/bytes; the account keeps one row per container name.  Merging
keeps the newest put timestamp and the newest delete timestamp independently
(so the order reports arrive in does not matter for whether a container
exists), and the counts of the report with the newest event (ties: the later
report, because the same container reports new counts under an unchanged put
timestamp).  Per-policy container/object/byte totals are kept exact by
triggers, so HEAD on an account never scans its rows.
"""
from __future__ import annotations

import sqlite3
from typing import Any, Mapping, Optional

from objstore.common.db import _INFO_COMMON_COLUMNS, DatabaseBroker, db_path, ts_text
from objstore.common.db_replica import new_db_id
from objstore.common.listing_format import ContainerEntry
from objstore.common.path_hash import PathHasher
from objstore.common.timestamp import Timestamp

DATADIR = "accounts"

_SCHEMA = """
CREATE TABLE container (
    ROWID INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    put_timestamp TEXT NOT NULL,
    delete_timestamp TEXT NOT NULL,
    object_count INTEGER NOT NULL DEFAULT 0,
    bytes_used INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    storage_policy_index INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ix_container_name ON container (name);
CREATE INDEX ix_container_deleted_name ON container (deleted, name);
CREATE TABLE policy_stat (
    storage_policy_index INTEGER PRIMARY KEY,
    container_count INTEGER NOT NULL DEFAULT 0,
    object_count INTEGER NOT NULL DEFAULT 0,
    bytes_used INTEGER NOT NULL DEFAULT 0
);
CREATE TRIGGER container_insert AFTER INSERT ON container WHEN new.deleted = 0
BEGIN
    INSERT INTO policy_stat (storage_policy_index, container_count, object_count, bytes_used)
    VALUES (new.storage_policy_index, 1, new.object_count, new.bytes_used)
    ON CONFLICT(storage_policy_index) DO UPDATE SET
        container_count = container_count + 1,
        object_count = object_count + new.object_count,
        bytes_used = bytes_used + new.bytes_used;
END;
CREATE TRIGGER container_delete AFTER DELETE ON container WHEN old.deleted = 0
BEGIN
    UPDATE policy_stat SET container_count = container_count - 1,
        object_count = object_count - old.object_count,
        bytes_used = bytes_used - old.bytes_used
    WHERE storage_policy_index = old.storage_policy_index;
END;
CREATE TRIGGER container_no_update BEFORE UPDATE ON container
BEGIN
    SELECT RAISE(FAIL, 'container rows are replaced, never updated in place');
END;
CREATE TABLE account_info (
    account TEXT NOT NULL,
    %s
);
""" % _INFO_COMMON_COLUMNS.strip().rstrip(",")

_ROW_COLUMNS = ("name", "put_timestamp", "delete_timestamp", "object_count", "bytes_used",
                "deleted", "storage_policy_index")


def account_db_path(hasher: PathHasher, device_path: str, partition: int | str,
                    account: str) -> str:
    return db_path(device_path, DATADIR, partition, str(hasher.hash_path(account)))


def _merge_container_rows(old: Optional[tuple], new: tuple) -> tuple:
    """The row to keep when ``new`` arrives for a name that holds ``old``.

    Rows are ``(name, put_ts, delete_ts, object_count, bytes_used, deleted, policy)``.
    """
    if old is None:
        merged = list(new)
    else:
        put_ts = max(old[1], new[1])
        delete_ts = max(old[2], new[2])
        # Counts (and policy) follow the report with the newest event; ties go
        # to the incoming report, which is the later one for a live container.
        new_event = max(new[1], new[2])
        old_event = max(old[1], old[2])
        source = new if new_event >= old_event else old
        policy_source = new if new[1] >= old[1] else old
        merged = [new[0], put_ts, delete_ts, source[3], source[4], 0, policy_source[6]]
    merged[5] = 1 if (merged[2] > merged[1] and not merged[3]) else 0
    return tuple(merged)


class AccountBroker(DatabaseBroker):
    db_type = "account"
    datadir = DATADIR
    item_table = "container"
    info_table = "account_info"

    @classmethod
    def for_account(cls, hasher: PathHasher, device_path: str, partition: int | str,
                    account: str, timeout: float = 25.0) -> "AccountBroker":
        return cls(account_db_path(hasher, device_path, partition, account), timeout=timeout,
                   account=account)

    def _create_tables(self) -> str:
        return _SCHEMA

    def _insert_info(self, conn: sqlite3.Connection, put_ts: str, info: Mapping[str, Any]) -> None:
        account = info.get("account", self.account)
        if not account:
            raise ValueError("an account database needs the account name")
        conn.execute("INSERT INTO account_info (account, created_at, put_timestamp, "
                     "status_changed_at, id) VALUES (?, ?, ?, ?, ?)",
                     (account, Timestamp.now().internal, put_ts, put_ts, new_db_id()))

    def _totals(self, conn: sqlite3.Connection) -> dict[str, Any]:
        row = conn.execute("SELECT COALESCE(SUM(container_count), 0), "
                           "COALESCE(SUM(object_count), 0), COALESCE(SUM(bytes_used), 0) "
                           "FROM policy_stat").fetchone()
        return {"container_count": row[0], "object_count": row[1], "bytes_used": row[2]}

    def get_policy_stats(self) -> dict[int, dict[str, int]]:
        """``{policy_index: {container_count, object_count, bytes_used}}``."""
        with self.get() as conn:
            return {r[0]: {"container_count": r[1], "object_count": r[2], "bytes_used": r[3]}
                    for r in conn.execute("SELECT storage_policy_index, container_count, "
                                          "object_count, bytes_used FROM policy_stat")}

    def empty(self) -> bool:
        with self.get() as conn:
            return not conn.execute("SELECT 1 FROM container INDEXED BY "
                                    "ix_container_deleted_name WHERE deleted = 0 "
                                    "LIMIT 1").fetchone()

    # -- rows ----------------------------------------------------------
    def put_container(self, name: str, put_timestamp: Any, delete_timestamp: Any,
                      object_count: int, bytes_used: int,
                      storage_policy_index: int = 0) -> bool:
        """Record a container report; True if the stored row changed."""
        return bool(self.merge_items([{
            "name": name, "put_timestamp": put_timestamp,
            "delete_timestamp": delete_timestamp, "object_count": object_count,
            "bytes_used": bytes_used, "storage_policy_index": storage_policy_index}]))

    def _merge_rows(self, conn: sqlite3.Connection, rows: list[Mapping[str, Any]]) -> int:
        winners: dict[str, tuple] = {}
        for item in rows:
            row = (str(item["name"]), ts_text(item.get("put_timestamp") or 0),
                   ts_text(item.get("delete_timestamp") or 0),
                   int(item.get("object_count") or 0), int(item.get("bytes_used") or 0), 0,
                   int(item.get("storage_policy_index") or 0))
            winners[row[0]] = _merge_container_rows(winners.get(row[0]), row)
        existing = self._existing_rows(conn, list(winners), ", ".join(_ROW_COLUMNS[1:]))
        changed = 0
        for name, row in winners.items():
            old = existing.get(name)
            merged = _merge_container_rows(old, row)
            if old is not None:
                if tuple(old) == merged:
                    continue
                conn.execute("DELETE FROM container WHERE name = ?", (name,))
            conn.execute("INSERT INTO container (name, put_timestamp, delete_timestamp, "
                         "object_count, bytes_used, deleted, storage_policy_index) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)", merged)
            changed += 1
        return changed

    def get_container_row(self, name: str) -> Optional[dict[str, Any]]:
        with self.get() as conn:
            cursor = conn.execute("SELECT ROWID, * FROM container WHERE name = ?", (name,))
            row = cursor.fetchone()
            if row is None:
                return None
            return dict(zip([c[0] for c in cursor.description], row))

    def _reclaim_items(self, conn: sqlite3.Connection, age: str) -> int:
        cursor = conn.execute("DELETE FROM container WHERE deleted = 1 AND "
                              "delete_timestamp < ?", (age,))
        return cursor.rowcount

    # -- listing -------------------------------------------------------
    def list_containers_iter(self, limit: int, marker: str = "", end_marker: str = "",
                             prefix: str = "", delimiter: str = "",
                             reverse: bool = False, show_reserved: bool = True) -> list:
        """A page of :class:`ContainerEntry` and ``SubdirEntry`` in Swift order."""
        return self._list_rows("name, object_count, bytes_used, put_timestamp, "
                               "storage_policy_index",
                               _container_entry, limit, marker, end_marker, prefix, delimiter,
                               None, reverse, show_reserved)


def _container_entry(row: tuple) -> ContainerEntry:
    return ContainerEntry(*row)
