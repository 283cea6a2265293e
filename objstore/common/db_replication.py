"""The receiving side of database replication: the ``REPLICATE`` verb of account and container servers.

``REPLICATE /<dev>/<part>/<hash>`` with ``X-Backend-Replicate-Op``:

- ``sync`` (JSON body: the sender's ``id``, ``max_row``, ``hash``, info
  timestamps and raw metadata).  The receiver merges the timestamps and
  metadata (newest wins per key) and answers with its own ``id``,
  ``max_row``, ``hash`` and ``point``: the highest row of the sender it
  already holds.  404 when it has no such database.
- ``merge_items`` (JSON: ``id`` and ``items``, rows as the broker's
  ``get_items_since`` returns them): rows merged newest-wins; the incoming
  sync point for ``id`` advances.
- ``upload`` (body: a whole database file, a consistent snapshot): a
  missing database is put in place under a new id; an existing one merges
  every row, the timestamps and the metadata of the upload.

Nothing here reads SQLite directly: the broker does, this module speaks
the protocol.
"""
from __future__ import annotations

import json
import os
import uuid
from typing import Any, Mapping, Optional

from webob import Request, Response

from objstore.common.db import DatabaseBroker, DatabaseError, db_path
from objstore.common.durable_fs import (fsync_dir, makedirs_durably, mkdirs, unlink_quietly)
from objstore.common.path_hash import PathHasher
from objstore.common.storage_request import text_response
from objstore.common.timestamp import Timestamp

OP_HEADER = "X-Backend-Replicate-Op"
OPS = ("sync", "merge_items", "upload")
# Rows merged per transaction when an uploaded copy is folded into a database.
MERGE_BATCH = 1000
UPLOAD_CHUNK = 65536


def sync_message(info: Mapping[str, Any]) -> dict[str, Any]:
    """The ``sync`` body a sender builds from its broker's ``replication_info``."""
    return {key: info[key] for key in ("id", "max_row", "hash", "created_at", "put_timestamp",
                                       "delete_timestamp", "metadata")}


def merge_info(broker: DatabaseBroker, info: Mapping[str, Any]) -> None:
    """Fold another replica's put/delete timestamps and metadata into ``broker``.

    Only what is newer is written: a replica in sync costs reads alone, and
    takes no write lock.
    """
    mine = broker.get_info()
    if Timestamp(info["put_timestamp"]) > Timestamp(mine["put_timestamp"]):
        broker.update_put_timestamp(info["put_timestamp"])
    if Timestamp(info["delete_timestamp"]) > Timestamp(mine["delete_timestamp"]):
        broker.update_delete_timestamp(info["delete_timestamp"])
    current = broker.get_raw_metadata()
    newer = {key: (pair[0], pair[1]) for key, pair in dict(info.get("metadata") or {}).items()
             if key not in current or Timestamp(pair[1]) > Timestamp(current[key][1])}
    broker.update_metadata(newer)


def merge_copy(broker: DatabaseBroker, copy: DatabaseBroker) -> int:
    """Merge every row, timestamp and metadata key of ``copy`` into ``broker``; rows changed."""
    info = copy.replication_info()
    changed = 0
    point = -1
    while True:
        rows = copy.get_items_since(point, MERGE_BATCH)
        if not rows:
            break
        changed += broker.merge_items(rows, source=info["id"])
        point = rows[-1]["ROWID"]
    merge_info(broker, info)
    return changed


