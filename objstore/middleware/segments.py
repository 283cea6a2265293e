"""Serving one logical object made of many segment objects (shared by SLO and DLO).

Both large-object middlewares end up with the same job once they know the
segments: answer conditionals against the large object's own ETag, work out
which bytes of which segments a ``Range`` asks for, and stream those bytes by
GET sub-requests into the rest of the pipeline, one segment at a time, so
memory stays bounded whatever the object's size.  That logic lives here once.

A segment whose ETag or size no longer matches what the manifest promised
stops the body (:class:`SegmentError`): the client has been promised a
Content-Length, so the truncated body makes the failure visible instead of
silently serving other bytes (raised as ResponseBodyAborted, which
catch_errors turns into a dropped connection).  The first chunk is fetched
before the answer starts, so a broken first segment still gets a clean 409
(the standard conflict page; the reason goes to the proxy's log).
"""
from __future__ import annotations

import dataclasses
import email.utils
import io
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, TypeVar

from webob import Request, Response

from objstore.common.http_text import str_to_wsgi as to_wsgi  # noqa: F401 (re-exported)
from objstore.common.http_text import wsgi_to_str as from_wsgi  # noqa: F401 (re-exported)
from objstore.common.http_conditions import (
    RangeNotSatisfiable,
    content_range,
    evaluate_preconditions,
    multipart_byteranges,
    multipart_length,
    new_boundary,
    parse_range,
    unsatisfiable_range,
)
from objstore.common.http_response import plain_response
from objstore.middleware.catch_errors import ResponseBodyAborted

# Request headers a sub-request keeps so it is authorized like the client's request
# (and, with X-Open-Expired, reads expired segments when the client's read may).
CARRIED_HEADERS = ("HTTP_X_AUTH_TOKEN", "HTTP_X_STORAGE_TOKEN", "HTTP_X_SERVICE_TOKEN",
                   "HTTP_HOST", "HTTP_X_TRANS_ID_EXTRA", "HTTP_REFERER", "HTTP_USER_AGENT",
                   "HTTP_X_OPEN_EXPIRED")
# Asking for the manifest itself: neither slo nor dlo expands the answer.
MANIFEST_QUERY = "multipart-manifest=get"
PROBE_CACHE_KEY = "objstore.large_object_probe"
# SLO leaves itself here in every request it passes on.  DLO, to its right,
# reads its segments through it, so a segment that is an SLO manifest joins
# the DLO as the SLO's content rather than as the manifest's JSON.
SLO_READER_KEY = "objstore.large_object.slo_reader"

# What a large object whose segments cannot be served answers before its body starts.
STANDARD_CONFLICT_PAGE = ("<html><h1>Conflict</h1><p>There was a conflict when trying to "
                          "complete your request.</p></html>")

T = TypeVar("T")


class SegmentError(Exception):
    """A segment could not be served as the manifest describes it."""


@dataclasses.dataclass
class SegmentPiece:
    """The bytes ``[start, end)`` of one segment object (or of inline data).

    ``path`` is the WSGI form of ``/v1/<account>/<container>/<object>``;
    ``etag``/``size`` are what the manifest promised about the whole segment
    (None: not checked).
    """
    path: str
    start: int
    end: int
    etag: Optional[str] = None
    size: Optional[int] = None
    data: Optional[bytes] = None


def subrequest(environ: dict, method: str, wsgi_path: str, query: str = "",
               source: str = "LO", headers: Optional[dict] = None) -> Request:
    """A request for the rest of the pipeline carrying the client's auth state only."""
    env = {k: v for k, v in environ.items()
           if not k.startswith(("HTTP_", "webob.", "wsgi.input"))
           and k not in ("CONTENT_LENGTH", "CONTENT_TYPE", "QUERY_STRING", "RAW_PATH_INFO",
                         "REQUEST_URI")}
    env.update({"REQUEST_METHOD": method, "PATH_INFO": wsgi_path, "SCRIPT_NAME": "",
                "QUERY_STRING": query, "swift.source": source,
                "wsgi.input": io.BytesIO(b""), "CONTENT_LENGTH": "0"})
    for key in CARRIED_HEADERS:
        if key in environ:
            env[key] = environ[key]
    req = Request(env)
    for key, value in (headers or {}).items():
        req.headers[key] = value
    return req


