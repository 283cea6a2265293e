"""The object sync wire format, shared by the sender (replicator) and the receiver.

Replication talks plain HTTP to the object server; no rsync daemon:

``REPLICATE /<dev>/<part>[/<suffix>-<suffix>...]``
    answers ``{suffix: digest}`` (JSON) for the partition, recomputing the
    named suffixes first.

``SSYNC /<dev>/<part>`` with ``X-Backend-Sync-Phase: missing-check``
    body ``{"hashes": {hash: [file names]}}``: what the sender holds of the
    suffixes it wants to sync.  The answer ``{"wanted": {hash: [names]}}``
    lists the files the receiver lacks and would keep (newest wins).

``SSYNC /<dev>/<part>`` with ``X-Backend-Sync-Phase: updates``
    body: a sequence of records, each one header line and its bytes::

        {"hash": h, "file": "<timestamp>.data", "length": n, "metadata": {...}}\\n
        <n bytes>

    The answer ``{"stored": n, "skipped": n, "refused": ["<hash>/<file>: why", ...]}``.
    A skipped file lost to newer state on the receiver; a refused one failed
    its checksum and was not stored.  A malformed record ends the request
    with 400 (the records before it are stored).

Every body is sent chunked, so the sender never has to know sizes up front.
"""
from __future__ import annotations

import json
from typing import Any, Iterable, Iterator

PHASE_HEADER = "X-Backend-Sync-Phase"
MISSING_CHECK = "missing-check"
UPDATES = "updates"
MAX_HEADER_LINE = 1 << 20  # metadata is limited far below this


class SyncProtocolError(ValueError):
    """Bytes that are not a valid sync request (answered with 400)."""


def encode_record_header(name_hash: str, name: str, length: int,
                         metadata: dict[str, str]) -> bytes:
    # ensure_ascii: metadata may hold surrogate escapes of non-UTF-8 header bytes
    doc = {"hash": name_hash, "file": name, "length": length, "metadata": metadata}
    return json.dumps(doc, sort_keys=True).encode("ascii") + b"\n"


def _check_header(doc: Any) -> tuple[str, str, int, dict[str, str]]:
    if not isinstance(doc, dict):
        raise SyncProtocolError("record header is not an object")
    name_hash, name, length, metadata = (doc.get("hash"), doc.get("file"),
                                         doc.get("length"), doc.get("metadata"))
    if not isinstance(name_hash, str) or not isinstance(name, str) \
            or "/" in name or name in ("", ".", ".."):
        raise SyncProtocolError("record header needs a hash and a file name")
    if not isinstance(length, int) or isinstance(length, bool) or length < 0:
        raise SyncProtocolError("record length must be a non-negative integer")
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise SyncProtocolError("record metadata must map strings to strings")
    return name_hash, name, length, metadata


class RecordReader:
    """Splits a stream of body chunks into records; each record's bytes stream too."""

    def __init__(self, chunks: Iterable[bytes]):
        self._chunks = iter(chunks)
        self._buffer = b""
        self._eof = False

    def _fill(self) -> bool:
        if self._eof:
            return False
        try:
            self._buffer += next(self._chunks)
        except StopIteration:
            self._eof = True
            return False
        return True

    def _read_line(self) -> bytes:
        while b"\n" not in self._buffer:
            if len(self._buffer) > MAX_HEADER_LINE:
                raise SyncProtocolError("record header line too long")
            if not self._fill():
                if self._buffer:
                    raise SyncProtocolError("body ends inside a record header")
                return b""
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _body(self, length: int) -> Iterator[bytes]:
        remaining = length
        while remaining:
            if not self._buffer and not self._fill():
                raise SyncProtocolError("body ends %d bytes inside a record" % remaining)
            piece, self._buffer = self._buffer[:remaining], self._buffer[remaining:]
            remaining -= len(piece)
            yield piece

    def __iter__(self) -> Iterator[tuple[str, str, dict[str, str], Iterator[bytes]]]:
        """``(hash, file name, metadata, bytes)``; consume the bytes before the next."""
        while True:
            line = self._read_line()
            if not line:
                return
            try:
                doc = json.loads(line.decode("ascii"))
            except (UnicodeDecodeError, ValueError):
                raise SyncProtocolError("record header is not JSON") from None
            name_hash, name, length, metadata = _check_header(doc)
            body = self._body(length)
            yield name_hash, name, metadata, body
            for _ in body:  # whatever the consumer left unread
                pass


def decode_json_body(body: bytes, key: str) -> dict[str, list[str]]:
    """``{hash: [names]}`` under ``key`` of a JSON body, checked."""
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise SyncProtocolError("body is not JSON") from None
    value = doc.get(key) if isinstance(doc, dict) else None
    if not isinstance(value, dict) or not all(
            isinstance(h, str) and isinstance(names, list)
            and all(isinstance(n, str) for n in names) for h, names in value.items()):
        raise SyncProtocolError("%r must map hashes to lists of file names" % key)
    return value


def encode_json(doc: Any) -> bytes:
    return json.dumps(doc, sort_keys=True).encode("ascii")
