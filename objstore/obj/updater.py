"""The object updater: delivers the container updates the object server could not.

Each pass walks every policy's async pendings on every device (through that
policy's DiskFile manager, the
one owner of that format), keeps only the newest pending per object (an
older update would be overruled by the newer one anyway), and sends it to the
container replicas it still names (or, for a pending written without
names, such as the removal of an expiring-objects row, the replicas the
container ring names).  Replicas that accept are dropped from the
pending; when none remain the pending is removed; the rest wait for the next
pass.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Optional

from objstore.common.cluster_config import ClusterConfig
from objstore.common.concurrency import GreenPool
from objstore.common.daemon import Daemon, DaemonConfig
from objstore.common.logs import new_trans_id, set_trans_id
from objstore.obj.container_update import send_update
from objstore.obj.diskfile import (AsyncUpdate, ContainerNode, DiskFileManager, DiskFileRouter,
                                   fs_managers)
from objstore.obj.diskfile.interface import DiskFileError
from objstore.ring.ring import load_ring


@dataclasses.dataclass
class ObjectUpdaterConfig(DaemonConfig):
    interval: float = 300.0
    conn_timeout: float = 0.5
    node_timeout: float = 10.0
    concurrency: int = 8
    log_name: str = "object-updater"

    def validate(self) -> None:
        self.require_at_least(concurrency=1)


@dataclasses.dataclass
class UpdaterStats:
    found: int = 0
    successes: int = 0
    failures: int = 0
    unroutable: int = 0


class ObjectUpdater(Daemon):
    name = "object-updater"
    config_class = ObjectUpdaterConfig

    def __init__(self, cluster: ClusterConfig, conf: Optional[Mapping[str, Any]] = None, *,
                 inherited: Optional[Mapping[str, Any]] = None, logger: Any = None,
                 managers: Optional[DiskFileRouter] = None, container_ring: Any = None):
        super().__init__(cluster, conf, inherited=inherited, logger=logger)
        self._container_ring = container_ring
        self.managers = managers or fs_managers(cluster.policies, self.conf.devices,
                                                cluster.hasher,
                                                mount_check=self.conf.mount_check)

    @property
    def container_ring(self) -> Any:
        if self._container_ring is None:
            self._container_ring = load_ring(self.conf.swift_dir, "container",
                                             self.cluster.hasher)
        return self._container_ring

    def _ring_nodes(self, update: AsyncUpdate) -> list[ContainerNode]:
        partition, nodes = self.container_ring.get_nodes(update.account, update.container)
        return [ContainerNode(ip=node["ip"], port=int(node["port"]), device=node["device"],
                              partition=str(partition)) for node in nodes]

    def run_once(self) -> UpdaterStats:
        """One pass over every policy's pendings on every device."""
        stats = UpdaterStats()
        for manager in self.managers:
            for device in manager.list_devices():
                try:
                    self._process_device(manager, device, stats)
                except (DiskFileError, OSError) as err:
                    self.logger.error("object updater: device %s (policy %d) skipped: %s",
                                      device, manager.policy_index, err)
        self.logger.info("object update pass: %s", stats)
        return stats

    def _process_device(self, manager: DiskFileManager, device: str,
                        stats: UpdaterStats) -> None:
        pool = GreenPool(self.conf.concurrency)
        try:
            for update in manager.iter_async_updates(device):
                if self.stopping:
                    break
                stats.found += 1
                pool.spawn_n(self._process_update, manager, update, stats)
        finally:
            pool.waitall()

    def _process_update(self, manager: DiskFileManager, update: AsyncUpdate,
                        stats: UpdaterStats) -> None:
        """Send one pending to the nodes it still names; remember who is left."""
        try:
            set_trans_id(update.headers.get("X-Trans-Id") or new_trans_id("-updater"))
            if not update.nodes:
                # written without node names: the ring knows the container's replicas
                try:
                    update.nodes = self._ring_nodes(update)
                except (OSError, ValueError) as err:
                    stats.unroutable += 1
                    self.logger.error("object updater: no container ring for %s: %s",
                                      update.location, err)
                    return
            remaining = [node for node in update.nodes
                         if not send_update(node, update, self.conf.conn_timeout,
                                            self.conf.node_timeout, self.logger)]
            if not remaining:
                manager.remove_async_update(update)
                stats.successes += 1
                return
            stats.failures += 1
            if len(remaining) != len(update.nodes):
                update.nodes = remaining
                manager.update_async_update(update)
        except (DiskFileError, OSError) as err:
            stats.failures += 1
            self.logger.error("object updater: %s stays pending: %s", update.location, err)
