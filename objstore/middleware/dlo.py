"""Dynamic large objects (Swift's ``dlo``): an object whose segments are found by prefix.

An object stored with ``X-Object-Manifest: <container>/<prefix>`` is served
as every object of ``<container>`` whose name starts with ``<prefix>``,
concatenated in name order (the listing order).  The segments are found by
JSON listing sub-requests (paged with ``marker``), so they may be uploaded
in any order and the manifest may be written before or after them.

GET/HEAD answer with the total ``Content-Length`` and the quoted md5 of the
segments' concatenated ETags; ranges span segments.
``?multipart-manifest=get`` returns the manifest object itself.  A PUT or
POST with a malformed ``X-Object-Manifest`` is refused (400).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional
from urllib.parse import parse_qs, quote

from webob import Request, Response

from objstore.common.cluster_config import ClusterConfig
from objstore.common.config import ConfigError, ConfigSection
from objstore.common.http_conditions import RangeNotSatisfiable, parse_range
from objstore.common.http_response import plain_response
from objstore.common.http_text import wsgi_is_utf8, wsgi_strip, wsgi_to_str, wsgi_unquote
from objstore.common.logs import get_logger
from objstore.common.pipeline import typed_factory
from objstore.middleware.segments import (
    SLO_READER_KEY,
    SegmentPiece,
    clip,
    close_response,
    from_wsgi,
    large_object_response,
    probe_object,
    read_body,
    stream_pieces,
    subrequest,
    to_wsgi,
)

MANIFEST_HEADER = "X-Object-Manifest"
LISTING_PAGE_LIMIT = 64 * 1024 * 1024   # bytes of one JSON listing page we accept


@dataclasses.dataclass
class DloConfig(ConfigSection):
    # Segments one large object may have (more: 409 instead of a partial object).
    max_segments: int = 100000
    log_name: str = "dlo"

    def validate(self) -> None:
        if self.max_segments < 1:
            raise ConfigError("option 'max_segments' must be at least 1")


class ManifestValueError(ValueError):
    pass


def parse_manifest_value(value: str) -> tuple[str, str]:
    """``<container>/<prefix>`` (percent-encoding allowed) → decoded (container, prefix)."""
    raw = wsgi_strip(value)
    if "?" in raw or "&" in raw or raw.startswith("/") or "/" not in raw:
        raise ManifestValueError()
    decoded = wsgi_unquote(raw)
    if not wsgi_is_utf8(decoded):
        raise ManifestValueError()
    text = wsgi_to_str(decoded)
    container, _slash, prefix = text.partition("/")
    if not container:
        raise ManifestValueError()
    return container, prefix


def has_several_ranges(req: Request, total: int) -> bool:
    try:
        ranges = parse_range(req.headers.get("Range"), total)
    except RangeNotSatisfiable:
        return False
    return ranges is not None and len(ranges) > 1


def plain(status: int, text: str) -> Response:
    return plain_response(status, text + "\n")


class _ListingError(Exception):
    def __init__(self, resp: Response):
        super().__init__(resp.status)
        self.resp = resp


class DynamicLargeObject:
    """WSGI filter; see the module docstring."""

    def __init__(self, app: Callable, conf: DloConfig):
        self.app = app
        self.conf = conf
        self.logger = get_logger(conf.log_name)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        parts = environ.get("PATH_INFO", "").split("/", 4)
        if len(parts) < 5 or not all(parts[1:]):
            return self.app(environ, start_response)
        method = environ.get("REQUEST_METHOD")
        if method in ("PUT", "POST") and "HTTP_X_OBJECT_MANIFEST" in environ:
            try:
                parse_manifest_value(environ["HTTP_X_OBJECT_MANIFEST"])
            except ManifestValueError:
                return plain(400, "X-Object-Manifest must be in the format "
                                  "container/prefix")(environ, start_response)
            return self.app(environ, start_response)
        if method not in ("GET", "HEAD") or environ.get("swift.source") == "DLO":
            # Our own segment reads are never expanded: a DLO listing itself
            # among its segments must not recurse.
            return self.app(environ, start_response)
        mode = parse_qs(environ.get("QUERY_STRING", "")).get("multipart-manifest", [""])[0]
        if mode == "get":
            return self.app(environ, start_response)
        req = Request(environ)
        resp = self.get_or_head(req, parts[1], parts[2])
        return resp(environ, start_response)

    def get_or_head(self, req: Request, version: str, account: str) -> Response:
        first = req.get_response(self.app)
        if MANIFEST_HEADER not in first.headers:
            if first.status_int not in (412, 416):
                return first
            probe = probe_object(req.environ, self.app, req.environ["PATH_INFO"])
            if MANIFEST_HEADER not in probe.headers or probe.status_int != 200:
                return first
            close_response(first)
            first = probe
        elif first.status_int not in (200, 206, 304):
            return first
        close_response(first)
        try:
            container, prefix = parse_manifest_value(first.headers[MANIFEST_HEADER])
        except ManifestValueError:
            self.logger.error("bad X-Object-Manifest on %s: %r",
                              from_wsgi(req.environ["PATH_INFO"]), first.headers[MANIFEST_HEADER])
            return plain(500, "Unable to load DLO manifest")
        try:
            segments = self.list_segments(req.environ, version, account, container, prefix)
        except _ListingError as err:
            return err.resp
        if segments is None:
            return plain(409, "Too many segments: a dynamic large object may have at most "
                              "%d" % self.conf.max_segments)
        total = sum(int(s["bytes"]) for s in segments)
        etag = hashlib.md5("".join(s["hash"] for s in segments).encode("utf-8")).hexdigest()
        container_path = "/%s/%s/%s/" % (version, account, to_wsgi(container))
        headers = [(k, v) for k, v in first.headers.items()
                   if k.lower() not in ("content-length", "etag", "content-range")]
        if not any(k.lower() == "accept-ranges" for k, _v in headers):
            headers.append(("Accept-Ranges", "bytes"))
        environ = req.environ

        slo_reader = environ.get(SLO_READER_KEY)

        def read_range(start: int, end: int) -> Iterator[bytes]:
            sized = ((s, int(s["bytes"])) for s in segments)
            pieces = (SegmentPiece(container_path + to_wsgi(s["name"]), s_start, s_end)
                      for s, s_start, s_end in clip(sized, start, end))
            if slo_reader is not None:
                # The listing sized an SLO segment by its content: read it so.
                return stream_pieces(slo_reader, environ, pieces, self.logger, "DLO", "")
            return stream_pieces(self.app, environ, pieces, self.logger, "DLO")

        if has_several_ranges(req, total):
            # Segments come from a listing that may change while a long multipart/byteranges
            # answer is sent; the whole object in one 200 is the answer DLO clients expect.
            env = {k: v for k, v in req.environ.items() if not k.startswith("webob.")}
            req = Request(env)
            del req.headers["Range"]
        return large_object_response(req, headers, total, etag, read_range)

    def list_segments(self, environ: dict, version: str, account: str, container: str,
                      prefix: str) -> Optional[list[dict]]:
        """Every object under ``prefix`` in name order (None: more than max_segments)."""
        path = "/%s/%s/%s" % (version, account, to_wsgi(container))
        segments: list[dict] = []
        marker = ""
        while True:
            query = "format=json&prefix=%s" % quote(prefix)
            if marker:
                query += "&marker=%s" % quote(marker)
            resp = subrequest(environ, "GET", path, query, "DLO").get_response(self.app)
            if resp.status_int == 404:
                close_response(resp)
                return segments
            if resp.status_int == 204:
                close_response(resp)
                return segments
            if resp.status_int != 200:
                close_response(resp)
                self.logger.error("DLO listing of %s answered %s", container, resp.status)
                raise _ListingError(plain(resp.status_int if resp.status_int in (401, 403)
                                          else 503, "Unable to list the DLO's segments "
                                          "(%s)" % resp.status))
            try:
                page = json.loads(read_body(resp, LISTING_PAGE_LIMIT))
            except ValueError:
                raise _ListingError(plain(503, "Unable to list the DLO's segments")) from None
            page = [item for item in page if isinstance(item, dict) and "name" in item]
            if not page:
                return segments
            segments.extend(item for item in page if "hash" in item)
            if len(segments) > self.conf.max_segments:
                return None
            marker = page[-1]["name"]


@typed_factory(DloConfig)
def filter_factory(cluster: ClusterConfig, conf: DloConfig,
                   raw: Mapping[str, Any]) -> Callable[[Callable], DynamicLargeObject]:
    cluster.capabilities.register("dlo", max_segments=conf.max_segments)

    def make_filter(app: Callable) -> DynamicLargeObject:
        return DynamicLargeObject(app, conf)

    return make_filter
