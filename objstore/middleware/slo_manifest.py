"""Static large object manifests: the PUT-able form, the stored form, and their checks.

A client PUTs a JSON list of ``{"path", "etag", "size_bytes", "range"}``
(or ``{"data": <base64>}`` inline bytes).  What is stored is the normalised
list Swift stores, ``{"name", "hash", "bytes", "content_type",
"last_modified", "range"?, "sub_slo"?}``, because GET must know every
segment's size and ETag without asking the segments.  Parsing here is pure
(no I/O) so every rule can be tested on its own; the HEAD checks of the
segments live in :mod:`objstore.middleware.slo`.
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
from typing import Any, Optional

from objstore.common.constraints import valid_utf8
from objstore.common.http_conditions import RangeNotSatisfiable, parse_range
from objstore.middleware.client_body import BodyError, load_json

ALLOWED_KEYS = frozenset(("path", "etag", "size_bytes", "range"))
MIN_SEGMENT_SIZE = 1
# A manifest is a list of objects holding strings and numbers: 2 levels.
MAX_MANIFEST_DEPTH = 2


class ManifestError(Exception):
    """The manifest as a whole is unusable (status and reason for the client)."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclasses.dataclass
class RequestedSegment:
    """One entry of a PUT manifest, syntax-checked."""
    index: int
    path: str = ""                 # "/container/object", decoded text
    # The path as the client wrote it (leading slash or not): error reports
    # name a segment this way so the client can match them to its manifest.
    given_path: str = ""
    etag: Optional[str] = None
    size_bytes: Optional[int] = None
    range_spec: Optional[str] = None
    data: Optional[bytes] = None


def parse_put_manifest(body: bytes, max_segments: int) -> list[RequestedSegment]:
    """The client's manifest as a list of segments; raises ManifestError (400/413)."""
    try:
        parsed = load_json(body, MAX_MANIFEST_DEPTH, what="Manifest")
    except BodyError as err:
        raise ManifestError(err.status, err.reason) from None
    if not isinstance(parsed, list):
        raise ManifestError(400, "Manifest must be a list.")
    if not parsed:
        raise ManifestError(400, "Manifest must have at least one segment.")
    if len(parsed) > max_segments:
        raise ManifestError(413, "Number of segments must be <= %d" % max_segments)
    errors = []
    segments = []
    for index, item in enumerate(parsed):
        try:
            segments.append(_parse_entry(index, item))
        except ValueError as err:
            errors.append("Index %d: %s" % (index, err))
    if errors:
        raise ManifestError(400, "\n".join(errors))
    return segments


def _parse_entry(index: int, item: Any) -> RequestedSegment:
    if not isinstance(item, dict):
        raise ValueError("not a JSON object")
    if "data" in item:
        if set(item) != {"data"}:
            raise ValueError("a data segment must have only the key \"data\"")
        try:
            data = base64.b64decode(item["data"], validate=True)
        except (TypeError, ValueError, binascii.Error):
            raise ValueError("data must be valid base64") from None
        if not data:
            raise ValueError("too small; each segment must be at least 1 byte.")
        return RequestedSegment(index, data=data)
    extra = sorted(set(item) - ALLOWED_KEYS)
    if extra:
        raise ValueError("extraneous keys %s" % ", ".join('"%s"' % k for k in extra))
    path = item.get("path")
    if not isinstance(path, str):
        raise ValueError("\"path\" must be a string")
    if not valid_utf8(path):
        raise ValueError("\"path\" must be valid UTF-8 without NUL")
    given_path, path = path, "/" + path.lstrip("/")
    container, _slash, obj = path[1:].partition("/")
    if not container or not obj:
        raise ValueError("path does not refer to an object. Path must be of the form "
                         "/container/object.")
    etag = item.get("etag")
    if etag is not None and not isinstance(etag, str):
        raise ValueError("\"etag\" must be a string or null")
    size = item.get("size_bytes")
    if size is not None:
        if isinstance(size, bool) or not isinstance(size, (int, str)) or \
                not str(size).strip().isdigit():
            raise ValueError("\"size_bytes\" must be an integer or null")
        size = int(size)
    range_spec = item.get("range")
    if range_spec is not None and not isinstance(range_spec, str):
        raise ValueError("\"range\" must be a string")
    return RequestedSegment(index, path=path, given_path=given_path,
                            etag=(etag or "").strip('"') or None, size_bytes=size,
                            range_spec=range_spec)


def resolve_range(spec: Optional[str], size: int) -> tuple[Optional[str], int]:
    """(normalised ``first-last`` or None when it covers the segment, length used).

    Raises ValueError with Swift's wording when the range is unusable.
    """
    if spec is None:
        return None, size
    try:
        ranges = parse_range("bytes=" + spec, size)
    except RangeNotSatisfiable:
        raise ValueError("Unsatisfiable Range") from None
    if ranges is None:
        raise ValueError("Invalid Range")
    if len(ranges) != 1:
        raise ValueError("Multiple Ranges")
    start, end = ranges[0]
    if start == 0 and end == size:
        return None, size
    return "%d-%d" % (start, end - 1), end - start


def entry_length(entry: dict) -> int:
    """Bytes one stored manifest entry contributes to the large object."""
    if "data" in entry:
        return len(base64.b64decode(entry["data"]))
    if entry.get("range"):
        first, _dash, last = entry["range"].partition("-")
        return int(last) - int(first) + 1
    return int(entry["bytes"])


def entry_range(entry: dict) -> tuple[int, int]:
    """``[start, end)`` of the segment object this entry uses."""
    if entry.get("range"):
        first, _dash, last = entry["range"].partition("-")
        return int(first), int(last) + 1
    return 0, int(entry["bytes"])


def slo_etag(entries: list[dict]) -> str:
    """Swift's SLO ETag: md5 over each segment's ETag (``etag:range;`` when ranged)."""
    digest = hashlib.md5()
    for entry in entries:
        if "data" in entry:
            digest.update(hashlib.md5(base64.b64decode(entry["data"])).hexdigest()
                          .encode("ascii"))
        elif entry.get("range"):
            digest.update(("%s:%s;" % (entry["hash"], entry["range"])).encode("ascii"))
        else:
            digest.update(entry["hash"].encode("ascii"))
    return digest.hexdigest()


def parse_stored_manifest(body: bytes) -> list[dict]:
    """The stored manifest; raises ValueError when it is not one we wrote."""
    entries = json.loads(body)
    if not isinstance(entries, list):
        raise ValueError("manifest is not a list")
    for entry in entries:
        if not isinstance(entry, dict) or not (
                "data" in entry or ("name" in entry and "bytes" in entry and "hash" in entry)):
            raise ValueError("manifest entry %r is malformed" % (entry,))
        try:
            if entry_length(entry) < 0:
                raise ValueError("negative length")
        except (TypeError, ValueError, binascii.Error) as err:
            raise ValueError("manifest entry %r is malformed: %s" % (entry, err)) from None
    return entries


def raw_manifest(entries: list[dict]) -> list[dict]:
    """The stored form turned back into what a client may PUT (``format=raw``)."""
    raw = []
    for entry in entries:
        if "data" in entry:
            raw.append({"data": entry["data"]})
            continue
        item = {"path": entry["name"], "etag": entry["hash"], "size_bytes": entry["bytes"]}
        if entry.get("range"):
            item["range"] = entry["range"]
        raw.append(item)
    return raw
