"""The object replicator: keeps every partition's replicas alike, over HTTP.

Each pass walks every policy's partitions on every local device:

- on a *primary* (the ring names this device for the partition), it asks
  each other primary for its suffix digests (``REPLICATE``), and syncs only
  the suffixes whose digests differ (asking the remote to recompute those
  first, so a stale cache there costs no transfer);
- when another primary cannot take the partition (its node is down, or
  its device unmounted and answering 507), the next handoff device the
  ring names gets that replica instead, so the partition keeps its replica
  count while the primary is away;
- on a *handoff* (a partition written here while a primary was down, or one
  that a rebalance moved away), it syncs everything to every primary and,
  once every primary holds every file, removes the files it had and the
  emptied partition.  A write that lands during the pass stays for the next.
  That is also how a handoff filled for an absent primary drains back once
  the primary returns.

Digests come from the DiskFile manager's cache, so a pass over a node where
nothing changed reads two small files per partition and sends one small
request per partition and peer.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any, Iterator, Mapping, Optional

from objstore.common.cluster_config import ClusterConfig
from objstore.common.concurrency import GreenPool
from objstore.common.daemon import Daemon, DaemonConfig
from objstore.obj.diskfile import DiskFileError, DiskFileManager, DiskFileRouter, fs_managers
from objstore.obj.diskfile.rules import DEFAULT_RECLAIM_AGE
from objstore.obj.sync_sender import SyncFailed, SyncSender
from objstore.obj.throttle import RateLimiter
from objstore.ring.ring import load_ring

WILDCARD_IPS = ("", "0.0.0.0", "::")
# What one push to one device came to.
SYNC_OK = "ok"
SYNC_FAILED = "failed"            # it answered, but not as the protocol says
SYNC_UNAVAILABLE = "unavailable"  # unreachable, or its device unmounted (507)


@dataclasses.dataclass
class ObjectReplicatorConfig(DaemonConfig):
    interval: float = 30.0
    # Which ring devices are this node's: the object server's address.
    bind_ip: str = "0.0.0.0"
    bind_port: int = 6200
    concurrency: int = 1
    conn_timeout: float = 0.5
    node_timeout: float = 10.0
    # Bytes per second sent by one replicator (0: no limit).
    max_bytes_per_second: float = 0.0
    reclaim_age: float = DEFAULT_RECLAIM_AGE
    log_name: str = "object-replicator"

    def validate(self) -> None:
        self.require_at_least(concurrency=1, max_bytes_per_second=0, reclaim_age=0)


@dataclasses.dataclass
class ReplicationStats:
    partitions: int = 0
    handoffs: int = 0
    suffixes_synced: int = 0
    files_sent: int = 0
    bytes_sent: int = 0
    handoffs_removed: int = 0
    # primaries that could not take a partition, and the handoffs given it instead
    unavailable: int = 0
    handoff_pushes: int = 0
    failures: int = 0
    seconds: float = 0.0

    def __str__(self) -> str:
        return ("%d partitions (%d handoff, %d removed), %d suffixes synced, %d files "
                "(%d bytes) sent, %d primaries unavailable (%d pushed to handoffs), "
                "%d failures in %.2fs" % (
                    self.partitions, self.handoffs, self.handoffs_removed,
                    self.suffixes_synced, self.files_sent, self.bytes_sent,
                    self.unavailable, self.handoff_pushes, self.failures, self.seconds))


class ObjectReplicator(Daemon):
    name = "object-replicator"
    config_class = ObjectReplicatorConfig
    conf: ObjectReplicatorConfig

    def __init__(self, cluster: ClusterConfig, conf: Optional[Mapping[str, Any]] = None, *,
                 inherited: Optional[Mapping[str, Any]] = None, logger: Any = None,
                 managers: Optional[DiskFileRouter] = None, rings: Optional[dict] = None):
        super().__init__(cluster, conf, inherited=inherited, logger=logger)
        self.managers = managers or fs_managers(cluster.policies, self.conf.devices,
                                                cluster.hasher,
                                                mount_check=self.conf.mount_check,
                                                reclaim_age=self.conf.reclaim_age)
        self._rings = rings or {}

    def ring_for(self, manager: DiskFileManager) -> Any:
        if manager.policy_index not in self._rings:
            self._rings[manager.policy_index] = load_ring(
                self.conf.swift_dir, manager.policy.ring_name, self.cluster.hasher)
        return self._rings[manager.policy_index]

    def _is_me(self, node: dict, device: str) -> bool:
        if node["device"] != device or int(node["port"]) != self.conf.bind_port:
            return False
        return self.conf.bind_ip in WILDCARD_IPS or node["ip"] == self.conf.bind_ip

    def run_once(self) -> ReplicationStats:
        """One pass over every partition of every policy on every local device."""
        began = time.time()
        stats = ReplicationStats()
        limiter = RateLimiter(self.conf.max_bytes_per_second)
        pool = GreenPool(self.conf.concurrency)
        for manager in self.managers:
            try:
                ring = self.ring_for(manager)
            except (OSError, ValueError) as err:
                self.logger.error("object replicator: no ring for policy %d: %s",
                                  manager.policy_index, err)
                stats.failures += 1
                continue
            for device in manager.list_devices():
                try:
                    partitions = manager.list_partitions(device)
                except (DiskFileError, OSError) as err:
                    self.logger.error("object replicator: device %s skipped: %s", device, err)
                    stats.failures += 1
                    continue
                for partition in partitions:
                    if self.stopping:
                        break
                    pool.spawn_n(self._replicate_partition, manager, ring, device,
                                 partition, limiter, stats)
        pool.waitall()
        stats.seconds = time.time() - began
        self.logger.info("object replication pass: %s", stats)
        return stats

    def _replicate_partition(self, manager: DiskFileManager, ring: Any, device: str,
                             partition: str, limiter: RateLimiter,
                             stats: ReplicationStats) -> None:
        stats.partitions += 1
        try:
            nodes = ring.get_part_nodes(int(partition))
        except (IndexError, ValueError):
            nodes = []  # a partition the ring does not have (part power changed)
        peers = [n for n in nodes if not self._is_me(n, device)]
        handoff = len(peers) == len(nodes)
        try:
            if handoff:
                stats.handoffs += 1
                self._drain_handoff(manager, device, partition, peers, limiter, stats)
            else:
                spares = None
                for node in peers:
                    if self._sync_to(manager, device, partition, node, limiter,
                                     stats) != SYNC_UNAVAILABLE:
                        continue
                    stats.unavailable += 1
                    if spares is None:
                        spares = self._spare_nodes(ring, partition, device)
                    self._push_to_spare(manager, device, partition, spares, limiter, stats)
        except (DiskFileError, OSError) as err:
            stats.failures += 1
            self.logger.error("object replicator: %s/%s (policy %d): %s", device,
                              partition, manager.policy_index, err)

    def _spare_nodes(self, ring: Any, partition: str, device: str) -> Iterator[dict]:
        """The partition's handoff devices, best first, never this one."""
        for node in ring.get_more_nodes(int(partition)):
            if not self._is_me(node, device):
                yield node

    def _push_to_spare(self, manager: DiskFileManager, device: str, partition: str,
                       spares: Iterator[dict], limiter: RateLimiter,
                       stats: ReplicationStats) -> None:
        """Give an absent primary's replica to the next handoff that takes it.

        ``spares`` is shared by the partition's absent primaries, so each
        gets its own handoff.  The handoff's replicator pushes the partition
        home, and removes its copy, once every primary holds it again.
        """
        for node in spares:
            outcome = self._sync_to(manager, device, partition, node, limiter, stats)
            if outcome == SYNC_OK:
                stats.handoff_pushes += 1
                return
            if outcome != SYNC_UNAVAILABLE:
                return  # it answered but failed: the next pass tries again

    def _sync_to(self, manager: DiskFileManager, device: str, partition: str, node: dict,
                 limiter: RateLimiter, stats: ReplicationStats) -> str:
        """Bring ``node`` up to date with this partition: SYNC_OK, _FAILED or _UNAVAILABLE."""
        sender = SyncSender(manager, device, partition, node, self.conf.conn_timeout,
                            self.conf.node_timeout, limiter)
        try:
            local = manager.suffix_hashes(device, partition)
            remote = sender.remote_hashes()
            differ = [s for s in local if local[s] != remote.get(s)]
            if differ:
                # the remote's cache may lag its files: recompute those suffixes there
                remote = sender.remote_hashes(differ)
                differ = [s for s in differ if local[s] != remote.get(s)]
            if not differ:
                return SYNC_OK
            result = sender.sync(differ)
        except SyncFailed as err:
            stats.failures += 1
            self.logger.warning("object replicator: %s/%s to %s:%s/%s failed: %s", device,
                                partition, node["ip"], node["port"], node["device"], err)
            return SYNC_UNAVAILABLE if err.unavailable else SYNC_FAILED
        stats.suffixes_synced += len(differ)
        stats.files_sent += result.sent
        stats.bytes_sent += result.bytes_sent
        if result.refused:
            stats.failures += 1
            self.logger.error("object replicator: %s refused %s", node["device"],
                              result.refused)
            return SYNC_FAILED
        return SYNC_OK

    def _drain_handoff(self, manager: DiskFileManager, device: str, partition: str,
                       primaries: list, limiter: RateLimiter,
                       stats: ReplicationStats) -> None:
        """Push a handoff partition home; remove what every primary now holds."""
        snapshot = {}
        for suffix in manager.list_suffixes(device, partition):
            snapshot.update(manager.list_hashes(device, partition, suffix))
        results = [self._sync_to(manager, device, partition, node, limiter, stats) == SYNC_OK
                   for node in primaries]
        if not primaries or not all(results):
            return  # keep everything until every primary has it
        for name_hash, names in snapshot.items():
            manager.remove_files(device, partition, name_hash, names)
        if manager.remove_partition_if_empty(device, partition):
            stats.handoffs_removed += 1
