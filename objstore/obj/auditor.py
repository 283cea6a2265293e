"""The object auditor: finds rotten replicas before a client reads them.

A replica nobody reads can rot for months; by the time a client asks, the
other replicas may have failed too.  Each pass walks every object of every
policy on every local device and, through the DiskFile seam only:

- opens it, which checks that its metadata decodes and that the file's size
  matches its ``Content-Length``; then checks that the metadata carries what a
  ``.data`` must (``X-Timestamp`` naming this file, ``Content-Length``, an MD5
  ``ETag``);
- in ``full`` mode reads every byte and compares the MD5 with the ``ETag``
  (``quick`` mode stops after the sizes and metadata: a cheap pass that
  catches truncated files and broken xattrs);
- quarantines a bad object (moved aside, never deleted), which also marks its
  suffix changed so the next replication pass restores a good copy.

Walking a suffix also drops files the newest-wins rules make obsolete (a
``.meta`` or metadata sidecar left without its ``.data``), and each device's
temp area loses files no write has touched for ``temp_max_age`` seconds.
Reads are held to ``bytes_per_second`` and ``files_per_second`` so the
auditor never crowds out client traffic.
"""
from __future__ import annotations

import dataclasses
import re
import time
from typing import Any, Iterator, Mapping, Optional

from objstore.common.cluster_config import ClusterConfig
from objstore.common.config import ConfigError
from objstore.common.daemon import Daemon, DaemonConfig
from objstore.common.timestamp import InvalidTimestamp, Timestamp
from objstore.obj.diskfile import (DiskFile, DiskFileDeviceUnavailable, DiskFileError,
                                   DiskFileManager, DiskFileNotExist, DiskFileQuarantined,
                                   DiskFileRouter, fs_managers)
from objstore.obj.diskfile import integrity
from objstore.obj.diskfile.rules import DATA_EXT
from objstore.obj.throttle import RateLimiter

AUDIT_MODES = ("full", "quick")
_MD5_HEX = re.compile(r"^[0-9a-f]{32}$")


@dataclasses.dataclass
class ObjectAuditorConfig(DaemonConfig):
    interval: float = 1800.0
    # full: read every byte and check the MD5; quick: only sizes and metadata.
    mode: str = "full"
    # Object bytes read per second, and objects opened per second (0: no limit).
    bytes_per_second: float = 10_000_000.0
    files_per_second: float = 20.0
    # Temp files untouched this long are abandoned writes (seconds).
    temp_max_age: float = 86400.0
    disk_chunk_size: int = 65536
    log_name: str = "object-auditor"

    def validate(self) -> None:
        if self.mode not in AUDIT_MODES:
            raise ConfigError("option 'mode' must be one of %s" % ", ".join(AUDIT_MODES))
        self.require_at_least(bytes_per_second=0, files_per_second=0, temp_max_age=0,
                              disk_chunk_size=1)


@dataclasses.dataclass
class AuditStats:
    mode: str = "full"
    objects: int = 0
    passed: int = 0
    quarantined: int = 0
    errors: int = 0
    bytes_read: int = 0
    temp_files_removed: int = 0
    seconds: float = 0.0

    def __str__(self) -> str:
        return ("%s: %d objects, %d passed, %d quarantined, %d errors, %d bytes read, "
                "%d stale temp files removed in %.2fs" % (
                    self.mode, self.objects, self.passed, self.quarantined, self.errors,
                    self.bytes_read, self.temp_files_removed, self.seconds))


def metadata_problem(df: DiskFile) -> Optional[str]:
    """Why an opened object's ``.data`` metadata cannot be trusted, or None."""
    meta = df.data_metadata
    stamp = meta.get("X-Timestamp")
    try:
        if stamp is None or Timestamp(stamp) != df.data_timestamp:
            return "X-Timestamp %r does not name the file %s" % (stamp, df.data_timestamp)
    except (InvalidTimestamp, ValueError):
        return "X-Timestamp %r is not a timestamp" % stamp
    if not meta.get("Content-Length", "").isdigit():
        return "Content-Length %r is not a size" % meta.get("Content-Length")
    if not _MD5_HEX.match(meta.get("ETag", "").strip('"').lower()):
        return "ETag %r is not an MD5" % meta.get("ETag")
    return integrity.crc_problem(meta)


