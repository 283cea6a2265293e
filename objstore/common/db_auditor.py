"""Account and container auditors: find broken databases before a client does.

Each pass opens every database of its kind on the node, runs SQLite's own
check (``quick_check``, or ``integrity_check`` with ``full_check``) and
checks the schema the broker needs.  A broken database is moved to
``<device>/quarantined/<datadir>/`` (never deleted: an operator may want
it), so the server answers 404 for that replica and the replicator brings a
good copy back from another.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any

from objstore.common.daemon import Daemon, DaemonConfig
from objstore.common.db import DatabaseBroker, DatabaseError, DatabaseQuarantined
from objstore.common.db_files import iter_devices


@dataclasses.dataclass
class DbAuditorConfig(DaemonConfig):
    interval: float = 1800.0
    full_check: bool = False            # integrity_check (reads every index) over quick_check
    db_timeout: float = 25.0
    log_name: str = ""


@dataclasses.dataclass
class AuditStats:
    passed: int = 0
    quarantined: int = 0
    errors: int = 0


class DbAuditor(Daemon):
    """Subclasses set ``name``, ``config_class`` and ``broker_class``."""

    config_class = DbAuditorConfig
    broker_class: type[DatabaseBroker] = DatabaseBroker

    def run_once(self) -> AuditStats:
        began = time.time()
        stats = AuditStats()
        for device_path in iter_devices(self.conf.devices, self.conf.mount_check, self.logger):
            for db_file in self.broker_class.iter_on_device(device_path):
                if self.stopping:
                    break
                self._audit(db_file.path, stats)
        self.logger.info("%s pass: passed=%d quarantined=%d errors=%d in %.2fs", self.name,
                         stats.passed, stats.quarantined, stats.errors, time.time() - began)
        return stats

    def _audit(self, path: str, stats: AuditStats) -> None:
        conf: Any = self.conf
        broker = self.broker_class(path, timeout=conf.db_timeout)
        try:
            problem = broker.integrity_problem(full=conf.full_check)
            if problem is None:
                stats.passed += 1
                return
            target = broker.quarantine(problem)
            stats.quarantined += 1
            self.logger.error("%s: quarantined %s to %s: %s", self.name, path, target, problem)
        except DatabaseQuarantined as err:
            stats.quarantined += 1
            self.logger.error("%s: quarantined %s", self.name, err)
        except (DatabaseError, OSError) as err:
            stats.errors += 1
            self.logger.error("%s: cannot audit %s: %s", self.name, path, err)
        finally:
            broker.close()
