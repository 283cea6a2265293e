"""The container replicator: :class:`DbReplicator` over container databases."""
from __future__ import annotations

import dataclasses
from typing import Any

from objstore.common.db_replicator import DbReplicator, DbReplicatorConfig
from objstore.container.backend import ContainerBroker
from objstore.ring.ring import load_ring


@dataclasses.dataclass
class ContainerReplicatorConfig(DbReplicatorConfig):
    log_name: str = "container-replicator"


class ContainerReplicator(DbReplicator):
    name = "container-replicator"
    config_class = ContainerReplicatorConfig
    broker_class = ContainerBroker

    def load_ring(self) -> Any:
        return load_ring(self.conf.swift_dir, "container", self.cluster.hasher)
