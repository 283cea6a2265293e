"""What a database replica keeps and shows for replication: sync points, a content hash, copies.

Part of :class:`objstore.common.db.DatabaseBroker` (mixed in; it uses the
broker's connection, ``item_table`` and ``info_table``), kept apart so each
file holds one concern.  Sync points: ``incoming_sync`` records, per remote
database id, the highest of its ROWIDs merged here; ``outgoing_sync`` the
highest of ours a remote confirmed.  A replicator asks a remote for its
incoming point and sends only the rows after it.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import uuid
from typing import Any, Iterable, Mapping

from objstore.common.timestamp import Timestamp


def new_db_id() -> str:
    """A random id that names one replica's database (sync points refer to it)."""
    return str(uuid.uuid4())


class ReplicaMixin:
    """Sync points and whole-copy support for :class:`DatabaseBroker`."""

    item_table = ""
    info_table = ""

    def get_sync(self, remote_id: str, incoming: bool = True) -> int:
        table = "incoming_sync" if incoming else "outgoing_sync"
        with self.get() as conn:
            row = conn.execute("SELECT sync_point FROM %s WHERE remote_id = ?" % table,
                               (remote_id,)).fetchone()
        return row[0] if row else -1

    def get_syncs(self, incoming: bool = True) -> list[dict[str, Any]]:
        table = "incoming_sync" if incoming else "outgoing_sync"
        with self.get() as conn:
            return [{"remote_id": r[0], "sync_point": r[1]} for r in conn.execute(
                "SELECT remote_id, sync_point FROM %s" % table)]

    def merge_syncs(self, syncs: Iterable[Mapping[str, Any]], incoming: bool = True) -> None:
        """Record ``[{remote_id, sync_point}]``; a sync point only moves forward."""
        table = "incoming_sync" if incoming else "outgoing_sync"
        with self.transaction() as conn:
            for sync in syncs:
                self._merge_sync_point(conn, table, sync["remote_id"], int(sync["sync_point"]))

    @staticmethod
    def _merge_sync_point(conn: sqlite3.Connection, table: str, remote_id: str,
                          point: int) -> None:
        conn.execute(
            "INSERT INTO %s (remote_id, sync_point, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(remote_id) DO UPDATE SET "
            "sync_point = MAX(sync_point, excluded.sync_point), "
            "updated_at = excluded.updated_at" % table,
            (remote_id, point, Timestamp.now().internal))

    # -- replication ---------------------------------------------------
    def replication_info(self) -> dict[str, Any]:
        """What a replicator compares and pushes: ids, row cursor, content hash, metadata."""
        with self.get() as conn:
            info = self._info_row(conn)
            info["max_row"] = self._max_row(conn)
            info["hash"] = self._items_hash(conn)
        info["metadata"] = json.loads(info.get("metadata") or "{}")
        return info

    def _items_hash(self, conn: sqlite3.Connection) -> str:
        """A digest of every row's content (not its ROWID): equal on replicas in sync.

        Reading every row costs a scan, paid once per replication pass; the
        sync points make that scan the only cost for a database in sync.
        """
        digest = hashlib.md5(usedforsecurity=False)
        cursor = conn.execute("SELECT * FROM %s ORDER BY name" % self.item_table)
        keep = [i for i, col in enumerate(cursor.description) if col[0] != "ROWID"]
        for row in cursor:
            digest.update(repr([row[i] for i in keep]).encode("utf-8"))
        return digest.hexdigest()

    def snapshot(self, dest_path: str) -> None:
        """A consistent copy of the database (log folded in) at ``dest_path``, fsynced.

        SQLite's online backup reads one transaction's view, so writers that
        commit meanwhile never produce a torn copy.
        """
        dest = sqlite3.connect(dest_path)
        try:
            with self.get() as conn:
                conn.backup(dest)
            dest.execute("PRAGMA journal_mode = DELETE")
        finally:
            dest.close()
        with open(dest_path, "rb+") as handle:
            os.fsync(handle.fileno())

    def adopt_copy(self, source_id: str, source_max_row: int) -> None:
        """Take a new id after arriving as a whole copy of replica ``source_id``.

        Two replicas sharing an id would confuse every sync point; the copy
        already holds every row of the source up to ``source_max_row``.
        """
        with self.transaction() as conn:
            conn.execute("UPDATE %s SET id = ?" % self.info_table, (new_db_id(),))
            self._merge_sync_point(conn, "incoming_sync", source_id, source_max_row)
        with self.get() as conn:
            conn.execute("PRAGMA journal_mode = WAL")
