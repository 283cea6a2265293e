"""One MD5 per streamed object body, in the proxy; a CRC32 per copy in transit.

An object's ETag is the MD5 of its body, and until this module every object
server computed it for the copy it stored: three MD5 passes for one upload,
about 1.7 s of CPU per GiB each here, against 0.6 s for a CRC32.  For a body
it streams, the proxy now hashes once as the bytes go by and ends the
chunked request to each node with a trailer naming the MD5 and the CRC32 of
what it sent.  A node computes only the CRC32 of what it received; it
stores the object only when the two CRCs agree (no damage between proxy
and node) and the MD5 matches the ETag the client sent, if any.  The MD5
thus still covers client to proxy, the CRC32 proxy to disk, and the stored
CRC32 (see :mod:`objstore.obj.diskfile.integrity`) every later read.

Only the sender's request header turns this on, so a node that does not
know it hashes as before, and a node told to expect the trailer refuses a
body that ends without one.  Small bodies the proxy sends whole keep the
plain form: their hashing costs nothing next to the request around them.
"""
from __future__ import annotations

import hashlib
import re
from typing import Iterable, Optional

from objstore.common.fast_crc32 import crc32

# On the node's request: "trailer" when the body's checksums follow it.
CHECKS_HEADER = "X-Backend-Body-Checks"
CHECKS_IN_TRAILER = "trailer"
# On the node's request: the body's length, since a chunked body has no
# Content-Length (the node reserves the space and checks the count).
LENGTH_HEADER = "X-Backend-Obj-Content-Length"
MD5_TRAILER = "X-Backend-Body-Md5"
CRC32_TRAILER = "X-Backend-Body-Crc32"

_MD5_HEX = re.compile(r"[0-9a-f]{32}\Z")
_CRC32_HEX = re.compile(r"[0-9a-f]{8}\Z")


class BadTrailer(ValueError):
    """The trailer is missing a checksum or holds a malformed one."""


class BodyChecksums:
    """The MD5 and CRC32 of a body, fed chunk by chunk as it is sent."""

    def __init__(self) -> None:
        self._md5 = hashlib.md5(usedforsecurity=False)
        self.crc32 = 0

    def update(self, chunk: bytes) -> None:
        self._md5.update(chunk)
        self.crc32 = crc32(chunk, self.crc32)

    @property
    def md5_hex(self) -> str:
        return self._md5.hexdigest()

    def trailer(self) -> dict[str, str]:
        """The trailer fields that end the body's chunked request."""
        return {MD5_TRAILER: self.md5_hex, CRC32_TRAILER: "%08x" % self.crc32}


def wants_trailer(header_value: Optional[str]) -> bool:
    """True when a node's request says its checksums come in the trailer."""
    return (header_value or "").strip().lower() == CHECKS_IN_TRAILER


def read_trailer(fields: Iterable[tuple[str, str]]) -> tuple[str, int]:
    """The (MD5 hex, CRC32) a trailer names; :class:`BadTrailer` when it does not."""
    found = {name.lower(): value.strip().lower() for name, value in fields}
    md5_hex = found.get(MD5_TRAILER.lower())
    crc_hex = found.get(CRC32_TRAILER.lower())
    if md5_hex is None or crc_hex is None:
        raise BadTrailer("the body's trailer lacks %s or %s" % (MD5_TRAILER, CRC32_TRAILER))
    if not _MD5_HEX.match(md5_hex) or not _CRC32_HEX.match(crc_hex):
        raise BadTrailer("the body's trailer holds a malformed checksum")
    return md5_hex, int(crc_hex, 16)
