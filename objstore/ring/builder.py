"""RingBuilder: the operator's offline tool that decides where partitions live.

The builder holds the device list, the replica -> partition -> device table and
when each partition last moved.  It is saved as versioned, gzip-compressed JSON
(never pickle) so an old builder file stays readable by a newer objstore and by
anything else that can read JSON.  Servers never load it: ``write_ring`` turns it
into the compact ring file they read (see ``ring_data``).
"""
from __future__ import annotations

import base64
import copy
import gzip
import json
import os
import sys
import time
import zlib
from array import array
from typing import Callable, Optional

from objstore.common.durable_fs import write_file_atomic
from objstore.ring.devices import (MAX_DEVICE_ID, NO_DEVICE, RingBuilderError,
                                   as_int, device_matches, normalize_device, parse_search_string,
                                   parse_weight)
from objstore.ring.placement import Placement, compute_balance, desired_parts
from objstore.ring.ring_data import RingData, write_ring_file

BUILDER_FORMAT = "objstore-ring-builder"
BUILDER_VERSION = 1
MAX_PART_POWER = 24
MAX_REPLICAS = 16
MAX_MIN_PART_HOURS = 24 * 365


def _pack(row: array) -> str:
    if sys.byteorder != "little":
        row = array(row.typecode, row)
        row.byteswap()
    return base64.b64encode(row.tobytes()).decode("ascii")


def _unpack(typecode: str, text: str, length: int) -> array:
    row = array(typecode)
    row.frombytes(base64.b64decode(text.encode("ascii"), validate=True))
    if sys.byteorder != "little":
        row.byteswap()
    if len(row) != length:
        raise ValueError("table row has %d entries, expected %d" % (len(row), length))
    return row