class ReplicationReceiver:
    """Answers ``REPLICATE`` for one kind of database (``broker_class``) on this node."""

    def __init__(self, broker_class: type[DatabaseBroker], hasher: PathHasher,
                 db_timeout: float) -> None:
        self.broker_class = broker_class
        self.hasher = hasher
        self.db_timeout = db_timeout

    def handle(self, req: Request, device_path: str, partition: str, name_hash: str) -> Response:
        op = req.headers.get(OP_HEADER, "")
        if op not in OPS:
            return text_response(400, "%s must be one of %s" % (OP_HEADER, ", ".join(OPS)))
        if len(name_hash) != 32 or not all(c in "0123456789abcdef" for c in name_hash):
            return text_response(400, "Invalid database hash %r" % name_hash)
        broker = self.broker_class(db_path(device_path, self.broker_class.datadir, partition,
                                           name_hash), timeout=self.db_timeout)
        try:
            if op == "upload":
                return self._upload(req, broker, device_path, name_hash)
            try:
                message = json.loads(req.body)
            except ValueError:
                return text_response(400, "Body is not JSON")
            if not isinstance(message, dict) or not isinstance(message.get("id"), str):
                return text_response(400, "Body must be a JSON object with an id")
            if not broker.exists():
                return text_response(404)
            if op == "sync":
                return self._sync(broker, message)
            return self._merge_items(broker, message)
        finally:
            broker.close()

    @staticmethod
    def _sync(broker: DatabaseBroker, message: Mapping[str, Any]) -> Response:
        try:
            merge_info(broker, message)
            sender_max_row = int(message["max_row"])
        except (KeyError, TypeError, ValueError) as err:
            return text_response(400, "Bad sync message: %s" % err)
        info = broker.replication_info()
        if info["hash"] == message.get("hash"):
            # Same rows: whatever the sender has up to its max row is here.
            broker.merge_syncs([{"remote_id": message["id"], "sync_point": sender_max_row}])
        point = broker.get_sync(message["id"])
        body = json.dumps({"id": info["id"], "max_row": info["max_row"], "hash": info["hash"],
                           "point": point}).encode("utf-8")
        return Response(status=200, body=body, content_type="application/json")

    @staticmethod
    def _merge_items(broker: DatabaseBroker, message: Mapping[str, Any]) -> Response:
        items = message.get("items")
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            return text_response(400, "items must be a list of rows")
        try:
            broker.merge_items(items, source=message["id"])
        except (KeyError, TypeError, ValueError) as err:
            return text_response(400, "Bad row: %s" % err)
        return text_response(204)

    def _upload(self, req: Request, broker: DatabaseBroker, device_path: str,
                name_hash: str) -> Response:
        tmp_dir = os.path.join(device_path, "tmp")
        mkdirs(tmp_dir)
        tmp_path = os.path.join(tmp_dir, "upload-%s.db" % uuid.uuid4().hex)
        copy: Optional[DatabaseBroker] = None
        try:
            received = _write_body(req, tmp_path)
            if received == 0:
                return text_response(400, "Empty upload")
            copy = self.broker_class(tmp_path, timeout=self.db_timeout, scratch=True)
            problem = copy.integrity_problem()
            if problem:
                return text_response(422, "Uploaded database is broken: %s" % problem)
            try:
                info = copy.replication_info()
            except DatabaseError as err:
                return text_response(422, "Uploaded database is broken: %s" % err)
            expected = self.hasher.hash_path(info["account"], info.get("container"))
            if expected != name_hash:
                return text_response(422, "Uploaded database belongs to another name")
            if broker.exists():
                merge_copy(broker, copy)
                return text_response(202)
            copy.adopt_copy(info["id"], info["max_row"])
            copy.close()
            makedirs_durably(broker.db_dir)
            try:
                os.link(tmp_path, broker.db_file)
            except FileExistsError:
                # A racing creator won: fold the upload into its database.
                copy = self.broker_class(tmp_path, timeout=self.db_timeout, scratch=True)
                merge_copy(broker, copy)
                return text_response(202)
            fsync_dir(broker.db_dir)
            return text_response(201)
        finally:
            if copy is not None:
                copy.close()
            for leftover in (tmp_path, tmp_path + "-wal", tmp_path + "-shm"):
                unlink_quietly(leftover)


def _write_body(req: Request, path: str) -> int:
    """Stream the request body to ``path`` and fsync it; the number of bytes written."""
    written = 0
    with open(path, "wb") as handle:
        while True:
            chunk = req.body_file.read(UPLOAD_CHUNK)
            if not chunk:
                break
            handle.write(chunk)
            written += len(chunk)
        handle.flush()
        os.fsync(handle.fileno())
    return written

