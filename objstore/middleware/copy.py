"""Server-side copy: ``COPY`` with ``Destination`` and ``PUT`` with ``X-Copy-From``.

The copy never touches storage modules: it GETs the source through the rest
of the pipeline (so auth sees a read of the source) and PUTs the destination
through it (a write of the destination), handing the source's body iterator
to the PUT as its input.  Bytes therefore stream from the source replicas to
the destination replicas chunk by chunk; a large object is never held whole.

Metadata follows Swift: the source's user metadata, system metadata and
``X-Delete-At`` carry over and the request's own headers override them;
``X-Fresh-Metadata: true`` starts from the request's metadata only (system
metadata still comes from the source).  The answer is the destination PUT's,
plus ``X-Copied-From``, ``X-Copied-From-Account`` and
``X-Copied-From-Last-Modified``.

Conditional headers, ``Range`` and the query string apply to the source: a
copy with ``Range: bytes=100-200`` holds just those 101 bytes (and its ETag
is theirs), one with ``?part-number=2`` holds a large object's second part,
and ``?symlink=get`` copies a symlink itself (a new link to the same target)
rather than the object it points to.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterable, Iterator, Mapping
from urllib.parse import parse_qsl, urlencode

from webob import Request, Response

from objstore.common.cluster_config import ClusterConfig
from objstore.common.config import ConfigSection, to_bool
from objstore.common.constraints import Constraints
from objstore.common.http_response import plain_response
from objstore.common.http_text import wsgi_quote, wsgi_unquote
from objstore.common.logs import get_logger
from objstore.common.pipeline import typed_factory

# Headers of the copy request that apply to the source GET, not to the
# destination PUT: a ``Range`` makes a partial copy holding just those bytes.
SOURCE_REQUEST_HEADERS = ("If-Match", "If-None-Match", "If-Modified-Since",
                          "If-Unmodified-Since", "Range")
SOURCE_HEADERS_KEPT = ("x-delete-at",)
META_PREFIXES = ("x-object-meta-", "x-object-sysmeta-", "x-object-transient-sysmeta-")
SYSMETA_PREFIX = "x-object-sysmeta-"
LISTING_OVERRIDE_PREFIX = "x-object-sysmeta-container-update-override-"
LINK_HEADER_PREFIX = "x-symlink-target"


def copies_link(req: Request) -> bool:
    """``?symlink=get``: copy a symlink itself, not the object it points to."""
    return req.GET.get("symlink") == "get"


def copies_manifest(req: Request) -> bool:
    """``?multipart-manifest=get``: copy a large object's manifest, not its bytes."""
    return req.GET.get("multipart-manifest") == "get"


class BadCopyRequest(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason

    def response(self) -> Response:
        return plain_response(self.status, self.reason)


class IterReader:
    """A file-like ``read(n)`` over a body iterator: the PUT's ``wsgi.input``."""

    def __init__(self, iterable: Iterable[bytes]):
        self._iterable = iterable
        self._chunks: Iterator[bytes] = iter(iterable)
        self._pending = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._pending) < size:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                break
            self._pending += chunk
            if size >= 0 and len(self._pending) >= size:
                break
        if size < 0:
            out, self._pending = self._pending, b""
        else:
            out, self._pending = self._pending[:size], self._pending[size:]
        return out

    def close(self) -> None:
        close = getattr(self._iterable, "close", None)
        if close is not None:
            close()


def split_object_path(value: str, header: str) -> tuple[str, str]:
    """``/container/object`` (quoted, leading slash optional) → (container, object)."""
    text = wsgi_unquote(value or "")
    if not text.startswith("/"):
        text = "/" + text
    _empty, container, obj = (text.split("/", 2) + ["", ""])[:3]
    if not container or not obj:
        raise BadCopyRequest(412, "%s header must be of the form "
                                  "<container name>/<object name>" % header)
    return container, obj


def check_account(value: str, header: str) -> str:
    account = wsgi_unquote(value or "").strip()
    if not account or "/" in account:
        raise BadCopyRequest(412, "%s must be an account name" % header)
    return account


@dataclasses.dataclass(frozen=True)
class CopyConfig(ConfigSection):
    log_name: str = "copy"