class RingBuilder:
    """Devices plus the partition table; ``rebalance`` decides, ``write_ring`` publishes."""

    def __init__(self, part_power: int, replicas: int, min_part_hours: int,
                 clock: Optional[Callable[[], float]] = None) -> None:
        self.part_power = as_int("part_power", part_power, 0, MAX_PART_POWER)
        self.replicas = as_int("replicas", replicas, 1, MAX_REPLICAS)
        self.min_part_hours = as_int("min_part_hours", min_part_hours, 0,
                                         MAX_MIN_PART_HOURS)
        self.clock = clock or time.time
        self.devs: list[Optional[dict]] = []
        # removed devices still named by the table until the next rebalance
        self._removed: dict[int, dict] = {}
        self._table: list[array] = []
        self._last_moved = array("I", bytes(4 << self.part_power))

    @property
    def parts(self) -> int:
        return 1 << self.part_power

    # -- devices --------------------------------------------------------------
    def _live(self) -> dict[int, dict]:
        return {dev["id"]: dev for dev in self.devs if dev is not None}

    def add_dev(self, dev: dict) -> int:
        """Add a device (an ``id`` is chosen when missing) and return its id."""
        new = normalize_device(dev)
        for other in self._live().values():
            if (other["ip"], other["port"], other["device"]) == (
                    new["ip"], new["port"], new["device"]):
                raise RingBuilderError("duplicate device: d%d already is %s:%d/%s" % (
                    other["id"], new["ip"], new["port"], new["device"]))
        taken = {d["id"] for d in self.devs if d is not None} | set(self._removed)
        if "id" in new:
            if new["id"] in taken:
                raise RingBuilderError("device id %d is already in use" % new["id"])
        else:
            new["id"] = next(i for i in range(MAX_DEVICE_ID + 2) if i not in taken)
            if new["id"] > MAX_DEVICE_ID:
                raise RingBuilderError("the ring is full (%d devices)" % (MAX_DEVICE_ID + 1))
        while len(self.devs) <= new["id"]:
            self.devs.append(None)
        self.devs[new["id"]] = new
        return new["id"]

    def _get_dev(self, dev_id) -> dict:
        try:
            dev = self.devs[int(dev_id)] if int(dev_id) >= 0 else None
        except (IndexError, TypeError, ValueError):
            dev = None
        if dev is None:
            raise RingBuilderError("unknown device id %r" % (dev_id,))
        return dev

    def remove_dev(self, dev_id: int) -> None:
        """Forget a device; its partitions move at the next rebalance."""
        dev = self._get_dev(dev_id)
        self.devs[dev["id"]] = None
        if self._table:
            self._removed[dev["id"]] = dev
        while self.devs and self.devs[-1] is None:
            self.devs.pop()

    def set_dev_weight(self, dev_id: int, weight: float) -> None:
        self._get_dev(dev_id)["weight"] = parse_weight(weight)

    def search_devs(self, search_str) -> list[dict]:
        """Devices matching a swift-style search string (``d3``, ``r1z2-10.0.0.1``, ``/sdb1``)
        or a dict of field -> value."""
        wanted = dict(search_str) if isinstance(search_str, dict) else \
            parse_search_string(search_str)
        return [copy.deepcopy(dev) for dev in self._live().values()
                if device_matches(dev, wanted)]

    def get_dev(self, dev_id: int) -> dict:
        return copy.deepcopy(self._get_dev(dev_id))

    # -- placement --------------------------------------------------------------
    def pretend_min_part_hours_passed(self) -> None:
        """Let every partition move at the next rebalance (for emergencies and tests)."""
        self._last_moved = array("I", bytes(4 * self.parts))

    def rebalance(self, seed: Optional[int] = None) -> tuple[int, float]:
        """Assign every replica; return (replica assignments moved, balance percent)."""
        # work on copies so a rebalance that fails leaves the builder untouched
        if self._table:
            table = [array("H", row) for row in self._table]
        else:
            table = [array("H", [NO_DEVICE]) * self.parts for _ in range(self.replicas)]
        last_moved = array("I", self._last_moved)
        placement = Placement(self._live(), set(self._removed), table, last_moved,
                              max(0, int(self.clock())), self.min_part_hours, seed)
        moved = placement.run()
        self._table, self._last_moved = table, last_moved
        self._removed.clear()
        return moved, placement.balance()

    def parts_per_device(self) -> dict[int, int]:
        counts = {dev_id: 0 for dev_id in self._live()}
        for row in self._table:
            for dev_id in row:
                if dev_id in counts:
                    counts[dev_id] += 1
        return counts

    def wanted_parts(self) -> dict[int, float]:
        return desired_parts(self._live(), self.parts, self.replicas)

    def get_balance(self) -> float:
        if not self._table:
            return 0.0
        return compute_balance(self._live(), self.parts_per_device(), self.wanted_parts())

    def device_balance(self, dev_id: int) -> float:
        """Percent this device is over (+) or under (-) its weight's share."""
        want = self.wanted_parts().get(dev_id, 0.0)
        have = self.parts_per_device().get(dev_id, 0)
        if want <= 0:
            return 0.0 if not have else 999.99
        return (have - want) * 100.0 / want

    def replica_devices(self, part: int) -> list[int]:
        return [row[part] for row in self._table]

    # -- output ---------------------------------------------------------------
    def get_ring_data(self) -> RingData:
        if not self._table or any(NO_DEVICE in row for row in self._table):
            raise RingBuilderError("the ring has not been rebalanced yet")
        devs: list = [None] * max(len(self.devs), max(self._removed, default=-1) + 1)
        for dev in list(self._live().values()) + list(self._removed.values()):
            devs[dev["id"]] = copy.deepcopy(dev)
        return RingData(part_power=self.part_power, devs=devs,
                        replica2part2dev=[array("H", row) for row in self._table])

    def write_ring(self, path: str) -> None:
        write_ring_file(path, self.get_ring_data())

    def to_dict(self) -> dict:
        return {
            "format": BUILDER_FORMAT,
            "version": BUILDER_VERSION,
            "part_power": self.part_power,
            "replicas": self.replicas,
            "min_part_hours": self.min_part_hours,
            "devs": self.devs,
            "removed_devs": list(self._removed.values()),
            "replica2part2dev": [_pack(row) for row in self._table],
            "last_moved": _pack(self._last_moved),
        }

    def save(self, path: str) -> None:
        blob = json.dumps(self.to_dict(), sort_keys=True).encode("utf-8")
        write_file_atomic(os.path.abspath(path), gzip.compress(blob, mtime=0))

    @classmethod
    def from_dict(cls, data: dict) -> "RingBuilder":
        if not isinstance(data, dict) or data.get("format") != BUILDER_FORMAT:
            raise RingBuilderError("not an objstore ring builder file")
        if data.get("version") != BUILDER_VERSION:
            raise RingBuilderError("builder file version %r is not supported" %
                                   (data.get("version"),))
        builder = cls(data["part_power"], data["replicas"], data["min_part_hours"])
        for dev in data["devs"]:
            if dev is not None:
                builder.add_dev(dev)
        for dev in data["removed_devs"]:
            builder._removed[dev["id"]] = normalize_device(dev)
        builder._table = [_unpack("H", row, builder.parts) for row in data["replica2part2dev"]]
        builder._last_moved = _unpack("I", data["last_moved"], builder.parts)
        if builder._table and len(builder._table) != builder.replicas:
            raise RingBuilderError("builder table has the wrong number of replicas")
        known = set(builder._live()) | set(builder._removed) | {NO_DEVICE}
        for row in builder._table:
            if not set(row) <= known:
                raise RingBuilderError("builder table names unknown devices")
        return builder

    @classmethod
    def load(cls, path: str) -> "RingBuilder":
        """Read a builder file; a damaged one raises RingBuilderError (missing: OSError)."""
        with open(path, "rb") as handle:
            blob = handle.read()
        try:
            data = json.loads(gzip.decompress(blob).decode("utf-8"))
            return cls.from_dict(data)
        except RingBuilderError as err:
            raise RingBuilderError("%s: %s" % (path, err)) from None
        except (OSError, EOFError, zlib.error, ValueError, KeyError, TypeError,
                AttributeError) as err:
            raise RingBuilderError("%s is not a valid ring builder file (%s)" % (
                path, err.__class__.__name__)) from None
