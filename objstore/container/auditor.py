"""The container auditor: :class:`DbAuditor` over container databases."""
from __future__ import annotations

import dataclasses

from objstore.common.db_auditor import DbAuditor, DbAuditorConfig
from objstore.container.backend import ContainerBroker


@dataclasses.dataclass
class ContainerAuditorConfig(DbAuditorConfig):
    log_name: str = "container-auditor"


class ContainerAuditor(DbAuditor):
    name = "container-auditor"
    config_class = ContainerAuditorConfig
    broker_class = ContainerBroker