class ServerSideCopy:
    """WSGI filter; see the module docstring."""

    def __init__(self, app: Callable, constraints: Constraints,
                 conf: CopyConfig | Mapping[str, Any] | None = None, logger: Any = None):
        self.app = app
        self.constraints = constraints
        self.settings = CopyConfig.of(conf)
        self.logger = logger or get_logger(self.settings.log_name)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        if method not in ("COPY", "PUT") or (
                method == "PUT" and not environ.get("HTTP_X_COPY_FROM")):
            return self.app(environ, start_response)
        parts = environ.get("PATH_INFO", "").split("/", 4)
        if len(parts) < 5 or not parts[3] or not parts[4]:
            return self.app(environ, start_response)
        environ.setdefault("swift.orig_req_method", method)
        req = Request(environ)
        try:
            resp = self.copy(req, parts[1], parts[2], parts[3], parts[4])
        except BadCopyRequest as err:
            resp = err.response()
        return resp(environ, start_response)

    def copy(self, req: Request, version: str, account: str, container: str,
             obj: str) -> Response:
        if req.method == "COPY":
            if not req.headers.get("Destination"):
                raise BadCopyRequest(412, "Destination header required")
            dest_account = account
            if req.headers.get("Destination-Account"):
                dest_account = check_account(req.headers["Destination-Account"],
                                             "Destination-Account")
            dest_container, dest_obj = split_object_path(req.headers["Destination"],
                                                         "Destination")
            src = (account, container, obj)
            dest = (dest_account, dest_container, dest_obj)
        else:
            if req.content_length:
                raise BadCopyRequest(400, "Copy requests require a zero byte body")
            src_account = account
            if req.headers.get("X-Copy-From-Account"):
                src_account = check_account(req.headers["X-Copy-From-Account"],
                                            "X-Copy-From-Account")
            src_container, src_obj = split_object_path(req.headers["X-Copy-From"],
                                                       "X-Copy-From")
            src = (src_account, src_container, src_obj)
            dest = (account, container, obj)
        self.logger.info("copying /%s/%s/%s to /%s/%s/%s", *(src + dest))
        source = self._get_source(req, version, src)
        if source.status_int >= 300:
            return source
        try:
            return self._put_destination(req, version, src, dest, source)
        finally:
            close = getattr(source.app_iter, "close", None)
            if close is not None:
                close()

    def _subrequest_environ(self, req: Request, method: str, path: str) -> dict:
        """A new environ for a sub-request that keeps auth state but no body or headers."""
        env = {k: v for k, v in req.environ.items()
               if not k.startswith(("HTTP_", "webob.", "wsgi.input"))
               and k not in ("CONTENT_LENGTH", "CONTENT_TYPE", "QUERY_STRING")}
        env.update({"REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "",
                    "QUERY_STRING": "", "swift.source": "SSC"})
        for key in ("HTTP_X_AUTH_TOKEN", "HTTP_X_STORAGE_TOKEN", "HTTP_X_SERVICE_TOKEN",
                    "HTTP_HOST", "HTTP_X_TRANS_ID_EXTRA", "HTTP_REFERER", "HTTP_USER_AGENT"):
            if key in req.environ:
                env[key] = req.environ[key]
        return env

    @staticmethod
    def _wsgi_path(version: str, account: str, container: str, obj: str) -> str:
        return "/%s/%s/%s/%s" % (version, account, container, obj)

    def _get_source(self, req: Request, version: str, src: tuple) -> Response:
        env = self._subrequest_environ(req, "GET", self._wsgi_path(version, *src))
        # The client's query applies to the source read (e.g. ?part-number=N
        # copies one part of a large object, ?symlink=get the link itself); the
        # destination PUT gets none.  A version-id names a source version only
        # on COPY, whose URL is the source.
        query = parse_qsl(req.environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if req.method != "COPY":
            query = [(k, v) for k, v in query if k != "version-id"]
        if copies_manifest(req):
            # the manifest in the form a PUT ?multipart-manifest=put takes
            query = [(k, v) for k, v in query if k != "format"] + [("format", "raw")]
        env["QUERY_STRING"] = urlencode(query)
        source_req = Request(env)
        for name in SOURCE_REQUEST_HEADERS:
            if name in req.headers:
                source_req.headers[name] = req.headers[name]
        source_req.headers["X-Newest"] = "true"
        source = source_req.get_response(self.app)
        if source.status_int >= 300:
            return source
        if source.content_length is None or \
                source.content_length > self.constraints.max_file_size:
            close = getattr(source.app_iter, "close", None)
            if close is not None:
                close()
            return BadCopyRequest(413, "Source object is too large to copy (max_file_size "
                                       "%d)" % self.constraints.max_file_size).response()
        return source

    def _put_destination(self, req: Request, version: str, src: tuple, dest: tuple,
                         source: Response) -> Response:
        env = self._subrequest_environ(req, "PUT", self._wsgi_path(version, *dest))
        if copies_manifest(req) and source.headers.get("X-Static-Large-Object"):
            env["QUERY_STRING"] = "multipart-manifest=put"
        sink = Request(env)
        if copies_manifest(req) and source.headers.get("X-Object-Manifest"):
            sink.headers["X-Object-Manifest"] = source.headers["X-Object-Manifest"]
        try:
            fresh = to_bool(req.headers.get("X-Fresh-Metadata") or "false")
        except ValueError:
            fresh = False
        for key, value in source.headers.items():
            lower = key.lower()
            if copies_link(req) and lower.startswith(LINK_HEADER_PREFIX):
                # the link's target, as the symlink filter shows it: the copy is a link too
                sink.headers[key] = value
            elif lower.startswith(LISTING_OVERRIDE_PREFIX) and not copies_manifest(req):
                # How the source is listed (a manifest's ETag and size stand in
                # for its segments'): the bytes copied are listed as themselves.
                continue
            elif lower.startswith(SYSMETA_PREFIX) or (not fresh and (
                    lower.startswith(META_PREFIXES) or lower in SOURCE_HEADERS_KEPT)):
                sink.headers[key] = value
        skip = ("x-copy-from", "x-copy-from-account", "destination", "destination-account",
                "content-length", "transfer-encoding", "x-fresh-metadata", "etag", "expect",
                "host", "x-newest") + tuple(h.lower() for h in SOURCE_REQUEST_HEADERS)
        for key, value in req.headers.items():
            if key.lower() not in skip and not key.lower().startswith("x-backend-"):
                sink.headers[key] = value
        if not req.headers.get("Content-Type"):
            sink.headers["Content-Type"] = source.headers.get("Content-Type",
                                                             "application/octet-stream")
        sink.headers["Content-Length"] = str(source.content_length)
        # The source's ETag checks the copy only when it is the md5 of the bytes
        # sent: not for part of the object (206), nor for a large object.
        if source.status_int == 200 and source.headers.get("Etag") \
                and not source.headers.get("X-Object-Manifest") \
                and not source.headers.get("X-Static-Large-Object"):
            sink.headers["ETag"] = source.headers["Etag"].strip('"')
        sink.environ["wsgi.input"] = IterReader(source.app_iter)
        resp = sink.get_response(self.app)
        if 200 <= resp.status_int < 300:
            resp.headers["X-Copied-From"] = wsgi_quote("%s/%s" % (src[1], src[2]))
            resp.headers["X-Copied-From-Account"] = wsgi_quote(src[0])
            if source.headers.get("Last-Modified"):
                resp.headers["X-Copied-From-Last-Modified"] = source.headers["Last-Modified"]
            for key, value in sink.headers.items():
                if key.lower().startswith(META_PREFIXES) or key.lower() == "x-delete-at":
                    resp.headers[key] = value
        return resp


@typed_factory(CopyConfig)
def filter_factory(cluster: ClusterConfig, conf: CopyConfig,
                   raw: Mapping[str, Any]) -> Callable[[Callable], ServerSideCopy]:
    cluster.capabilities.register("copy")
    logger = get_logger(conf.log_name, raw)

    def make_filter(app: Callable) -> ServerSideCopy:
        return ServerSideCopy(app, cluster.constraints, conf, logger)

    return make_filter
