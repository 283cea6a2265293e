"""Where account and container databases lie on a device, for the daemons that walk them.

The layout is ``<device>/<datadir>/<part>/<suffix>/<hash>/<hash>.db``
(:func:`objstore.common.db.db_path` builds one path).  The updater,
replicators, auditors and reaper all walk it through :func:`iter_db_files`
and remove a database through :func:`remove_db`, so the layout has one
owner.  Nothing here opens SQLite: that is the brokers' job.
"""
from __future__ import annotations

import os
import shutil
from typing import Any, Iterator, NamedTuple

from objstore.common.durable_fs import check_device, fsync_dir


class DbFile(NamedTuple):
    """One database found on a device."""

    partition: int
    name_hash: str
    path: str


def _sorted_entries(path: str) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except (FileNotFoundError, NotADirectoryError):
        return []


def iter_devices(devices: str, mount_check: bool, logger: Any = None) -> Iterator[str]:
    """The path of every usable device under ``devices`` (unmounted ones are logged, skipped)."""
    for device in _sorted_entries(devices):
        device_path = check_device(devices, device, mount_check)
        if device_path is None:
            if logger is not None:
                logger.warning("skipping %s: not mounted", device)
            continue
        yield device_path


def iter_partitions(device_path: str, datadir: str) -> Iterator[int]:
    """The partition numbers that have a directory under ``<device>/<datadir>``."""
    names = _sorted_entries(os.path.join(device_path, datadir))
    yield from sorted(int(part) for part in names if part.isdigit())


def iter_db_files(device_path: str, datadir: str,
                  partition: int | None = None) -> Iterator[DbFile]:
    """Every ``<hash>.db`` on the device (or in one partition), in directory order.

    Stray entries (temp files, a hash directory whose database is missing)
    are skipped: another process may be creating or removing them.
    """
    parts = [partition] if partition is not None else iter_partitions(device_path, datadir)
    for part in parts:
        part_dir = os.path.join(device_path, datadir, str(part))
        for suffix in _sorted_entries(part_dir):
            suffix_dir = os.path.join(part_dir, suffix)
            for name_hash in _sorted_entries(suffix_dir):
                db_file = os.path.join(suffix_dir, name_hash, name_hash + ".db")
                if os.path.isfile(db_file):
                    yield DbFile(part, name_hash, db_file)


def remove_db(db_file: str) -> None:
    """Delete a database's hash directory (file, log and all), then empty parents.

    Used when a handoff copy has reached every primary or a deleted database
    outlived reclaim age; never for a corrupt one, which goes to quarantine.
    """
    hash_dir = os.path.dirname(db_file)
    shutil.rmtree(hash_dir, ignore_errors=True)
    parent = os.path.dirname(hash_dir)
    # Drop the suffix and partition directories once they are empty.
    for _level in range(2):
        try:
            os.rmdir(parent)
        except OSError:
            break  # not empty (or already gone): the rest stays
        parent = os.path.dirname(parent)
    if os.path.isdir(parent):
        fsync_dir(parent)
