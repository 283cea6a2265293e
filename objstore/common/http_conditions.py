"""Conditional requests and byte ranges (RFC 7232 / RFC 7233), server side.

Generic HTTP: the object server answers with these, and the proxy can reuse
them for anything it answers itself.  Nothing here knows about storage.
"""
from __future__ import annotations

import email.utils
import uuid
from typing import Callable, Iterable, Iterator, Mapping, Optional

MAX_RANGES = 100


class RangeNotSatisfiable(Exception):
    """No requested range overlaps the body (416)."""


def parse_range(header: Optional[str], length: int) -> Optional[list[tuple[int, int]]]:
    """``[(start, end_exclusive), ...]`` for a ``Range`` header against ``length`` bytes.

    None means "ignore the header, send the whole body" (absent, not a
    ``bytes=`` range, syntactically invalid, or too many ranges), as RFC 7233
    asks.  Raises :class:`RangeNotSatisfiable` when it is valid but nothing
    in it overlaps the body.
    """
    if not header:
        return None
    unit, sep, spec = header.strip().partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    parts = [p.strip() for p in spec.split(",")]
    if not parts or len(parts) > MAX_RANGES:
        return None
    ranges: list[tuple[int, int]] = []
    for part in parts:
        first, dash, last = part.partition("-")
        first, last = first.strip(), last.strip()
        if not dash or not part.isascii() or (first and not first.isdigit()) \
                or (last and not last.isdigit()):
            return None
        if not first and not last:
            return None
        if not first:
            suffix = int(last)
            if suffix > 0 and length > 0:
                ranges.append((max(0, length - suffix), length))
            continue
        start = int(first)
        end = int(last) + 1 if last else length
        if last and int(last) < start:
            return None
        if start < length:
            ranges.append((start, min(end, length)))
    if not ranges:
        raise RangeNotSatisfiable()
    return ranges


def _etag_list(header: str) -> list[str]:
    tags = []
    for item in header.split(","):
        item = item.strip()
        if item.startswith("W/"):
            item = item[2:]
        tags.append(item.strip('"'))
    return [t for t in tags if t]


def _etag_matches(header: str, etag: Optional[str]) -> bool:
    if etag is None:
        return False
    tags = _etag_list(header)
    return "*" in tags or etag.strip('"') in tags


def _http_date_seconds(value: str) -> Optional[float]:
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    return parsed.timestamp()


def evaluate_preconditions(headers: Mapping[str, str], method: str, etag: Optional[str],
                           last_modified: Optional[float]) -> Optional[int]:
    """None to go ahead, or the status to answer: 304 or 412.

    Order follows RFC 7232 section 6, except that If-Unmodified-Since is
    checked even when If-Match matched: Swift answers 412 when either
    fails, and Swift clients send both to mean "this version, unchanged
    since".  ``last_modified`` is in whole seconds (as sent in
    Last-Modified); ``etag`` is the current entity tag, unquoted.
    """
    read = method in ("GET", "HEAD")
    if_match = headers.get("If-Match")
    if if_match is not None and not _etag_matches(if_match, etag):
        return 412
    since = headers.get("If-Unmodified-Since")
    when = _http_date_seconds(since) if since else None
    if when is not None and last_modified is not None and last_modified > when:
        return 412
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        if _etag_matches(if_none_match, etag):
            return 304 if read else 412
    elif read:
        since = headers.get("If-Modified-Since")
        when = _http_date_seconds(since) if since else None
        if when is not None and last_modified is not None and last_modified <= when:
            return 304
    return None


def content_range(start: int, end: int, length: int) -> str:
    """``Content-Range`` for ``[start, end)``."""
    return "bytes %d-%d/%d" % (start, end - 1, length)


def unsatisfiable_range(length: int) -> str:
    return "bytes */%d" % length


def new_boundary() -> str:
    return uuid.uuid4().hex


def multipart_byteranges(ranges: Iterable[tuple[int, int]], length: int, content_type: str,
                         boundary: str,
                         read_range: Callable[[int, int], Iterable[bytes]]) -> Iterator[bytes]:
    """The body of a ``multipart/byteranges`` answer, streamed part by part."""
    for start, end in ranges:
        head = "--%s\r\nContent-Type: %s\r\nContent-Range: %s\r\n\r\n" % (
            boundary, content_type, content_range(start, end, length))
        yield head.encode("latin-1", "replace")
        yield from read_range(start, end)
        yield b"\r\n"
    yield ("--%s--\r\n" % boundary).encode("ascii")


def multipart_length(ranges: Iterable[tuple[int, int]], length: int, content_type: str,
                     boundary: str) -> int:
    """Exact byte count of :func:`multipart_byteranges` output (for Content-Length)."""
    total = 0
    for start, end in ranges:
        head = "--%s\r\nContent-Type: %s\r\nContent-Range: %s\r\n\r\n" % (
            boundary, content_type, content_range(start, end, length))
        total += len(head.encode("latin-1", "replace")) + (end - start) + 2
    return total + len(("--%s--\r\n" % boundary).encode("ascii"))
