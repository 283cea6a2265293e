"""Account and container replicators: keep every database's replicas equal.

Each pass walks the node's databases (through the broker's layout walker)
and, for each, talks ``REPLICATE`` (see :mod:`objstore.common.db_replication`)
to the other replicas the ring names:

1. ``sync`` sends the put/delete timestamps and metadata (merged newest-wins
   per key) and learns the remote's content hash and sync point, the
   highest of our rows it already holds.
2. Equal hashes: nothing to do.  A remote without the database, or one more
   than ``per_diff * max_diffs`` rows behind, gets the whole file (a
   consistent snapshot) and merges it; otherwise the rows after its sync
   point go in batches of ``per_diff``, deleted rows included.
3. A database on a device that is not one of its partition's primaries (a
   handoff) is removed locally once every primary has taken it.

Deleted rows and deleted metadata keys older than ``reclaim_age`` are
dropped, and a database deleted longer than that is removed: a replica that
was away longer than ``reclaim_age`` could otherwise bring them back, so it
must be longer than any outage (a week by default).
"""
from __future__ import annotations

import dataclasses
import json
import os
import time
import uuid
from typing import Any, Mapping, Optional

from objstore.common.backend_client import (BackendConnection, BackendError,
                                            backend_request, quote_backend_path)
from objstore.common.cluster_config import ClusterConfig
from objstore.common.concurrency import GreenPool
from objstore.common.daemon import Daemon, DaemonConfig, is_local_device
from objstore.common.db import DatabaseBroker, DatabaseError
from objstore.common.db_files import DbFile, iter_devices, remove_db
from objstore.common.db_replication import OP_HEADER, UPLOAD_CHUNK, sync_message
from objstore.common.durable_fs import mkdirs, unlink_quietly
from objstore.common.timestamp import Timestamp

ONE_WEEK = 7 * 24 * 3600.0


@dataclasses.dataclass
class DbReplicatorConfig(DaemonConfig):
    interval: float = 30.0
    concurrency: int = 4                # databases replicated at once
    per_diff: int = 1000                # rows per merge_items request
    max_diffs: int = 100                # batches before the whole file is sent instead
    conn_timeout: float = 0.5
    node_timeout: float = 10.0
    db_timeout: float = 25.0
    reclaim_age: float = ONE_WEEK       # seconds deleted rows and databases are kept
    bind_ip: str = "0.0.0.0"            # with bind_port: which ring devices are this node's
    bind_port: int = 0
    log_name: str = ""

    def validate(self) -> None:
        self.require_at_least(concurrency=1, per_diff=1, max_diffs=1, reclaim_age=0)


@dataclasses.dataclass
class ReplicationStats:
    checked: int = 0
    in_sync: int = 0
    rows_pushed: int = 0
    files_sent: int = 0
    handoffs_removed: int = 0
    rows_reclaimed: int = 0
    dbs_reclaimed: int = 0
    failures: int = 0
    errors: int = 0


