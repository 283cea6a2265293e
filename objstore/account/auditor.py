"""The account auditor: :class:`DbAuditor` over account databases."""
from __future__ import annotations

import dataclasses

from objstore.account.backend import AccountBroker
from objstore.common.db_auditor import DbAuditor, DbAuditorConfig


@dataclasses.dataclass
class AccountAuditorConfig(DbAuditorConfig):
    log_name: str = "account-auditor"


class AccountAuditor(DbAuditor):
    name = "account-auditor"
    config_class = AccountAuditorConfig
    broker_class = AccountBroker
