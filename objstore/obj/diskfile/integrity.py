"""Which checksum proves an object's bytes on disk are the bytes that were written.

A whole-file read (a GET of the whole object, the auditor's full pass) must
catch rot before the corrupt bytes count as the object.  The ETag (MD5) can
prove it, but MD5 runs at about 570 MiB/s per core on the target machine:
it was the object server's largest cost on a large GET (1.8 s of CPU per GiB
served).  CRC32 (zlib, about 2950 MiB/s per core) catches every error burst
of up to 32 bits and all but one in 2**32 of the others, which is what media
rot and torn writes look like, so it is enough for *at rest* checks.  The MD5
keeps guarding what a weak checksum must not: the client's ETag on PUT and
every replicated copy (:func:`objstore.obj.diskfile.interface.check_received_data`).

So a writer stores the CRC32 of the bytes it wrote in the object's internal
metadata (``CRC_KEY``), and a whole read checks it when it is there; objects
written before it existed fall back to the MD5.  The stored value names the
ETag it was computed beside (``"<crc32 hex> <etag>"``): a read that finds a
different ETag in the metadata treats the object as corrupt, so a damaged
ETag cannot be served just because the data's CRC still matches.

The key starts with ``X-Backend-``: bound to the ``.data`` (a POST's ``.meta``
never replaces it, see :data:`.rules.DATA_BOUND_PREFIXES`) and never among
the headers the object server answers with.
"""
from __future__ import annotations

import hashlib
import re
from typing import Mapping, Optional

from objstore.common.fast_crc32 import crc32

CRC_KEY = "X-Backend-Data-Crc32"
_CRC_VALUE = re.compile(r"\A([0-9a-f]{8}) ([0-9a-f]{32})\Z")


def crc_value(crc: int, etag: str) -> str:
    """The stored form of a body's CRC32 and the ETag it was computed beside."""
    return "%08x %s" % (crc & 0xFFFFFFFF, etag.strip('"'))


def parse_crc_value(value: Optional[str]) -> Optional[tuple[int, str]]:
    """``(crc, etag)`` from a stored value; None when absent or malformed."""
    match = _CRC_VALUE.match(value or "")
    if match is None:
        return None
    return int(match.group(1), 16), match.group(2)


def crc_problem(metadata: Mapping[str, str]) -> Optional[str]:
    """Why a stored CRC cannot be used (the auditor quarantines for it), or None."""
    value = metadata.get(CRC_KEY)
    if value is None:
        return None
    parsed = parse_crc_value(value)
    if parsed is None:
        return "%s %r is not a CRC32 and an ETag" % (CRC_KEY, value)
    if parsed[1] != metadata.get("ETag", "").strip('"'):
        return "%s was stored with ETag %s, metadata says %r" % (
            CRC_KEY, parsed[1], metadata.get("ETag"))
    return None


def with_crc(metadata: Mapping[str, str], crc: int, etag: str) -> dict[str, str]:
    """A copy of ``metadata`` that records the CRC32 of the body it describes."""
    stored = dict(metadata)
    stored[CRC_KEY] = crc_value(crc, etag)
    return stored


class WholeReadCheck:
    """The running checksum of one whole-file read, and its verdict at the end.

    CRC32 when the ``.data``'s metadata stores one that can be used, else MD5
    against the ETag.  A stored CRC that cannot be used (malformed) falls
    back to the MD5 rather than quarantining a body that may be intact.
    """

    def __init__(self, data_metadata: Mapping[str, str]) -> None:
        self._etag = data_metadata.get("ETag", "").strip('"')
        parsed = parse_crc_value(data_metadata.get(CRC_KEY))
        self._expected_crc: Optional[int] = None
        self._crc_etag = ""
        self._md5 = None
        self._crc = 0
        if parsed is not None:
            self._expected_crc, self._crc_etag = parsed
        else:
            self._md5 = hashlib.md5(usedforsecurity=False)

    @property
    def uses_crc(self) -> bool:
        return self._expected_crc is not None

    def update(self, chunk: bytes) -> None:
        if self._md5 is None:
            self._crc = crc32(chunk, self._crc)
        else:
            self._md5.update(chunk)

    def problem(self) -> Optional[str]:
        """Why the bytes read do not match what was stored, or None."""
        if self._md5 is not None:
            got = self._md5.hexdigest()
            if self._etag and got != self._etag:
                return "checksum mismatch on read: MD5 %s, stored ETag %s" % (got, self._etag)
            return None
        if self._crc_etag != self._etag:
            return "checksum mismatch on read: ETag %r, CRC32 stored beside ETag %s" % (
                self._etag, self._crc_etag)
        if self._crc != self._expected_crc:
            return "checksum mismatch on read: CRC32 %08x, stored %08x" % (
                self._crc, self._expected_crc)
        return None
