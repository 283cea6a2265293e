"""CRC-32 (the zlib/IEEE polynomial) of object bytes, as fast as this machine allows.

Every byte of an object is checksummed several times on its way: the proxy
for the trailer it sends, each object server on receipt and again whenever
it reads the file back.  zlib's CRC-32 ran at 2.5 GB/s per core here, so on
a large upload those passes were a sixth of all the CPU the cluster spent.
zlib-ng computes the same checksum with carry-less multiply instructions at
7.8 GB/s; the values are identical, so data written with either is read
with either.  Where zlib-ng is not installed, zlib's is used.
"""
from __future__ import annotations

__all__ = ["crc32"]   # crc32(data, value=0) -> int, exactly as zlib.crc32

try:
    from zlib_ng.zlib_ng import crc32
except ImportError:  # pragma: no cover - the declared dependency is missing
    from zlib import crc32