def close_response(resp: Response) -> None:
    close = getattr(resp.app_iter, "close", None)
    if close is not None:
        close()


def read_body(resp: Response, limit: int) -> bytes:
    """The whole body of a sub-response, refusing more than ``limit`` bytes."""
    parts, size = [], 0
    try:
        for chunk in resp.app_iter:
            size += len(chunk)
            if size > limit:
                raise SegmentError("body larger than %d bytes" % limit)
            parts.append(chunk)
    finally:
        close_response(resp)
    return b"".join(parts)


def probe_object(environ: dict, app: Callable, wsgi_path: str) -> Response:
    """HEAD of the object itself (no conditions, no expansion), once per request.

    Needed when a conditional or ranged GET came back 412/416: those answers
    do not say whether the object is a manifest.
    """
    cache = environ.setdefault(PROBE_CACHE_KEY, {})
    if wsgi_path not in cache:
        resp = subrequest(environ, "HEAD", wsgi_path, MANIFEST_QUERY, "LO").get_response(app)
        close_response(resp)
        cache[wsgi_path] = resp
    return cache[wsgi_path]


def clip(items: Iterable[tuple[T, int]], start: int, end: int) -> Iterator[tuple[T, int, int]]:
    """For items laid end to end with the given lengths, the parts inside ``[start, end)``.

    Yields ``(item, inner_start, inner_end)`` with offsets relative to the item.
    """
    offset = 0
    for item, length in items:
        if offset >= end:
            return
        item_end = offset + length
        if item_end > start and length > 0:
            yield item, max(start, offset) - offset, min(end, item_end) - offset
        offset = item_end


def _full_size(resp: Response) -> Optional[int]:
    if resp.status_int == 206:
        value = resp.headers.get("Content-Range", "")
        total = value.rsplit("/", 1)[-1]
        return int(total) if total.isdigit() else None
    return resp.content_length


def stream_pieces(app: Callable, environ: dict, pieces: Iterable[SegmentPiece],
                  logger: Any, source: str = "LO",
                  query: str = MANIFEST_QUERY) -> Iterator[bytes]:
    """The bytes of every piece in order, each segment fetched by a GET sub-request.

    ``query`` is the segment GETs' query: by default they ask for the segment
    object's own bytes, so no large-object filter expands it.
    """
    try:
        for piece in pieces:
            if piece.data is not None:
                yield piece.data[piece.start:piece.end]
                continue
            yield from _stream_one(app, environ, piece, source, query)
    except SegmentError as err:
        # The log is the one place the reason goes: the client's 409 (or
        # dropped connection) carries no detail.
        logger.error("large object %s: %s", from_wsgi(environ.get("PATH_INFO", "")), err)
        raise


def _stream_one(app: Callable, environ: dict, piece: SegmentPiece,
                source: str, query: str) -> Iterator[bytes]:
    whole = piece.size is not None and piece.start == 0 and piece.end == piece.size
    headers = {} if whole else {"Range": "bytes=%d-%d" % (piece.start, piece.end - 1)}
    req = subrequest(environ, "GET", piece.path, query, source, headers)
    resp = req.get_response(app)
    shown = from_wsgi(piece.path)
    try:
        if resp.status_int not in (200, 206):
            raise SegmentError("segment %s: GET answered %s" % (shown, resp.status))
        etag = (resp.headers.get("Etag") or "").strip('"')
        if piece.etag is not None and etag != piece.etag:
            raise SegmentError("segment %s: etag %s does not match the manifest's %s"
                               % (shown, etag, piece.etag))
        size = _full_size(resp)
        if piece.size is not None and size != piece.size:
            raise SegmentError("segment %s: size %s does not match the manifest's %d"
                               % (shown, size, piece.size))
        skip = piece.start if resp.status_int == 200 else 0
        wanted = piece.end - piece.start
        for chunk in resp.app_iter:
            if skip:
                dropped = min(skip, len(chunk))
                chunk, skip = chunk[dropped:], skip - dropped
            if len(chunk) > wanted:
                chunk = chunk[:wanted]
            if chunk:
                wanted -= len(chunk)
                yield chunk
            if not wanted:
                break
        if wanted:
            raise SegmentError("segment %s ended %d bytes early" % (shown, wanted))
    finally:
        close_response(resp)


