"""Container updater: makes sure every account knows its containers' latest stats.

The container server reports a container PUT/DELETE to the account right
away, but object rows change the counts many times a second; reporting each
would double the write load.  This daemon walks every container database on
the node and, for each whose put/delete timestamp or object count/bytes
differ from what it last reported, sends one report to the account servers
the account ring names.  When a majority accepts, the reported values are
stored in the database, so an unchanged container costs one read next pass.

A running updater also remembers what the files of each database it found
up to date looked like (size, mtime and inode of the database and its
write-ahead log); while they stay the same, the next passes do not even open
it.  An aio runs this every few seconds, and opening every database of an
idle node each time kept a core busy.
"""
from __future__ import annotations

import dataclasses
import os
import time
from typing import Any, Mapping, Optional

from objstore.common.cluster_config import ClusterConfig
from objstore.common.concurrency import GreenPool
from objstore.common.daemon import Daemon, DaemonConfig
from objstore.common.db import DatabaseError
from objstore.common.db_files import iter_devices
from objstore.common.timestamp import Timestamp
from objstore.container.account_report import AccountNode, report_headers, send_reports
from objstore.container.backend import ContainerBroker
from objstore.ring.ring import load_ring


@dataclasses.dataclass
class ContainerUpdaterConfig(DaemonConfig):
    interval: float = 300.0
    concurrency: int = 4              # databases reported at once
    conn_timeout: float = 0.5
    node_timeout: float = 3.0
    db_timeout: float = 25.0
    log_name: str = "container-updater"


def needs_report(info: Mapping[str, Any]) -> bool:
    """True when the account has not yet heard the container's current state."""
    try:
        reported_put = Timestamp(info["reported_put_timestamp"])
        reported_delete = Timestamp(info["reported_delete_timestamp"])
    except ValueError:
        return True
    return (Timestamp(info["put_timestamp"]) != reported_put
            or Timestamp(info["delete_timestamp"]) != reported_delete
            or info["object_count"] != info["reported_object_count"]
            or info["bytes_used"] != info["reported_bytes_used"])


class ContainerUpdater(Daemon):
    name = "container-updater"
    config_class = ContainerUpdaterConfig

    def __init__(self, cluster: ClusterConfig, conf: Optional[Mapping[str, Any]] = None, *,
                 inherited: Optional[Mapping[str, Any]] = None, logger: Any = None,
                 account_ring: Any = None):
        super().__init__(cluster, conf, inherited=inherited, logger=logger)
        self.conf: ContainerUpdaterConfig
        self._account_ring = account_ring
        # db path -> its files' signature when it last needed no report
        self._up_to_date: dict[str, tuple] = {}

    @property
    def account_ring(self) -> Any:
        if self._account_ring is None:
            self._account_ring = load_ring(self.conf.swift_dir, "account", self.cluster.hasher)
        return self._account_ring

    def run_once(self) -> dict[str, int]:
        """One pass over every device; returns counts for tests and the log."""
        stats = {"checked": 0, "reported": 0, "unchanged": 0, "failed": 0, "errors": 0}
        pool = GreenPool(max(1, self.conf.concurrency))
        previous, self._up_to_date = self._up_to_date, {}
        for device_path in iter_devices(self.conf.devices, self.conf.mount_check,
                                        self.logger):
            for db_file in ContainerBroker.iter_on_device(device_path):
                signature = files_signature(db_file.path)
                if signature is not None and previous.get(db_file.path) == signature:
                    stats["checked"] += 1
                    stats["unchanged"] += 1
                    self._up_to_date[db_file.path] = signature
                    continue
                pool.spawn_n(self._process, db_file.path, stats, signature)
        pool.waitall()
        self.logger.info("container updater pass: %s", stats)
        return stats

    def _process(self, db_file: str, stats: dict[str, int],
                 signature: Optional[tuple] = None) -> None:
        """Report ``db_file`` if it needs it; ``signature`` was taken before it is read,
        so a write racing this read changes it and the next pass reads again."""
        stats["checked"] += 1
        broker = ContainerBroker(db_file, timeout=self.conf.db_timeout)
        try:
            info = broker.get_info()
            if not needs_report(info):
                stats["unchanged"] += 1
                if signature is not None:
                    self._up_to_date[db_file] = signature
                return
            if self.report(broker, info):
                stats["reported"] += 1
            else:
                stats["failed"] += 1
        except DatabaseError as err:
            stats["errors"] += 1
            self.logger.error("cannot update from %s: %s", db_file, err)
        except Exception:  # noqa: BLE001 - one bad database must not end the pass
            stats["errors"] += 1
            self.logger.exception("cannot update from %s", db_file)
        finally:
            broker.close()

    def report(self, broker: ContainerBroker, info: Mapping[str, Any]) -> bool:
        """Send ``info`` to the account's primaries; record it on a majority of 2xx."""
        account, container = info["account"], info["container"]
        partition, nodes = self.account_ring.get_nodes(account)
        targets = [AccountNode(node["ip"], int(node["port"]), node["device"], str(partition))
                   for node in nodes]
        statuses = send_reports(targets, account, container, report_headers(info),
                                self.conf.conn_timeout, self.conf.node_timeout)
        successes = sum(1 for status in statuses if status is not None and 200 <= status < 300)
        if successes >= len(targets) // 2 + 1:
            broker.reported(info["put_timestamp"], info["delete_timestamp"],
                            info["object_count"], info["bytes_used"])
            return True
        self.logger.info("update of /%s/%s reached %d of %d account servers",
                         account, container, successes, len(targets))
        return False


# A file changed this recently may change again within the same tick of the
# file system's clock, leaving its mtime (and a reused WAL's size) as it was.
SETTLED_NS = 2_000_000_000


def files_signature(db_path: str) -> Optional[tuple]:
    """What changes whenever the database's rows do: size, mtime and inode of
    the database file and of its write-ahead log.  None when it cannot be read
    or changed in the last two seconds (then the database is simply read)."""
    try:
        main = os.stat(db_path)
    except OSError:
        return None
    try:
        wal = os.stat(db_path + "-wal")
        wal_part: tuple = (wal.st_size, wal.st_mtime_ns, wal.st_ino)
    except FileNotFoundError:
        wal_part = ()
    except OSError:
        return None
    newest = max(main.st_mtime_ns, wal_part[1] if wal_part else 0)
    if newest > time.time_ns() - SETTLED_NS:
        return None
    return (main.st_size, main.st_mtime_ns, main.st_ino) + wal_part
