"""Symlinks (Swift's ``symlink``): objects that stand for another object.

* ``PUT`` with ``X-Symlink-Target: <container>/<object>`` (and optionally
  ``X-Symlink-Target-Account``) and an empty body stores a zero-byte link;
  the target need not exist.  Its type is the client's ``Content-Type``, or
  ``application/symlink``.
* With ``X-Symlink-Target-Etag`` (and optionally ``-Bytes``) the link is
  *static*: the target must exist now and have that ETag (and size), else
  409; the ETag is checked again on every read.  A static link to an SLO
  manifest names the manifest's own ETag and records the large object's
  size; its type defaults to the target's.
* ``GET``/``HEAD`` answer with the target (:mod:`objstore.middleware.symlink_walk`),
  ``?symlink=get`` with the link itself, its target shown as ``X-Symlink-*``
  headers.
* ``POST`` changes the link's own metadata (an object server cannot know a
  link from an object) and answers ``307`` with the target's ``Location``;
  ``X-Symlink-Target`` on a POST is refused (400).
* ``DELETE`` removes the link, never the target.  Copies are the copy
  filter's: of the target, or of the link with ``?symlink=get``.
* JSON container listings show each link's target
  (:mod:`objstore.middleware.symlink_listing`).

The filter sits right of slo, dlo and versioned_writes, so large objects
and versions see a link's target, and a link may be one of an SLO's segments.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterable, Mapping, Optional

from webob import Request, Response

from objstore.common.cluster_config import ClusterConfig
from objstore.common.config import ConfigError, ConfigSection
from objstore.common.http_response import plain_response
from objstore.common.http_text import wsgi_quote, wsgi_unquote
from objstore.common.listing_format import strip_swift_bytes
from objstore.common.logs import get_logger
from objstore.common.pipeline import typed_factory
from objstore.middleware import symlink_headers as names
from objstore.middleware.copy import BadCopyRequest, split_object_path
from objstore.middleware.segments import close_response
from objstore.middleware.symlink_listing import rewrite_listing
from objstore.middleware.symlink_walk import LinkError, LinkWalk

SLO_SIZE_SYSMETA = "X-Object-Sysmeta-Slo-Size"
SLO_ETAG_SYSMETA = "X-Object-Sysmeta-Slo-Etag"
POST_REDIRECT_REASON = ("The requested POST was applied to a symlink. POST directly to the "
                        "target to apply requested metadata.")


@dataclasses.dataclass(frozen=True)
class SymlinkConfig(ConfigSection):
    # How many links one read may follow before it fails with 409.
    symloop_max: int = 2
    log_name: str = "symlink"

    def validate(self) -> None:
        if self.symloop_max < 1:
            raise ConfigError("option 'symloop_max' must be at least 1")


class Symlink:
    """WSGI filter; see the module docstring."""

    def __init__(self, app: Callable, conf: SymlinkConfig, api_versions: tuple = ("v1",)):
        self.app = app
        self.conf = conf
        self.api_versions = api_versions
        self.logger = get_logger(conf.log_name)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        parts = environ.get("PATH_INFO", "").split("/", 4)
        if len(parts) < 4 or parts[0] or parts[1] not in self.api_versions \
                or not parts[2] or not parts[3]:
            return self.app(environ, start_response)
        req = Request(environ)
        if len(parts) == 4 or not parts[4]:
            if req.method != "GET":
                return self.app(environ, start_response)
            return rewrite_listing(req, self.app, parts[1], parts[2])(environ, start_response)
        version, account, container, obj = parts[1:]
        # The proxy drops the auth hook once it allows a request; every target
        # on a link's way must still be checked, so keep it for the sub-requests.
        authorize = environ.get("swift.authorize")
        walk = LinkWalk(self.app, req, version, account, authorize, self.conf.symloop_max)
        try:
            if req.method in ("GET", "HEAD"):
                resp = self.read(req, walk)
            elif req.method == "PUT" and names.TARGET in req.headers:
                resp = self.put(req, walk, (account, container, obj))
            elif req.method == "POST":
                return self.post(req, walk, start_response)
            else:
                return self.app(environ, start_response)
        except LinkError as err:
            resp = err.response
        return resp(environ, start_response)

    # -- reads -----------------------------------------------------------------------
    def read(self, req: Request, walk: LinkWalk) -> Response:
        if req.GET.get("symlink") == "get":
            resp = req.get_response(self.app)
            names.sysmeta_to_client(resp.headers)
            return resp
        return walk.walk(walk.fetch(req), req.method)

    # -- writes ----------------------------------------------------------------------
    def put(self, req: Request, walk: LinkWalk, path: tuple[str, str, str]) -> Response:
        refusal = refuse_body(req) or prepare_link_headers(req, path)
        if refusal is not None:
            return refusal
        if req.headers.get(names.SYSMETA_TARGET_ETAG):
            # a middleware wrote the static link's sysmeta itself (object versioning)
            if not req.headers.get(names.SYSMETA_TARGET_BYTES):
                return plain_response(500, "static link written without its size")
        elif req.headers.get(names.TARGET_ETAG):
            refusal = self.check_static_target(req, walk)
            if refusal is not None:
                return refusal
        for client_name, sysmeta_name in names.CLIENT_TO_SYSMETA:
            value = req.headers.pop(client_name, None)
            if value is not None and client_name in (names.TARGET, names.TARGET_ACCOUNT):
                req.headers[sysmeta_name] = value
        req.headers[names.OVERRIDE_ETAG] = names.listing_etag(req.headers)
        return req.get_response(self.app)

    def check_static_target(self, req: Request, walk: LinkWalk) -> Optional[Response]:
        """HEAD the target of a static link; record its ETag and size (None: all good)."""
        etag = names.normalize_etag(req.headers[names.TARGET_ETAG])
        wanted_bytes = req.headers.get(names.TARGET_BYTES)
        target = {names.SYSMETA_TARGET: req.headers[names.TARGET]}
        if req.headers.get(names.TARGET_ACCOUNT):
            target[names.SYSMETA_TARGET_ACCOUNT] = req.headers[names.TARGET_ACCOUNT]
        head = walk.fetch(walk.request_for(target, "HEAD"))
        close_response(head)
        resp = walk.walk(head, "HEAD", follow_dynamic=False, expected_etag=etag)
        location = {"Content-Location": walk.last_target}
        if resp.status_int == 404:
            return plain_response(409, "X-Symlink-Target does not exist", location)
        if not 200 <= resp.status_int < 300:
            return plain_response(resp.status_int, "", location)
        size = resp.headers.get(SLO_SIZE_SYSMETA) or resp.headers.get("Content-Length") or "0"
        if wanted_bytes is not None and wanted_bytes.strip() != size:
            return plain_response(409, "Object content-length %r does not match "
                                       "X-Symlink-Target-Bytes header %r"
                                  % (size, wanted_bytes.strip()), location)
        slo_etag = resp.headers.get(SLO_ETAG_SYSMETA)
        if slo_etag and not req.headers.get(names.OVERRIDE_ETAG):
            # the listing shows the large object's ETag next to the link's
            req.headers[names.OVERRIDE_ETAG] = "%s; slo_etag=%s" % (names.MD5_OF_NOTHING,
                                                                    slo_etag)
        req.headers[names.SYSMETA_TARGET_ETAG] = etag
        req.headers[names.SYSMETA_TARGET_BYTES] = size
        if not req.headers.get("Content-Type"):
            # A manifest's stored type carries its total size (swift_bytes); the
            # link's own listing row must not claim those bytes.
            req.headers["Content-Type"] = strip_swift_bytes(
                resp.headers.get("Content-Type", names.DEFAULT_CONTENT_TYPE))
        return None

    def post(self, req: Request, walk: LinkWalk, start_response: Callable) -> Iterable[bytes]:
        if names.TARGET in req.headers:
            return plain_response(400, "A PUT request is required to set a symlink target")(
                req.environ, start_response)
        # The POST lands on whatever the name is; the object server answers
        # with the stored object's sysmeta, which says whether that is a link.
        link = req.get_response(self.app)
        if not (200 <= link.status_int < 300 and names.is_link(link.headers)):
            return link(req.environ, start_response)
        close_response(link)
        headers = [("Location", walk.target_path(link.headers)),
                   ("Content-Type", "text/plain; charset=UTF-8")]
        if link.headers.get(names.SYSMETA_TARGET_ETAG):
            headers.append((names.TARGET_ETAG, link.headers[names.SYSMETA_TARGET_ETAG]))
        headers.extend((k, v) for k, v in link.headers.items()
                       if k.lower().startswith("x-object-sysmeta-"))
        body = POST_REDIRECT_REASON.encode("utf-8")
        headers.append(("Content-Length", str(len(body))))
        # Written out by hand: a webob Response would turn the relative
        # Location into an absolute URL, and clients compare the path.
        start_response("307 Temporary Redirect", headers)
        return [body]


def refuse_body(req: Request) -> Optional[Response]:
    """400 unless the link's PUT has an empty body."""
    if req.content_length is None:
        has_body = req.body_file.read(1) != b""
    else:
        has_body = req.content_length != 0
    if has_body:
        return plain_response(400, "Symlink requests require a zero byte body")
    return None


