"""The account replicator: :class:`DbReplicator` over account databases."""
from __future__ import annotations

import dataclasses
from typing import Any

from objstore.common.db_replicator import DbReplicator, DbReplicatorConfig
from objstore.account.backend import AccountBroker
from objstore.ring.ring import load_ring


@dataclasses.dataclass
class AccountReplicatorConfig(DbReplicatorConfig):
    log_name: str = "account-replicator"


class AccountReplicator(DbReplicator):
    name = "account-replicator"
    config_class = AccountReplicatorConfig
    broker_class = AccountBroker

    def load_ring(self) -> Any:
        return load_ring(self.conf.swift_dir, "account", self.cluster.hasher)
