"""The compact ring file (``*.ring.gz``) every server loads: format and codec.

Layout, gzip-compressed as one stream::

    b"OSRING"            magic (6 bytes)
    version              uint16, big-endian (this module writes 1)
    header length        uint32, big-endian
    header               UTF-8 JSON: part_power, replica_count, devs (list indexed
                         by device id, null for holes), byteorder of the table
    table                replica_count rows of 2**part_power uint16 device ids

The table is the only large part and loads with a single ``array.frombytes`` per
replica, so a 2^18-partition ring loads in milliseconds.  No pickle: the file is
readable by any language and a reader refuses versions it does not know.
"""
from __future__ import annotations

import dataclasses
import gzip
import json
import os
import struct
import sys
import zlib
from array import array
from objstore.common.durable_fs import write_file_atomic
from objstore.ring.devices import NO_DEVICE

MAGIC = b"OSRING"
FORMAT_VERSION = 1
_PREAMBLE = struct.Struct(">HI")


class RingFileError(ValueError):
    """A ring file that is not one, is damaged, or has a version we cannot read."""


@dataclasses.dataclass
class RingData:
    """What a server needs to place names: devices and the replica -> part -> device table."""
    part_power: int
    devs: list                       # index = device id; None where no device
    replica2part2dev: list           # list of array('H'), one per replica

    @property
    def replica_count(self) -> int:
        return len(self.replica2part2dev)

    @property
    def part_shift(self) -> int:
        return 32 - self.part_power


def encode_ring(data: RingData) -> bytes:
    parts = 1 << data.part_power
    for row in data.replica2part2dev:
        if len(row) != parts:
            raise ValueError("every replica row must have %d partitions" % parts)
        if NO_DEVICE in row:
            raise ValueError("the ring has unassigned partitions; rebalance first")
    header = json.dumps({
        "part_power": data.part_power,
        "replica_count": data.replica_count,
        "part_shift": data.part_shift,
        "byteorder": "little",
        "devs": data.devs,
    }, sort_keys=True, separators=(",", ":")).encode("utf-8")
    chunks = [MAGIC, _PREAMBLE.pack(FORMAT_VERSION, len(header)), header]
    for row in data.replica2part2dev:
        if sys.byteorder != "little":
            row = array("H", row)
            row.byteswap()
        chunks.append(row.tobytes())
    return gzip.compress(b"".join(chunks), compresslevel=6, mtime=0)


def decode_ring(blob: bytes) -> RingData:
    try:
        raw = gzip.decompress(blob)
    except (OSError, EOFError, zlib.error) as err:
        raise RingFileError("not a gzip ring file: %s" % err) from None
    if raw[:len(MAGIC)] != MAGIC:
        raise RingFileError("not an objstore ring file (bad magic)")
    offset = len(MAGIC)
    try:
        version, header_len = _PREAMBLE.unpack_from(raw, offset)
    except struct.error:
        raise RingFileError("ring file is truncated") from None
    if version != FORMAT_VERSION:
        raise RingFileError("ring file format version %d is not supported (want %d)"
                            % (version, FORMAT_VERSION))
    offset += _PREAMBLE.size
    try:
        header = json.loads(raw[offset:offset + header_len].decode("utf-8"))
        part_power = int(header["part_power"])
        replicas = int(header["replica_count"])
        devs = header["devs"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as err:
        raise RingFileError("ring file header is damaged: %s" % err) from None
    offset += header_len
    row_bytes = 2 << part_power
    if len(raw) != offset + row_bytes * replicas:
        raise RingFileError("ring file table has the wrong size")
    table = []
    for _replica in range(replicas):
        row = array("H")
        row.frombytes(raw[offset:offset + row_bytes])
        if header.get("byteorder", "little") != sys.byteorder:
            row.byteswap()
        offset += row_bytes
        table.append(row)
    data = RingData(part_power=part_power, devs=devs, replica2part2dev=table)
    check_ring(data)
    return data


def write_ring_file(path: str, data: RingData) -> None:
    """Write atomically: a server reloading mid-write sees the old ring or the new one."""
    write_file_atomic(os.path.abspath(path), encode_ring(data))


def read_ring_file(path: str) -> RingData:
    with open(path, "rb") as handle:
        return decode_ring(handle.read())


def check_ring(data: RingData) -> None:
    """Refuse a table that names a device the header does not have."""
    if not isinstance(data.devs, list):
        raise RingFileError("ring file header has no device list")
    known = {i for i, dev in enumerate(data.devs) if dev}
    for row in data.replica2part2dev:
        if not set(row) <= known:
            raise RingFileError("ring table names devices missing from the header")
