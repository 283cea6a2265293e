"""Ring: the read-only map every server and the proxy use to find a name's devices.

It loads the compact ring file written by the builder and reloads it when the
file changes on disk (checked at most every ``reload_time`` seconds, one
``stat``), so operators push a new ring without restarting anything.  Lookups are
a salted md5, a shift and one array index per replica: nothing is cached per name.
"""
from __future__ import annotations

import os
import random
import re
import struct
import time
from typing import Iterator, NamedTuple, Optional

from objstore.common.path_hash import HashPathNotConfigured, PathHasher
from objstore.ring.ring_data import RingData, read_ring_file

RING_NAME_RE = re.compile(r"^(account|container|object(-[0-9]+)?)$")
_top_32_bits = struct.Struct(">I").unpack_from
_monotonic = time.monotonic


class _Snapshot(NamedTuple):
    """One loaded ring, swapped in whole so a lookup never mixes two versions."""
    part_shift: int
    part_power: int
    devs: list                  # by device id, None for holes
    rows: list                  # [(replica index, array('H') part -> device id)]
    handoff_devs: list          # devices with weight > 0


class Ring:
    """Partition -> devices for one ring file (``account``, ``container``, ``object[-N]``)."""

    def __init__(self, path: str, hasher: Optional[PathHasher] = None,
                 reload_time: float = 15.0) -> None:
        self.path = path
        # Lookups by name need the cluster's salt; a ring read for its layout alone does not.
        self._hash_path = hasher.hash_path if hasher is not None else _no_hasher
        self.reload_time = reload_time
        self._file_id: tuple = ()
        self._next_check = 0.0
        self._load()

    # -- loading ----------------------------------------------------------------
    def _stat_id(self) -> tuple:
        st = os.stat(self.path)
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _load(self) -> None:
        file_id = self._stat_id()
        self._ring = self._snapshot(read_ring_file(self.path))
        self._file_id = file_id
        self._next_check = _monotonic() + self.reload_time

    @staticmethod
    def _snapshot(data: RingData) -> _Snapshot:
        devs = [dict(dev) if dev else None for dev in data.devs]
        return _Snapshot(part_shift=data.part_shift, part_power=data.part_power, devs=devs,
                         rows=list(enumerate(data.replica2part2dev)),
                         handoff_devs=[d for d in devs if d and d.get("weight", 0) > 0])

    def _current(self) -> _Snapshot:
        """The ring to use now, after a reload if the file changed (a bad file keeps the old)."""
        now = _monotonic()
        if now >= self._next_check:
            self._next_check = now + self.reload_time
            try:
                if self._stat_id() != self._file_id:
                    self._load()
            except (OSError, ValueError):
                pass  # keep serving the ring we have; the operator's next push fixes it
        return self._ring

    # -- properties -------------------------------------------------------------
    @property
    def partition_count(self) -> int:
        return 1 << self._current().part_power

    @property
    def replica_count(self) -> int:
        return len(self._current().rows)

    @property
    def part_power(self) -> int:
        return self._current().part_power

    @property
    def devs(self) -> list:
        """Devices by id (None for holes)."""
        return self._current().devs

    # -- lookups ----------------------------------------------------------------
    def get_part(self, account: str, container: Optional[str] = None,
                 obj: Optional[str] = None) -> int:
        """The partition of a name: the top ``part_power`` bits of its salted md5."""
        ring = self._ring if _monotonic() < self._next_check else self._current()
        digest = self._hash_path(account, container, obj, raw_digest=True)
        return _top_32_bits(digest)[0] >> ring.part_shift

    def get_part_nodes(self, part: int) -> list[dict]:
        """The primary devices of a partition, each with its replica ``index``."""
        ring = self._current()
        devs = ring.devs
        return [dict(devs[row[part]], index=index) for index, row in ring.rows]

    def get_nodes(self, account: str, container: Optional[str] = None,
                  obj: Optional[str] = None) -> tuple[int, list[dict]]:
        """(partition, primary devices) for a name."""
        ring = self._ring if _monotonic() < self._next_check else self._current()
        digest = self._hash_path(account, container, obj, raw_digest=True)
        part = _top_32_bits(digest)[0] >> ring.part_shift
        devs = ring.devs
        return part, [dict(devs[row[part]], index=index) for index, row in ring.rows]

    def get_more_nodes(self, part: int) -> Iterator[dict]:
        """Handoff devices for a partition, best first, never a primary.

        Order: devices in regions the primaries do not use, then in unused zones,
        then on unused hosts, then any other device.  Within each pass the order is
        a weighted shuffle seeded by the partition number, so every process (and
        every run) names the same handoffs and load spreads by weight.
        """
        ring = self._current()
        primaries = {row[part] for _index, row in ring.rows}
        used_regions, used_zones, used_hosts = set(), set(), set()

        def mark_used(dev: dict) -> None:
            used_regions.add(dev["region"])
            used_zones.add((dev["region"], dev["zone"]))
            used_hosts.add((dev["region"], dev["zone"], dev["ip"]))

        for dev_id in primaries:
            mark_used(ring.devs[dev_id])
        rng = random.Random(part)
        ranked = sorted(((rng.random() ** (1.0 / dev["weight"]), dev["id"])
                         for dev in ring.handoff_devs if dev["id"] not in primaries),
                        reverse=True)
        candidates = [ring.devs[dev_id] for _key, dev_id in ranked]
        passes = (
            lambda dev: dev["region"] not in used_regions,
            lambda dev: (dev["region"], dev["zone"]) not in used_zones,
            lambda dev: (dev["region"], dev["zone"], dev["ip"]) not in used_hosts,
            lambda dev: True,
        )
        handoff_index = len(ring.rows)
        yielded: set[int] = set()
        for is_wanted in passes:
            for dev in candidates:
                if dev["id"] in yielded or not is_wanted(dev):
                    continue
                yielded.add(dev["id"])
                mark_used(dev)
                yield dict(dev, index=handoff_index)
                handoff_index += 1


def _no_hasher(*_args: object, **_kwargs: object) -> bytes:
    raise HashPathNotConfigured("this ring was loaded without the cluster's PathHasher, "
                                "so it cannot look names up")


def load_ring(swift_dir: str, ring_name: str, hasher: Optional[PathHasher] = None,
              reload_time: float = 15.0) -> Ring:
    """Load ``<swift_dir>/<ring_name>.ring.gz`` for ``account``, ``container``, ``object[-N]``."""
    if not RING_NAME_RE.match(ring_name or ""):
        raise ValueError("unknown ring name %r (want account, container, object "
                         "or object-<policy index>)" % (ring_name,))
    return Ring(os.path.join(swift_dir, ring_name + ".ring.gz"), hasher,
                reload_time=reload_time)