def http_date_seconds(value: Optional[str]) -> Optional[float]:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def large_object_response(req: Request, headers: Sequence[tuple[str, str]], total: int,
                          etag: str, read_range: Callable[[int, int], Iterator[bytes]]
                          ) -> Response:
    """The answer to a GET/HEAD of a large object: conditionals, ranges, streamed body.

    ``headers`` are the manifest's headers already cleaned of anything that
    described the manifest's own bytes; ``etag`` is unquoted; the answer
    carries it quoted, as Swift does for large objects.
    """
    headerlist = [(k, v) for k, v in headers
                  if k.lower() not in ("etag", "content-length", "content-range")]
    headerlist.append(("Etag", '"%s"' % etag))
    last_modified = next((v for k, v in headers if k.lower() == "last-modified"), None)
    content_type = next((v for k, v in headers if k.lower() == "content-type"),
                        "application/octet-stream")
    status = evaluate_preconditions(req.headers, req.method, etag,
                                    http_date_seconds(last_modified))
    if status == 304:
        resp = Response(status=304, headerlist=[(k, v) for k, v in headerlist
                                                if k.lower() != "content-type"])
        del resp.content_type
        resp.headers.pop("Content-Length", None)
        return resp
    if status == 412:
        resp = Response(status=412, body=b"Precondition Failed",
                        headerlist=[("Content-Type", "text/plain"), ("Etag", '"%s"' % etag)])
        return resp
    if req.method == "HEAD":
        resp = Response(status=200, headerlist=headerlist, app_iter=[])
        resp.headers["Content-Length"] = str(total)
        return resp
    try:
        ranges = parse_range(req.headers.get("Range"), total)
    except RangeNotSatisfiable:
        resp = Response(status=416, body=b"Requested Range Not Satisfiable",
                        headerlist=[("Content-Type", "text/plain"),
                                    ("Content-Range", unsatisfiable_range(total))])
        return resp
    if not ranges or len(ranges) == 1:
        start, end = ranges[0] if ranges else (0, total)
        try:
            body = _PrefetchedBody(read_range(start, end))
        except SegmentError:
            # Nothing sent yet: the client can still get a clean answer.  Its
            # body is the standard conflict page, byte for byte, because
            # clients compare it; the reason is in the proxy's log.
            return plain_response(409, STANDARD_CONFLICT_PAGE)
    if not ranges:
        resp = Response(status=200, headerlist=headerlist, app_iter=body)
        resp.headers["Content-Length"] = str(total)
        return resp
    if len(ranges) == 1:
        resp = Response(status=206, headerlist=headerlist, app_iter=body)
        resp.headers["Content-Range"] = content_range(start, end, total)
        resp.headers["Content-Length"] = str(end - start)
        return resp
    boundary = new_boundary()
    headerlist = [(k, v) for k, v in headerlist if k.lower() != "content-type"]
    headerlist.append(("Content-Type", "multipart/byteranges;boundary=%s" % boundary))
    body = abort_on_segment_error(
        multipart_byteranges(ranges, total, content_type, boundary, read_range))
    resp = Response(status=206, headerlist=headerlist, app_iter=body)
    resp.headers["Content-Length"] = str(multipart_length(ranges, total, content_type,
                                                          boundary))
    return resp


def abort_on_segment_error(body: Iterable[bytes]) -> Iterator[bytes]:
    """``body``, with a segment failure once the answer has started turned into
    :class:`ResponseBodyAborted`: the connection drops (the client must not
    take a short body for the object) and the failure, already logged with
    its reason, is not logged again as a crash."""
    try:
        yield from body
    except SegmentError as err:
        raise ResponseBodyAborted(str(err)) from None


class _PrefetchedBody:
    """A body whose first chunk is read up front, so the first segment's errors surface
    while a clean error answer is still possible; ``close()`` reaches the generator."""

    def __init__(self, body: Iterator[bytes]):
        self._body = body
        self._first: list[bytes] = []
        try:
            self._first.append(next(body))
        except StopIteration:
            pass
        except BaseException:
            self.close()
            raise

    def __iter__(self) -> Iterator[bytes]:
        yield from self._first
        self._first = []
        yield from abort_on_segment_error(self._body)

    def close(self) -> None:
        close = getattr(self._body, "close", None)
        if close is not None:
            close()
