"""Request bodies checked as they stream: a signed SHA-256, or aws-chunked chunks.

Each reader checks the data *before* handing out its last bytes, and raises
:class:`BodyRefused` instead: the proxy then aborts the PUT (the object
servers never see a complete body), so a body that fails its check is never
stored.  The S3 error code is kept on the reader for the middleware's answer.
"""
from __future__ import annotations

import dataclasses
import hashlib
import re
from typing import Any, Callable, Optional

from objstore.common.http_wire import HttpParseError
from objstore.middleware.s3api import signing
from objstore.middleware.s3api.auth import AuthDetails
from objstore.middleware.s3api.errors import S3Error

# Bigger chunks than any SDK sends (they use 64 KiB to 8 MiB) are refused:
# a chunk is held whole until its signature checks.
MAX_CHUNK_SIZE = 16 * 1024 * 1024
_CHUNK_HEADER = re.compile(rb"([0-9a-fA-F]{1,8})(?:;chunk-signature=([0-9a-f]{64}))?\r\n\Z")
_MAX_LINE = 256


class BodyRefused(HttpParseError):
    """The body failed an S3 check; ``error`` is what to tell the client."""

    def __init__(self, error: S3Error):
        super().__init__(400, error.message)
        self.error = error


class CheckedInput:
    """Base: remembers the first refusal so the middleware can report it."""

    refused: Optional[S3Error] = None

    def _refuse(self, error: S3Error) -> BodyRefused:
        self.refused = error
        return BodyRefused(error)


@dataclasses.dataclass
class DigestCheck:
    """One digest the payload must match: ``expected()`` is read at the end
    (a trailer arrives only then); ``encode`` turns the digest into its text."""

    hasher: Any
    expected: Callable[[], Optional[str]]
    encode: Callable[[bytes], str]
    mismatch: Callable[[str], S3Error]
    # For an x-amz-checksum: its algorithm (crc32, sha256...).
    algorithm: str = ""

    def failure(self) -> Optional[S3Error]:
        computed = self.encode(self.hasher.digest())
        expected = self.expected()
        if expected is None:
            return S3Error("InvalidRequest", "The declared checksum trailer was not sent")
        return None if computed == expected else self.mismatch(computed)


class VerifiedInput(CheckedInput):
    """Passes ``length`` payload bytes through; the last read raises if a digest differs."""

    def __init__(self, raw: Any, length: int, checks: list[DigestCheck]):
        self.raw = raw
        self.left = length
        self.checks = checks

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        want = self.left if size is None or size < 0 else min(size, self.left)
        data = self.raw.read(want)
        if not data:
            raise self._refuse(S3Error("IncompleteBody"))
        self.left -= len(data)
        for check in self.checks:
            check.hasher.update(data)
        if self.left == 0:
            for check in self.checks:
                failure = check.failure()
                if failure is not None:
                    raise self._refuse(failure)
        return data


class AwsChunkedInput(CheckedInput):
    """The payload of an aws-chunked body, each chunk's signature checked (if signed).

    ``details`` carries the signing key and the seed signature (the request's);
    ``decoded_length`` is x-amz-decoded-content-length, which the payload
    must match exactly.  Trailer lines after the last chunk are collected in
    ``trailers`` (lower-cased names).
    """

    def __init__(self, raw: Any, details: Optional[AuthDetails], decoded_length: int,
                 signed: bool):
        self.raw = raw
        self.details = details
        self.signed = signed
        self.previous = details.signature if details else ""
        self.expected_length = decoded_length
        self.seen = 0
        self.buffer = b""
        self.done = False
        self.trailers: dict[str, str] = {}

    def _line(self) -> bytes:
        line = self.raw.readline(_MAX_LINE)
        if not line.endswith(b"\r\n"):
            raise self._refuse(S3Error("IncompleteBody", "The aws-chunked body is malformed"))
        return line

    def _next_chunk(self) -> None:
        match = _CHUNK_HEADER.match(self._line())
        if match is None or bool(match.group(2)) != self.signed:
            raise self._refuse(S3Error("IncompleteBody", "Bad aws-chunked chunk header"))
        size = int(match.group(1), 16)
        if size > MAX_CHUNK_SIZE:
            raise self._refuse(S3Error("InvalidArgument", "aws-chunked chunk too large"))
        data = b""
        while len(data) < size:
            piece = self.raw.read(size - len(data))
            if not piece:
                raise self._refuse(S3Error("IncompleteBody"))
            data += piece
        if size and self.raw.read(2) != b"\r\n":
            raise self._refuse(S3Error("IncompleteBody", "aws-chunked chunk not followed "
                                       "by CRLF"))
        if self.signed:
            self._check_chunk(data, match.group(2).decode("ascii"))
        self.seen += size
        if size == 0:
            self._read_trailers()
            if self.seen != self.expected_length:
                raise self._refuse(S3Error("IncompleteBody", "The aws-chunked payload does "
                                           "not match x-amz-decoded-content-length"))
            self.done = True
        elif self.seen > self.expected_length:
            raise self._refuse(S3Error("IncompleteBody", "The aws-chunked payload is longer "
                                       "than x-amz-decoded-content-length"))
        self.buffer = data

    def _check_chunk(self, data: bytes, given: str) -> None:
        details = self.details
        assert details is not None and details.signing_key is not None
        computed = signing.v4_chunk_signature(details.signing_key, details.amz_date,
                                              details.scope, self.previous,
                                              hashlib.sha256(data).hexdigest())
        if not signing.signatures_equal(computed, given):
            raise self._refuse(S3Error("SignatureDoesNotMatch", "The chunk signature does "
                                       "not match"))
        self.previous = given

    def _read_trailers(self) -> None:
        while True:
            line = self._line()
            if line == b"\r\n":
                return
            name, sep, value = line[:-2].decode("latin-1").partition(":")
            if not sep:
                raise self._refuse(S3Error("IncompleteBody", "Bad aws-chunked trailer"))
            self.trailers[name.strip().lower()] = value.strip()

    def read(self, size: int = -1) -> bytes:
        while not self.buffer and not self.done:
            self._next_chunk()
            if self.seen == self.expected_length and not self.done:
                # The payload is complete: check the closing chunk (and the
                # trailers) before handing out the last bytes, because a
                # reader stops reading once it has the announced length.
                data = self.buffer
                self._next_chunk()
                if not self.done:
                    raise self._refuse(S3Error("IncompleteBody", "The aws-chunked payload "
                                               "is longer than x-amz-decoded-content-length"))
                self.buffer = data
        if size is None or size < 0:
            size = len(self.buffer)
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data
