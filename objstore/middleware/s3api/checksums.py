"""The x-amz-checksum-* headers current SDKs send: CRC32, CRC32C, SHA-1, SHA-256.

Values are base64 of the big-endian digest.  CRC32C (Castagnoli) has no
standard-library implementation, so it is a small table-driven one here.
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
from types import MappingProxyType
from typing import Any, Callable, Mapping, Optional

from objstore.common.fast_crc32 import crc32

ALGORITHMS = ("crc32", "crc32c", "sha1", "sha256")


def _crc32c_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC32C_TABLE = _crc32c_table()


class Crc32c:
    """hashlib-style CRC32C (reflected polynomial 0x82F63B78)."""

    def __init__(self) -> None:
        self.crc = 0xFFFFFFFF

    def update(self, data: bytes) -> None:
        crc, table = self.crc, _CRC32C_TABLE
        for byte in data:
            crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
        self.crc = crc

    def digest(self) -> bytes:
        return (self.crc ^ 0xFFFFFFFF).to_bytes(4, "big")


class Crc32:
    def __init__(self) -> None:
        self.crc = 0

    def update(self, data: bytes) -> None:
        self.crc = crc32(data, self.crc)

    def digest(self) -> bytes:
        return self.crc.to_bytes(4, "big")


_FACTORIES: Mapping[str, Callable[[], Any]] = MappingProxyType({
    "crc32": Crc32, "crc32c": Crc32c, "sha1": hashlib.sha1, "sha256": hashlib.sha256})


def new_hasher(algorithm: str) -> Any:
    return _FACTORIES[algorithm]()


def encode_digest(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


@dataclasses.dataclass(frozen=True)
class Checksum:
    """One checksum a request states: ``header`` (x-amz-checksum-crc32...) and its value."""

    algorithm: str
    value: str

    @property
    def header(self) -> str:
        return "x-amz-checksum-" + self.algorithm

    def matches(self, data: bytes) -> bool:
        hasher = new_hasher(self.algorithm)
        hasher.update(data)
        return encode_digest(hasher.digest()) == self.value


def request_checksum(headers: Mapping[str, str]) -> Optional[Checksum]:
    """The request's x-amz-checksum-<algorithm> header, if it sends one."""
    for algorithm in ALGORITHMS:
        value = headers.get("x-amz-checksum-" + algorithm)
        if value is not None:
            return Checksum(algorithm, value.strip())
    return None