class ObjectAuditor(Daemon):
    name = "object-auditor"
    config_class = ObjectAuditorConfig
    conf: ObjectAuditorConfig

    def __init__(self, cluster: ClusterConfig, conf: Optional[Mapping[str, Any]] = None, *,
                 inherited: Optional[Mapping[str, Any]] = None, logger: Any = None,
                 managers: Optional[DiskFileRouter] = None):
        super().__init__(cluster, conf, inherited=inherited, logger=logger)
        self.managers = managers or fs_managers(cluster.policies, self.conf.devices,
                                                cluster.hasher,
                                                mount_check=self.conf.mount_check)

    def run_once(self, mode: Optional[str] = None) -> AuditStats:
        """One pass over every object on every local device; ``mode`` overrides the config's."""
        began = time.time()
        stats = AuditStats(mode=mode or self.conf.mode)
        byte_budget = RateLimiter(self.conf.bytes_per_second)
        file_budget = RateLimiter(self.conf.files_per_second)
        cleaned_devices: set[str] = set()
        for manager in self.managers:
            for device in manager.list_devices():
                try:
                    if device not in cleaned_devices:  # the temp area is the device's
                        cleaned_devices.add(device)
                        stats.temp_files_removed += manager.remove_stale_temp_files(
                            device, self.conf.temp_max_age)
                    for partition, name_hash in self._walk(manager, device):
                        if self.stopping:
                            break
                        file_budget.consume(1)
                        self._audit(manager, device, partition, name_hash, stats,
                                    byte_budget)
                except (DiskFileDeviceUnavailable, OSError) as err:
                    stats.errors += 1
                    self.logger.error("object auditor: device %s skipped: %s", device, err)
        stats.seconds = time.time() - began
        self.logger.info("object-auditor pass %s", stats)
        return stats

    @staticmethod
    def _walk(manager: DiskFileManager, device: str) -> Iterator[tuple[str, str]]:
        """``(partition, hash)`` of every object with a ``.data``; cleans each suffix."""
        for partition in manager.list_partitions(device):
            for suffix in manager.list_suffixes(device, partition):
                for name_hash, names in manager.list_hashes(device, partition,
                                                            suffix).items():
                    if any(name.endswith(DATA_EXT) for name in names):
                        yield partition, name_hash

    def _audit(self, manager: DiskFileManager, device: str, partition: str,
               name_hash: str, stats: AuditStats, byte_budget: RateLimiter) -> None:
        stats.objects += 1
        df = manager.get_diskfile_by_hash(device, partition, name_hash)
        try:
            # past its X-Delete-At it is still on disk until the expirer runs, and may rot
            df.open(open_expired=True)
            problem = metadata_problem(df)
            if problem:
                df.quarantine(problem)
            if stats.mode == "full":
                for chunk in df.reader(chunk_size=self.conf.disk_chunk_size):
                    stats.bytes_read += len(chunk)
                    byte_budget.consume(len(chunk))
            stats.passed += 1
        except DiskFileQuarantined as err:
            stats.quarantined += 1
            self.logger.error("object auditor: quarantined %s/%s/%s (policy %d): %s",
                              device, partition, name_hash, manager.policy_index, err)
        except DiskFileNotExist:
            stats.objects -= 1  # deleted or overwritten since the walk saw it
        except (DiskFileError, OSError) as err:
            stats.errors += 1
            self.logger.error("object auditor: cannot audit %s/%s/%s: %s", device,
                              partition, name_hash, err)
        finally:
            df.close()
