"""Reading a backend request to an account or container server.

Both database servers take the same path shape, the same ``X-Timestamp``
and the same listing query parameters; reading them here keeps the answers to
bad input (always a 4xx with a short reason) identical across servers.  The
functions raise ``webob.exc`` responses, which the servers return as-is.
"""
from __future__ import annotations

import dataclasses
from typing import Mapping, Optional

from webob import Request, Response
from webob.exc import HTTPBadRequest, HTTPException, HTTPNotAcceptable, HTTPPreconditionFailed
from webob.exc import status_map

from objstore.common.config import to_bool
from objstore.common.http_text import wsgi_is_utf8, wsgi_to_str
from objstore.common.listing_format import choose_media_type
from objstore.common.query_string import QueryStringError, parse_query_string
from objstore.common.reserved_names import allows_reserved
from objstore.common.timestamp import InvalidTimestamp, Timestamp


def _bad(reason: str) -> HTTPBadRequest:
    return HTTPBadRequest(body=reason.encode("utf-8"), content_type="text/plain")


def text_response(status: int, reason: str = "",
                  headers: Optional[Mapping[str, str]] = None) -> Response:
    """A response with an optional short plain-text reason."""
    resp = Response(status=status, headers=dict(headers or {}))
    if reason:
        resp.content_type = "text/plain"
        resp.charset = "utf-8"
        resp.text = reason
    return resp


def http_error(status: int, reason: str = "",
               headers: Optional[dict[str, str]] = None) -> HTTPException:
    """A raisable response with a short plain-text reason."""
    exc = status_map[status](headers=headers or {})
    if reason:
        exc.body = reason.encode("utf-8")
        exc.content_type = "text/plain"
        exc.charset = "utf-8"
    else:
        exc.body = b""
    return exc


def split_backend_path(req: Request, min_segments: int, max_segments: int) -> list[Optional[str]]:
    """``/<dev>/<part>/<a>[/<c>[/<o>]]`` as text; the last segment keeps its slashes.

    Returns ``max_segments`` items, None for the absent trailing ones.
    Raises 400 for a path that is not UTF-8, too short, or has empty parts.
    """
    raw = req.environ.get("PATH_INFO", "")
    if not wsgi_is_utf8(raw, allow_nul=allows_reserved(req.headers)):
        raise _bad("Invalid UTF8 or contains NULL")
    path = wsgi_to_str(raw)
    if not path.startswith("/"):
        raise _bad("Invalid path: %s" % path)
    segments: list[Optional[str]] = list(path[1:].split("/", max_segments - 1))
    if len(segments) < min_segments or any(not s for s in segments[:min_segments]):
        raise _bad("Invalid path: %s" % path)
    # An empty last segment (``/d/p/a/``) is "absent", except it may not hide a gap.
    for index in range(min_segments, len(segments)):
        if not segments[index]:
            if index != len(segments) - 1:
                raise _bad("Invalid path: %s" % path)
            segments[index] = None
    segments.extend([None] * (max_segments - len(segments)))
    if not str(segments[1]).isdigit():
        raise _bad("Invalid partition: %s" % segments[1])
    return segments


def device_of_path(req: Request) -> Optional[str]:
    """The device a whole-device request (``/<device>``) names; None when
    the path is anything else."""
    raw = req.environ.get("PATH_INFO", "")
    if not raw.startswith("/") or not wsgi_is_utf8(raw):
        return None
    device = wsgi_to_str(raw)[1:]
    if not device or "/" in device or device in (".", ".."):
        return None
    return device


def required_timestamp(req: Request, header: str = "X-Timestamp") -> Timestamp:
    """The request's timestamp; 400 when it is missing or malformed."""
    value = req.headers.get(header)
    if not value:
        raise _bad("Missing %s header" % header)
    try:
        return Timestamp(value)
    except (InvalidTimestamp, ValueError):
        raise _bad("Invalid %s header: %r" % (header, value)) from None


SQLITE_MAX_INT = (1 << 63) - 1


def header_int(req: Request, header: str, default: Optional[int] = None,
               minimum: int = 0, maximum: int = SQLITE_MAX_INT) -> int:
    """An integer header; 400 when missing (and no default), not an integer or out of range."""
    value = req.headers.get(header)
    if value is None or value == "":
        if default is None:
            raise _bad("Missing %s header" % header)
        return default
    try:
        number = int(value)
    except ValueError:
        raise _bad("Invalid %s header: %r" % (header, value)) from None
    if not minimum <= number <= maximum:
        raise _bad("Invalid %s header: %r" % (header, value))
    return number


def query_params(req: Request) -> dict[str, str]:
    """The query string as UTF-8 text; 400 for bad UTF-8 or a NUL."""
    try:
        return parse_query_string(req.environ.get("QUERY_STRING", ""))
    except QueryStringError as err:
        raise _bad(str(err)) from None


def header_text(req: Request, header: str) -> Optional[str]:
    """A header value as real text: WSGI hands UTF-8 bytes over as latin-1 characters."""
    value = req.headers.get(header)
    return None if value is None else wsgi_to_str(value)


@dataclasses.dataclass
class ListingParams:
    limit: int
    marker: str = ""
    end_marker: str = ""
    prefix: str = ""
    delimiter: str = ""
    path: Optional[str] = None
    reverse: bool = False
    media_type: str = "text/plain"
    # Reserved (internal) names are listed only for requests that ask for them.
    show_reserved: bool = False


def listing_params(req: Request, max_limit: int) -> ListingParams:
    """Read ``limit, marker, end_marker, prefix, delimiter, path, reverse, format``.

    ``limit`` defaults to, and may not exceed, ``max_limit`` (412 like Swift);
    a limit that is not all digits is ignored, as Swift ignores it.  The
    delimiter may be any string (``-&`` splits names at that pair).  No
    acceptable listing format is a 406.
    """
    params = query_params(req)
    limit = max_limit
    given = params.get("limit", "")
    if given.isascii() and given.isdigit():
        limit = int(given)
        if limit > max_limit:
            raise HTTPPreconditionFailed(body=("Maximum limit is %d" % max_limit).encode(),
                                         content_type="text/plain")
    delimiter = params.get("delimiter", "")
    try:
        reverse = to_bool(params.get("reverse", "") or "false")
    except ValueError:
        reverse = False
    media_type = choose_media_type(params.get("format"), req.headers.get("Accept"))
    if media_type is None:
        raise HTTPNotAcceptable(body=b"No acceptable listing format", content_type="text/plain")
    return ListingParams(limit=limit, marker=params.get("marker", ""),
                         end_marker=params.get("end_marker", ""),
                         prefix=params.get("prefix", ""),
                         delimiter=delimiter,
                         path=params.get("path"), reverse=reverse, media_type=media_type,
                         show_reserved=allows_reserved(req.headers))
