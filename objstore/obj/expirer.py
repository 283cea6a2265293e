"""The object expirer: deletes objects whose ``X-Delete-At`` has passed.

Objects that will expire are queued at write time (see
:mod:`objstore.common.expiring_queue`): one row per object in a time-bucket
container of the hidden ``.expiring_objects`` account.  Each pass lists the
account's due buckets and takes their due rows ``row_batch`` at a time.
Each batch is deleted from every replica with one ``EXPIRE`` request per
object-server device (:mod:`objstore.obj.expirer_deletes`; single DELETEs
with ``X-If-Delete-At`` to a server older than that verb): an object whose
expiry changed since answers 412 and is left alone, the others become
tombstones timestamped at their expiry.  Only when a majority of replicas
answered for good is the row removed; a row that fails stays for the next
pass, so a restart loses nothing.  Several expirers share the queue by
``processes``/``process`` (each takes the rows whose name hashes to its
number).

The listings are told in batches too.  The object servers do not update
containers for these deletes; once a batch is settled, one ``REPLICATE``
``merge_items`` per container replica carries the expired objects' listing
tombstones (timestamped at their expiry, as the object servers' updates would
be: the same newest-wins merge replication uses), and one more per bucket
replica removes their queue rows.  A row leaves the queue only once its
listing took the tombstone, so a failed listing update is retried next pass
(the object then answers 409, its tombstone being as new as the expiry, which
settles it and tells the listing again).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
import time
import urllib.parse
from typing import Any, Callable, Iterator, Mapping, Optional

from objstore.common.backend_client import BackendResponse, node_request
from objstore.common.cluster_config import ClusterConfig
from objstore.common.concurrency import GreenPile, GreenPool
from objstore.common.config import ConfigError
from objstore.common.db_replication import OP_HEADER
from objstore.common.daemon import Daemon, DaemonConfig
from objstore.common.expiring_queue import (EXPIRING_ACCOUNT, QueueRow, bucket_is_due,
                                            parse_queue_row)
from objstore.common.logs import new_trans_id, set_trans_id
from objstore.common.storage_policy import POLICY_INDEX_HEADER
from objstore.common.timestamp import Timestamp
from objstore.obj.expirer_deletes import DueObject, ReplicaDeletes, row_outcome
from objstore.obj.expiring_update import QUEUE_POLICY_INDEX
from objstore.ring.ring import load_ring

# Batches of rows in progress at once in one expirer: one being answered by
# the object servers while the next is listed and sent keeps them busy.
BATCHES_IN_FLIGHT = 2


@dataclasses.dataclass
class ObjectExpirerConfig(DaemonConfig):
    interval: float = 300.0
    concurrency: int = 32             # backend requests of one batch at once
    conn_timeout: float = 0.5
    node_timeout: float = 30.0        # an EXPIRE of a few hundred fsynced deletes
    listing_limit: int = 10000        # rows asked for per listing page
    row_batch: int = 500              # rows expired together: one EXPIRE per device,
                                      # then their listings and queue rows, one request
                                      # per replica
    # Expirers sharing the queue: each takes the rows that hash to ``process``.
    processes: int = 0
    process: int = 0
    log_name: str = "object-expirer"

    def validate(self) -> None:
        self.require_at_least(concurrency=1, row_batch=1)
        if not 1 <= self.listing_limit <= 10000:
            raise ConfigError("option 'listing_limit' must be 1..10000")
        if self.processes < 0 or not (self.processes == 0 or 0 <= self.process < self.processes):
            raise ConfigError("option 'process' must be in 0..processes-1")


@dataclasses.dataclass
class ExpirerStats:
    buckets: int = 0
    due: int = 0
    expired: int = 0          # rows whose object is gone from a majority of replicas
    skipped: int = 0          # rows whose X-Delete-At changed (412): row removed, object kept
    failures: int = 0         # rows left for the next pass (object, listing or queue failed)
    other_process: int = 0    # due rows another expirer process owns
    buckets_deleted: int = 0  # drained past buckets removed from the queue account
    seconds: float = 0.0


@dataclasses.dataclass(frozen=True)
class Settled:
    """A queue row whose object every replica that matters has answered for."""

    name: str                          # the queue row
    row: QueueRow
    listing_policy: Optional[int]      # the object's policy when its listing needs a tombstone


class ListingError(Exception):
    """No replica answered a listing; the pass cannot see that part of the queue."""


class ObjectExpirer(Daemon):
    name = "object-expirer"
    config_class = ObjectExpirerConfig

    def __init__(self, cluster: ClusterConfig, conf: Optional[Mapping[str, Any]] = None, *,
                 inherited: Optional[Mapping[str, Any]] = None, logger: Any = None,
                 account_ring: Any = None, container_ring: Any = None,
                 object_ring_for: Optional[Callable[[int], Any]] = None,
                 clock: Callable[[], float] = time.time):
        super().__init__(cluster, conf, inherited=inherited, logger=logger)
        self.conf: ObjectExpirerConfig
        self._account_ring = account_ring
        self._container_ring = container_ring
        self._object_rings: dict[int, Any] = {}
        self._object_ring_for = object_ring_for
        self.clock = clock
        self._stats_lock = threading.Lock()

    # -- rings -------------------------------------------------------------------
    @property
    def account_ring(self) -> Any:
        if self._account_ring is None:
            self._account_ring = load_ring(self.conf.swift_dir, "account", self.cluster.hasher)
        return self._account_ring

    @property
    def container_ring(self) -> Any:
        if self._container_ring is None:
            self._container_ring = load_ring(self.conf.swift_dir, "container",
                                             self.cluster.hasher)
        return self._container_ring

    def object_ring(self, policy_index: int) -> Any:
        if self._object_ring_for is not None:
            return self._object_ring_for(policy_index)
        if policy_index not in self._object_rings:
            name = "object" if policy_index == 0 else "object-%d" % policy_index
            self._object_rings[policy_index] = load_ring(self.conf.swift_dir, name,
                                                         self.cluster.hasher)
        return self._object_rings[policy_index]

    # -- the pass ----------------------------------------------------------------
    def run_once(self) -> ExpirerStats:
        """Expire every row due now; log and return one summary."""
        began = time.monotonic()
        stats = ExpirerStats()
        now = self.clock()
        set_trans_id(new_trans_id("-expirer"))
        policy_cache: dict[tuple[str, str], Optional[int]] = {}
        deletes = ReplicaDeletes(self._request, self.conf.concurrency, self.logger)
        try:
            buckets = [name for name in self._listing(self.account_ring, EXPIRING_ACCOUNT)
                       if bucket_is_due(name, now)]
        except ListingError as err:
            self.logger.error("object expirer: cannot list %s: %s", EXPIRING_ACCOUNT, err)
            buckets = []
        for bucket in buckets:
            if self.stopping:
                break
            stats.buckets += 1
            try:
                if self._expire_bucket(bucket, now, stats, policy_cache, deletes):
                    stats.buckets_deleted += self._delete_bucket(bucket)
            except ListingError as err:
                self.logger.error("object expirer: bucket %s skipped: %s", bucket, err)
        stats.seconds = round(time.monotonic() - began, 3)
        self.logger.info(
            "object expirer pass: %d due in %d buckets, %d expired, %d skipped (X-Delete-At "
            "changed), %d failed (retried next pass), %d for other processes, %d drained "
            "buckets deleted, %.3fs",
            stats.due, stats.buckets, stats.expired, stats.skipped, stats.failures,
            stats.other_process, stats.buckets_deleted, stats.seconds)
        return stats

    def _expire_bucket(self, bucket: str, now: float, stats: ExpirerStats,
                       policy_cache: dict, deletes: ReplicaDeletes) -> bool:
        """Expire the bucket's due rows; True when every row it listed is now gone."""
        pool = GreenPool(BATCHES_IN_FLIGHT)
        failures_before = stats.failures
        rows_left = False
        batch: list[tuple[str, QueueRow]] = []
        try:
            for name in self._listing(self.container_ring, EXPIRING_ACCOUNT, bucket):
                if self.stopping:
                    rows_left = True
                    break
                try:
                    row = parse_queue_row(name)
                except ValueError:
                    self.logger.warning("object expirer: foreign row %r in %s", name, bucket)
                    continue
                if row.delete_at > now:
                    rows_left = True
                    break  # the bucket lists rows in expiry order
                if not self._is_mine(name):
                    stats.other_process += 1
                    rows_left = True
                    continue
                stats.due += 1
                batch.append((name, row))
                if len(batch) >= self.conf.row_batch:
                    pool.spawn_n(self._expire_batch, bucket, batch, deletes, stats,
                                 policy_cache)
                    batch = []
            if batch:
                pool.spawn_n(self._expire_batch, bucket, batch, deletes, stats, policy_cache)
        finally:
            pool.waitall()
        return not rows_left and stats.failures == failures_before

    def _is_mine(self, name: str) -> bool:
        if self.conf.processes <= 1:
            return True
        digest = hashlib.md5(name.encode("utf-8", "surrogateescape"),
                             usedforsecurity=False).digest()
        return int.from_bytes(digest[:8], "big") % self.conf.processes == self.conf.process

    def _count(self, stats: ExpirerStats, field: str, amount: int = 1) -> None:
        with self._stats_lock:
            setattr(stats, field, getattr(stats, field) + amount)

    def _expire_batch(self, bucket: str, batch: list[tuple[str, QueueRow]],
                      deletes: ReplicaDeletes, stats: ExpirerStats, policy_cache: dict) -> None:
        """Delete a batch's objects from their replicas, then settle their rows."""
        try:
            due = self._due_objects(batch, stats, policy_cache)
            settled = []
            for entry, statuses in zip(due, deletes.statuses(due)):
                outcome = row_outcome(statuses, len(entry.nodes))
                if outcome is None:
                    self._count(stats, "failures")
                    continue
                self._count(stats, outcome)
                settled.append(Settled(entry.name, entry.row,
                                       entry.policy_index if outcome == "expired" else None))
            self._finish_batch(bucket, settled, stats)
        except Exception:  # noqa: BLE001 - a bug in one batch must not end the pass
            self.logger.exception("object expirer: a batch of %d rows of %s stays queued",
                                  len(batch), bucket)
            self._count(stats, "failures", len(batch))

    def _due_objects(self, batch: list[tuple[str, QueueRow]], stats: ExpirerStats,
                     policy_cache: dict) -> list[DueObject]:
        """The batch's rows with their objects' replicas; a row whose policy is unknown
        (its container's replicas did not answer) fails for this pass."""
        due = []
        for name, row in batch:
            index = self._policy_index(row, policy_cache)
            if index is None:
                self._count(stats, "failures")
                continue
            part, nodes = self.object_ring(index).get_nodes(row.account, row.container,
                                                            row.obj)
            due.append(DueObject(name, row, index, part, nodes))
        return due

    def _finish_batch(self, bucket: str, batch: list[Settled], stats: ExpirerStats) -> None:
        """Tombstone the expired objects in their listings, then drop the rows from the queue.

        A row whose listing could not be told stays queued for the next pass.
        """
        if not batch:
            return
        by_container: dict[tuple[str, str], list[Settled]] = {}
        for entry in batch:
            if entry.listing_policy is not None:
                by_container.setdefault((entry.row.account, entry.row.container),
                                        []).append(entry)
        pile = GreenPile(max(1, min(len(by_container), self.conf.concurrency)))
        for (account, container), entries in by_container.items():
            pile.spawn(self._tell_listing, account, container, entries)
        stuck = {name for names in pile for name in names}
        self._count(stats, "failures", len(stuck))
        self._remove_rows(bucket, [e.name for e in batch if e.name not in stuck], stats)

    def _tell_listing(self, account: str, container: str, entries: list[Settled]
                      ) -> list[str]:
        """Listing tombstones for ``entries`` at their expiry; the queue rows that failed."""
        items = [{"name": e.row.obj, "created_at": Timestamp(e.row.delete_at).internal,
                  "size": 0, "content_type": "", "etag": "", "deleted": 1,
                  "storage_policy_index": e.listing_policy} for e in entries]
        if self._merge_rows(account, container, items):
            return []
        return [e.name for e in entries]

    # -- the object --------------------------------------------------------------
    def _policy_index(self, row: QueueRow, cache: dict) -> Optional[int]:
        """The object's policy, from its container; the default when that is gone."""
        key = (row.account, row.container)
        if key not in cache:
            part, nodes = self.container_ring.get_nodes(row.account, row.container)
            index: Optional[int] = None
            missing = 0
            for node in nodes:
                resp = self._request(node, part, "HEAD", "/%s/%s" % key, {})
                if resp is not None and resp.is_success:
                    index = int(resp.headers.get(POLICY_INDEX_HEADER, "0"))
                    break
                missing += resp is not None and resp.status == 404
            if index is None and nodes and missing == len(nodes):
                index = self.cluster.policies.default.index
            cache[key] = index
        return cache[key]

    # -- the queue ---------------------------------------------------------------
    def _remove_rows(self, bucket: str, names: list[str], stats: ExpirerStats) -> None:
        """Tombstone ``names`` in the bucket's replicas; failures stay queued.

        A row whose removal fails is expired again next pass: its object
        answers 404 then, which settles it.
        """
        if not names:
            return
        timestamp = Timestamp.now().internal
        items = [{"name": name, "created_at": timestamp, "size": 0, "content_type": "",
                  "etag": "", "deleted": 1, "storage_policy_index": QUEUE_POLICY_INDEX}
                 for name in names]
        if not self._merge_rows(EXPIRING_ACCOUNT, bucket, items):
            self._count(stats, "failures", len(names))

    def _merge_rows(self, account: str, container: str, items: list[dict]) -> bool:
        """Merge object rows into a majority of the container's replicas (or it is gone).

        One ``REPLICATE`` ``merge_items`` per replica: newest wins per name, as
        in replication, so a retry or a replica already told changes nothing.
        """
        part, nodes = self.container_ring.get_nodes(account, container)
        body = json.dumps({"id": "object-expirer", "items": items}).encode("utf-8")
        path = "/" + self.cluster.hasher.hash_path(account, container)
        headers = {OP_HEADER: "merge_items", "Content-Type": "application/json"}
        pile = GreenPile(len(nodes) or 1)
        for node in nodes:
            pile.spawn(self._request, node, part, "REPLICATE", path, headers, "", body)
        answers = list(pile)
        done = sum(1 for r in answers if r is not None and (r.is_success or r.status == 404))
        if done < len(nodes) // 2 + 1:
            self.logger.error("object expirer: %d rows of /%s/%s not merged: %s", len(items),
                              account, container,
                              [None if r is None else r.status for r in answers])
            return False
        return True

    def _delete_bucket(self, bucket: str) -> int:
        """Delete a drained bucket and drop it from the queue account's listing; 1 if done.

        A container server refuses (409) while the bucket holds a row, so a
        row queued meanwhile keeps its bucket; that answer and 404 (another
        expirer got there first) are normal.
        """
        part, nodes = self.container_ring.get_nodes(EXPIRING_ACCOUNT, bucket)
        a_part, a_nodes = self.account_ring.get_nodes(EXPIRING_ACCOUNT)
        timestamp = Timestamp.now().internal
        pile = GreenPile(len(nodes) or 1)
        for i, node in enumerate(nodes):
            headers = {"X-Timestamp": timestamp}
            mine = [a for j, a in enumerate(a_nodes) if j % len(nodes) == i]
            if mine:
                headers.update({
                    "X-Account-Host": ",".join("%s:%s" % (a["ip"], a["port"]) for a in mine),
                    "X-Account-Device": ",".join(a["device"] for a in mine),
                    "X-Account-Partition": str(a_part)})
            pile.spawn(self._request, node, part, "DELETE", "/%s/%s" % (EXPIRING_ACCOUNT, bucket),
                       headers)
        statuses = [None if r is None else r.status for r in pile]
        deleted = sum(1 for s in statuses if s is not None and (200 <= s < 300 or s == 404))
        if deleted < len(nodes) // 2 + 1:
            self.logger.info("object expirer: bucket %s not deleted: %s", bucket, statuses)
            return 0
        return 1

    def _listing(self, ring: Any, account: str, container: Optional[str] = None
                 ) -> Iterator[str]:
        """Every name in an account or container listing, page by page."""
        part, nodes = ring.get_nodes(account, container)
        path = "/" + account + ("/" + container if container else "")
        marker = ""
        while True:
            query = urllib.parse.urlencode({"format": "json", "marker": marker,
                                            "limit": str(self.conf.listing_limit)})
            page = self._listing_page(nodes, part, path, query)
            if not page:
                return
            for entry in page:
                yield entry["name"]
            marker = page[-1]["name"]
            if len(page) < self.conf.listing_limit:
                return

    def _listing_page(self, nodes: list, part: int, path: str, query: str) -> list:
        missing = 0
        for node in nodes:
            resp = self._request(node, part, "GET", path, {}, query)
            if resp is None:
                continue
            if resp.status == 404:
                missing += 1
                continue
            if resp.is_success:
                return json.loads(resp.body or b"[]") if resp.status != 204 else []
        if missing:
            return []
        raise ListingError("no replica of %s answered" % path)

    def _request(self, node: Mapping[str, Any], part: int, method: str, path: str,
                 headers: Mapping[str, str], query_string: str = "", body: bytes = b""
                 ) -> Optional[BackendResponse]:
        return node_request(node, part, method, path, headers, query_string, body=body,
                            conn_timeout=self.conf.conn_timeout,
                            response_timeout=self.conf.node_timeout, logger=self.logger,
                            who="object expirer")