def prepare_link_headers(req: Request, path: tuple[str, str, str]) -> Optional[Response]:
    """Check the client's ``X-Symlink-*`` headers and normalise them (None: valid)."""
    form = "X-Symlink-Target header must be of the form <container name>/<object name>"
    raw_target = req.headers[names.TARGET]
    if wsgi_unquote(raw_target).startswith("/"):
        return plain_response(412, form)
    try:
        container, obj = split_object_path(raw_target, names.TARGET)
    except BadCopyRequest:
        return plain_response(412, form)
    req.headers[names.TARGET] = wsgi_quote("%s/%s" % (container, obj))
    account = path[0]
    if names.TARGET_ACCOUNT in req.headers:
        account = wsgi_unquote(req.headers[names.TARGET_ACCOUNT]).strip()
        if not account:
            return plain_response(412, "Account name cannot be empty")
        if "/" in account:
            return plain_response(412, "Account name cannot contain slashes")
        req.headers[names.TARGET_ACCOUNT] = wsgi_quote(account)
    if (account, container, obj) == tuple(wsgi_unquote(p) for p in path):
        return plain_response(400, "Symlink cannot target itself")
    etag = names.normalize_etag(req.headers.get(names.TARGET_ETAG))
    if etag is not None and (not etag or any(c in etag for c in ';"\\')):
        return plain_response(400, "Bad %s format" % names.TARGET_ETAG)
    size = req.headers.get(names.TARGET_BYTES)
    if size is not None:
        if not etag:
            return plain_response(400, "%s requires %s" % (names.TARGET_BYTES,
                                                            names.TARGET_ETAG))
        if not (size.strip().isascii() and size.strip().isdigit()):
            return plain_response(400, "Bad %s format" % names.TARGET_BYTES)
    if not etag and not req.headers.get("Content-Type"):
        req.headers["Content-Type"] = names.DEFAULT_CONTENT_TYPE
    return None


@typed_factory(SymlinkConfig)
def filter_factory(cluster: ClusterConfig, conf: SymlinkConfig,
                   raw: Mapping[str, Any]) -> Callable[[Callable], Symlink]:
    cluster.capabilities.register("symlink", symloop_max=conf.symloop_max, static_links=True)
    api_versions = tuple(cluster.constraints.valid_api_versions)

    def make_filter(app: Callable) -> Symlink:
        return Symlink(app, conf, api_versions)

    return make_filter