class DbReplicator(Daemon):
    """Subclasses set ``name``, ``broker_class`` and implement :meth:`load_ring`."""

    config_class = DbReplicatorConfig
    broker_class: type[DatabaseBroker] = DatabaseBroker

    def __init__(self, cluster: ClusterConfig, conf: Optional[Mapping[str, Any]] = None, *,
                 inherited: Optional[Mapping[str, Any]] = None, logger: Any = None,
                 ring: Any = None):
        super().__init__(cluster, conf, inherited=inherited, logger=logger)
        self.conf: DbReplicatorConfig
        self._ring = ring

    def load_ring(self) -> Any:
        """The ring naming this kind's replicas (subclasses load theirs)."""
        raise NotImplementedError

    @property
    def ring(self) -> Any:
        if self._ring is None:
            self._ring = self.load_ring()
        return self._ring

    def _is_this_node(self, node: Mapping[str, Any], device_path: str) -> bool:
        return is_local_device(node, device_path, self.conf.bind_ip, self.conf.bind_port)

    def run_once(self) -> ReplicationStats:
        """One pass over every database on every device of this node."""
        began = time.time()
        stats = ReplicationStats()
        pool = GreenPool(self.conf.concurrency)
        for device_path in iter_devices(self.conf.devices, self.conf.mount_check, self.logger):
            for db_file in self.broker_class.iter_on_device(device_path):
                if self.stopping:
                    break
                pool.spawn_n(self._replicate_one, device_path, db_file, stats)
        pool.waitall()
        self.logger.info("%s pass: %s in %.2fs", self.name,
                         " ".join("%s=%d" % (k, v) for k, v in
                                  dataclasses.asdict(stats).items()), time.time() - began)
        return stats

    def _replicate_one(self, device_path: str, db_file: DbFile,
                       stats: ReplicationStats) -> None:
        stats.checked += 1
        broker = self.broker_class(db_file.path, timeout=self.conf.db_timeout)
        try:
            nodes = self.ring.get_part_nodes(db_file.partition)
            is_primary = any(self._is_this_node(node, device_path) for node in nodes)
            if is_primary and self._reclaim(broker, stats):
                return
            targets = [node for node in nodes if not self._is_this_node(node, device_path)]
            info = broker.replication_info()     # one scan for every target
            results = [self._replicate_to(broker, info, db_file, node, stats)
                       for node in targets]
            if all(results) and not is_primary:
                broker.close()
                remove_db(db_file.path)
                stats.handoffs_removed += 1
            elif not all(results):
                stats.failures += 1
        except DatabaseError as err:
            stats.errors += 1
            self.logger.error("%s: cannot replicate %s: %s", self.name, db_file.path, err)
        except Exception:  # noqa: BLE001 - one bad database must not end the pass
            stats.errors += 1
            self.logger.exception("%s: cannot replicate %s", self.name, db_file.path)
        finally:
            broker.close()

    def _reclaim(self, broker: DatabaseBroker, stats: ReplicationStats) -> bool:
        """Drop rows deleted before reclaim age; True when the whole database went."""
        horizon = Timestamp(time.time() - self.conf.reclaim_age)
        stats.rows_reclaimed += broker.reclaim(horizon)
        info = broker.get_info()
        if broker.info_is_deleted(info) and Timestamp(info["status_changed_at"]) < horizon:
            broker.close()
            remove_db(broker.db_file)
            stats.dbs_reclaimed += 1
            return True
        return False

    def _request(self, node: Mapping[str, Any], db_file: DbFile, op: str,
                 body: bytes) -> Any:
        return backend_request(node["ip"], int(node["port"]), node["device"],
                               db_file.partition, "REPLICATE", "/" + db_file.name_hash,
                               headers={OP_HEADER: op}, body=body,
                               conn_timeout=self.conf.conn_timeout,
                               response_timeout=self.conf.node_timeout)

    def _replicate_to(self, broker: DatabaseBroker, info: Mapping[str, Any], db_file: DbFile,
                      node: Mapping[str, Any], stats: ReplicationStats) -> bool:
        """Bring one remote replica up to date with ours (``info``); True when it is."""
        try:
            resp = self._request(node, db_file, "sync",
                                 json.dumps(sync_message(info)).encode("utf-8"))
            if resp.status == 404:
                return self._send_file(broker, db_file, node, stats)
            if resp.status != 200:
                self.logger.info("%s: sync of %s with %s:%s answered %d", self.name,
                                 db_file.name_hash, node["ip"], node["port"], resp.status)
                return False
            remote = json.loads(resp.body)
            if remote["hash"] == info["hash"]:
                stats.in_sync += 1
                return True
            point = int(remote["point"])
            if info["max_row"] - point > self.conf.per_diff * self.conf.max_diffs:
                return self._send_file(broker, db_file, node, stats)
            return self._push_rows(broker, db_file, node, point, (info["id"], remote["id"]),
                                   stats)
        except (BackendError, OSError, ValueError, KeyError) as err:
            self.logger.info("%s: %s to %s:%s/%s failed: %s", self.name, db_file.name_hash,
                             node["ip"], node["port"], node["device"], err)
            return False

    def _push_rows(self, broker: DatabaseBroker, db_file: DbFile, node: Mapping[str, Any],
                   point: int, ids: tuple[str, str], stats: ReplicationStats) -> bool:
        """Send our rows after ``point`` to ``node``; ``ids`` are (ours, the remote's)."""
        local_id, remote_id = ids
        for _batch in range(self.conf.max_diffs):
            rows = broker.get_items_since(point, self.conf.per_diff)
            if not rows:
                break
            body = json.dumps({"id": local_id, "items": rows}).encode("utf-8")
            resp = self._request(node, db_file, "merge_items", body)
            if not resp.is_success:
                self.logger.info("%s: merge_items of %s to %s:%s answered %d", self.name,
                                 db_file.name_hash, node["ip"], node["port"], resp.status)
                return False
            stats.rows_pushed += len(rows)
            point = rows[-1]["ROWID"]
        broker.merge_syncs([{"remote_id": remote_id, "sync_point": point}], incoming=False)
        return True

    def _send_file(self, broker: DatabaseBroker, db_file: DbFile, node: Mapping[str, Any],
                   stats: ReplicationStats) -> bool:
        tmp_dir = os.path.join(broker.device_path, "tmp")
        mkdirs(tmp_dir)
        tmp_path = os.path.join(tmp_dir, "snapshot-%s.db" % uuid.uuid4().hex)
        try:
            broker.snapshot(tmp_path)
            status = self._upload(node, db_file, tmp_path)
        finally:
            unlink_quietly(tmp_path)
        if not 200 <= status < 300:
            self.logger.info("%s: upload of %s to %s:%s answered %d", self.name,
                             db_file.name_hash, node["ip"], node["port"], status)
            return False
        stats.files_sent += 1
        return True

    def _upload(self, node: Mapping[str, Any], db_file: DbFile, path: str) -> int:
        """Stream the snapshot at ``path`` to ``node``; its answer's status.

        A database may be gigabytes: it goes chunk by chunk from the file,
        never whole through memory.
        """
        conn = BackendConnection(node["ip"], int(node["port"]), self.conf.conn_timeout,
                                 self.conf.node_timeout)
        try:
            conn.putrequest("REPLICATE", quote_backend_path(
                node["device"], db_file.partition, "/" + db_file.name_hash),
                {OP_HEADER: "upload", "Content-Length": str(os.path.getsize(path))})
            with open(path, "rb") as handle:
                for chunk in iter(lambda: handle.read(UPLOAD_CHUNK), b""):
                    conn.send(chunk)
            resp = conn.getresponse()
            resp.read()
            return resp.status
        finally:
            conn.close()
