"""Object versioning, Swift's original mode (``versioned_writes``).

A container opts in with one of two headers naming an *archive* container
(URL-encoded), which this filter keeps as container sysmeta so nothing is
stored when the filter is absent:

- ``X-Versions-Location: <archive>`` (stack): a PUT (or COPY) over an
  existing object first copies the old one to
  ``<archive>/<3 hex digits: the name's length in bytes><name>/<its timestamp>``;
  a DELETE puts the newest archived version back and removes it from the
  archive, so deleting as many times as there are versions empties both.
- ``X-History-Location: <archive>`` (history): PUT as above; a DELETE copies
  the current version to the archive, writes a zero-byte *delete marker*
  (content type ``application/x-deleted;swift_versions_deleted=1``) after
  it, then deletes; nothing is ever lost from the archive.

Both at once is refused (400); an empty value (or ``X-Remove-…``) turns
versioning off.  POST changes metadata only and creates no version.
Manifests are copied as manifests (the copies are read with
``multipart-manifest=get``, below the large-object filters): an archived
SLO keeps its segment list, an archived DLO its ``X-Object-Manifest``.
A symlink is versioned as the link (read with ``symlink=get``), not as
the object it points to.

Authorization: the client must be allowed to write the versioned container,
checked before anything is read.  The archive is the versioned container's
own bookkeeping, so the copies into and out of it then run as
pre-authorized sub-requests: the owner may let others write a container
whose history they can neither read nor change (one archive may serve
several containers written by different users).
"""
from __future__ import annotations

import dataclasses
import email.utils
import json
from types import MappingProxyType
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional
from urllib.parse import quote

from webob import Request, Response

from objstore.common.cluster_config import ClusterConfig
from objstore.common.config import ConfigSection
from objstore.common.http_text import wsgi_is_utf8, wsgi_strip, wsgi_to_str, wsgi_unquote
from objstore.common.listing_format import strip_swift_bytes
from objstore.common.logs import get_logger
from objstore.common.pipeline import typed_factory
from objstore.common.timestamp import Timestamp
from objstore.middleware.copy import IterReader
from objstore.middleware.segments import (
    MANIFEST_QUERY,
    close_response,
    from_wsgi,
    read_body,
    subrequest,
    to_wsgi,
)
from objstore.proxy import info_cache
from objstore.proxy.responses import plain_response

CLIENT_VERSIONS_LOC = "X-Versions-Location"
CLIENT_HISTORY_LOC = "X-History-Location"
SYSMETA_LOCATION = "X-Container-Sysmeta-Versions-Location"
SYSMETA_MODE = "X-Container-Sysmeta-Versions-Mode"
MODES = MappingProxyType({CLIENT_VERSIONS_LOC: "stack", CLIENT_HISTORY_LOC: "history"})
DELETE_MARKER_CONTENT_TYPE = "application/x-deleted;swift_versions_deleted=1"
# What an archived copy keeps of the object (besides its body).
KEPT_HEADERS = ("content-type", "content-encoding", "content-disposition", "x-delete-at",
                "x-static-large-object", "x-object-manifest")
KEPT_PREFIXES = ("x-object-meta-", "x-object-sysmeta-", "x-object-transient-sysmeta-",
                 # a symlink's target (read with ?symlink=get): the copy is the link itself
                 "x-symlink-target")
# Versions are of what is stored under the name: manifests and symlinks themselves.
SOURCE_QUERY = MANIFEST_QUERY + "&symlink=get"
SLO_SIZE_SYSMETA = "X-Object-Sysmeta-Slo-Size"
LISTING_PAGE_LIMIT = 16 * 1024 * 1024


@dataclasses.dataclass
class VersionedWritesConfig(ConfigSection):
    # Off, the filter refuses to turn versioning on (412) and versions nothing.
    allow_versioned_writes: bool = False
    log_name: str = "versioned_writes"



def version_name_prefix(obj: str) -> str:
    """``<3 hex digits of the name's UTF-8 length><name>/`` for a decoded object name."""
    return "%03x%s/" % (len(obj.encode("utf-8")), obj)


def source_timestamp(resp: Response) -> str:
    """When the version in ``resp`` was written, as a normal timestamp."""
    stamp = resp.headers.get("X-Timestamp")
    if stamp:
        try:
            return Timestamp(stamp).normal
        except ValueError:
            pass
    modified = resp.headers.get("Last-Modified")
    seconds = email.utils.parsedate_to_datetime(modified).timestamp() if modified else None
    return Timestamp(seconds if seconds is not None else Timestamp.now()).normal


class VersioningFailed(Exception):
    """Versioning could not be done; ``response`` tells the client (nothing was lost)."""

    def __init__(self, response: Response):
        super().__init__(response.status)
        self.response = response


def failed(resp: Response, what: str) -> VersioningFailed:
    """The client's answer for a copy step that went wrong."""
    close_response(resp)
    code = resp.status_int
    if code == 404:
        return VersioningFailed(plain_response(
            412, "Precondition Failed: %s (archive container missing?)" % what))
    if 400 <= code < 500:
        return VersioningFailed(plain_response(code, "%s: %s" % (what, resp.status)))
    return VersioningFailed(plain_response(503, "Service Unavailable: could not %s" % what))


class VersionedWrites:
    """WSGI filter; see the module docstring."""

    def __init__(self, app: Callable, conf: VersionedWritesConfig):
        self.app = app
        self.conf = conf
        self.logger = get_logger(conf.log_name)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        parts = environ.get("PATH_INFO", "").split("/", 4)
        if len(parts) < 4 or parts[0] or not all(parts[1:4]):
            return self.app(environ, start_response)
        method = environ.get("REQUEST_METHOD")
        req = Request(environ)
        if len(parts) == 4:
            if method in ("PUT", "POST"):
                refused = self.translate_container_headers(req)
                if refused is not None:
                    return refused(environ, start_response)
                return self.app(environ, start_response)
            if method in ("GET", "HEAD"):
                return self.show_location(req)(environ, start_response)
            return self.app(environ, start_response)
        if method not in ("PUT", "DELETE") or not parts[4]:
            return self.app(environ, start_response)
        return self.object_request(req, parts[1], parts[2], parts[3], parts[4])(
            environ, start_response)

    # -- containers ------------------------------------------------------------------
    def translate_container_headers(self, req: Request) -> Optional[Response]:
        """Client location headers -> sysmeta (None: go on), or the refusal."""
        for header in (CLIENT_VERSIONS_LOC, CLIENT_HISTORY_LOC):
            if req.headers.get("X-Remove-" + header[2:]) is not None:
                del req.headers["X-Remove-" + header[2:]]
                # a location sent alongside wins: the client asked for it outright
                if not wsgi_strip(req.headers.get(header) or ""):
                    req.headers[header] = ""
        given = {h: wsgi_strip(req.headers[h]) for h in MODES if h in req.headers}
        if not given:
            return None
        if all(given.values()) and len(given) == 2:
            return plain_response(400, "Only one of %s or %s may be specified"
                         % (CLIENT_VERSIONS_LOC, CLIENT_HISTORY_LOC))
        if not self.conf.allow_versioned_writes:
            return plain_response(412, "Versioned Writes is disabled")
        chosen = next((h for h, v in given.items() if v), None)
        for header in given:
            del req.headers[header]
        if chosen is None:
            req.headers[SYSMETA_LOCATION] = ""
            req.headers[SYSMETA_MODE] = ""
            return None
        location = given[chosen]
        decoded = wsgi_unquote(location)
        if not (wsgi_is_utf8(location) and wsgi_is_utf8(decoded, allow_nul=True)):
            return plain_response(400, "%s must be URL-encoded UTF-8" % chosen)
        archive = wsgi_to_str(decoded)
        if "/" in archive or "\x00" in archive:
            return plain_response(412, "Container name cannot contain slashes")
        req.headers[SYSMETA_LOCATION] = location
        req.headers[SYSMETA_MODE] = MODES[chosen]
        return None

    def show_location(self, req: Request) -> Response:
        resp = req.get_response(self.app)
        location = resp.headers.get(SYSMETA_LOCATION)
        if location and 200 <= resp.status_int < 300:
            mode = resp.headers.get(SYSMETA_MODE) or "stack"
            header = CLIENT_HISTORY_LOC if mode == "history" else CLIENT_VERSIONS_LOC
            resp.headers[header] = location
        return resp

    # -- objects ---------------------------------------------------------------------
    def object_request(self, req: Request, version: str, account: str, container: str,
                       obj: str) -> Response:
        if not self.conf.allow_versioned_writes:
            return req.get_response(self.app)
        info = info_cache.get_container_info(req.environ, self.app, from_wsgi(account),
                                             from_wsgi(container))
        location = info.get("sysmeta", {}).get("versions-location")
        if not location or not 200 <= info.get("status", 0) < 300:
            return req.get_response(self.app)
        archive = wsgi_to_str(wsgi_unquote(location))
        mode = info["sysmeta"].get("versions-mode") or "stack"
        job = VersioningJob(self.app, req, version, account, from_wsgi(obj), archive)
        denied = job.authorize(info.get("write_acl"), req.environ["PATH_INFO"])
        if denied is not None:
            return denied
        try:
            if req.method == "PUT":
                job.archive_current()
                return req.get_response(self.app)
            if mode == "history":
                job.archive_current()
                job.write_delete_marker()
                return req.get_response(self.app)
            return job.restore_previous()
        except VersioningFailed as err:
            return err.response



def authorize_as_client(environ: dict, acl: Optional[str], path: str) -> Optional[Response]:
    """Ask the auth filter whether the client may act on ``path`` (WSGI) under ``acl``.

    None means yes (or no auth filter in the pipeline); otherwise the refusal.
    """
    authorize = environ.get("swift.authorize")
    if authorize is None or environ.get("swift.authorize_override"):
        return None
    env = {k: v for k, v in environ.items() if k != "webob.adhoc_attrs"}
    env["PATH_INFO"] = path
    check = Request(env)
    check.acl = acl
    return authorize(check)


class VersioningJob:
    """The sub-requests for one object write in a versioned container."""

    def __init__(self, app: Callable, req: Request, version: str, account: str, obj: str,
                 archive: str):
        self.app = app
        self.req = req
        self.version = version
        self.account = account
        self.obj = obj
        self.archive = archive
        self.archive_path = "/%s/%s/%s" % (version, account, to_wsgi(archive))

    # -- authorization -----------------------------------------------------------------
    def authorize(self, acl: Optional[str], path: str) -> Optional[Response]:
        return authorize_as_client(self.req.environ, acl, path)

    # -- sub-requests ------------------------------------------------------------------
    def _call(self, method: str, path: str, query: str = "",
              headers: Optional[dict] = None, body: Any = None) -> Response:
        """A sub-request already authorized by this filter (the client's checks ran)."""
        sub = subrequest(self.req.environ, method, path, query, "VW", headers)
        sub.environ.pop("swift.authorize", None)
        if body is not None:
            sub.environ["wsgi.input"] = body
            sub.environ.pop("CONTENT_LENGTH", None)
            if "Content-Length" in (headers or {}):
                sub.environ["CONTENT_LENGTH"] = headers["Content-Length"]
            else:
                sub.environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        return sub.get_response(self.app)

    def _copy(self, source: Response, dest_path: str, what: str) -> None:
        """PUT ``source``'s body and kept headers at ``dest_path``."""
        headers = {k: v for k, v in source.headers.items()
                   if k.lower() in KEPT_HEADERS or k.lower().startswith(KEPT_PREFIXES)}
        slo_size = source.headers.get(SLO_SIZE_SYSMETA)
        if slo_size and "Content-Type" in headers:
            # the listing shows the large object's size, as for the manifest itself
            headers["Content-Type"] = "%s;swift_bytes=%s" % (
                strip_swift_bytes(headers["Content-Type"]), slo_size)
        if source.content_length is not None:
            headers["Content-Length"] = str(source.content_length)
        resp = self._call("PUT", dest_path, "", headers, IterReader(source.app_iter))
        close_response(source)
        if not 200 <= resp.status_int < 300:
            raise failed(resp, what)
        close_response(resp)

    def _get_source(self, path: str) -> Optional[Response]:
        """The stored object at ``path`` (manifests as manifests); None when absent."""
        resp = self._call("GET", path, SOURCE_QUERY, {"X-Newest": "true"})
        if resp.status_int == 404:
            close_response(resp)
            return None
        if not 200 <= resp.status_int < 300:
            raise failed(resp, "read the current version")
        return resp

    # -- the operations ----------------------------------------------------------------
    def archive_current(self) -> None:
        """Copy the object as it is now into the archive (nothing when it does not exist)."""
        current = self._get_source(self.req.environ["PATH_INFO"])
        if current is None:
            return
        name = version_name_prefix(self.obj) + source_timestamp(current)
        self._copy(current, self.archive_path + "/" + to_wsgi(name), "archive the current "
                   "version")

    def write_delete_marker(self) -> None:
        name = version_name_prefix(self.obj) + Timestamp.now().normal
        headers = {"Content-Type": DELETE_MARKER_CONTENT_TYPE, "Content-Length": "0"}
        resp = self._call("PUT", self.archive_path + "/" + to_wsgi(name), "", headers,
                          IterReader([b""]))
        if not 200 <= resp.status_int < 300:
            raise failed(resp, "write the delete marker")
        close_response(resp)

    def archived_versions(self) -> Iterator[dict]:
        """The archive's entries for this object, newest first."""
        prefix = version_name_prefix(self.obj)
        marker = ""
        while True:
            query = "format=json&reverse=on&prefix=%s" % quote(prefix)
            if marker:
                query += "&marker=%s" % quote(marker)
            resp = self._call("GET", self.archive_path, query)
            if resp.status_int in (204, 404):
                close_response(resp)
                return
            if resp.status_int != 200:
                raise failed(resp, "list the archive")
            page = json.loads(read_body(resp, LISTING_PAGE_LIMIT) or b"[]")
            if not page:
                return
            yield from page
            marker = page[-1]["name"]

    def _restore(self, entry: dict) -> Optional[str]:
        """Copy an archived version over the current object; its archive path, or None."""
        path = self.archive_path + "/" + to_wsgi(entry["name"])
        source = self._get_source(path)
        if source is None:
            return None
        self._copy(source, self.req.environ["PATH_INFO"], "restore the previous version")
        return path

    def restore_previous(self) -> Response:
        """Stack-mode DELETE: bring the newest archived version back (or just delete)."""
        target = self.req
        versions = self.archived_versions()
        for entry in versions:
            if entry.get("content_type") == DELETE_MARKER_CONTENT_TYPE:
                head = self._call("HEAD", self.req.environ["PATH_INFO"])
                close_response(head)
                if head.status_int != 404:
                    break  # the object exists again after the marker: delete it as asked
                for older in versions:
                    if older.get("content_type") == DELETE_MARKER_CONTENT_TYPE:
                        break
                    restored = self._restore(older)
                    if restored is not None:
                        self._drop_archived(restored)
                        break
                path = self.archive_path + "/" + to_wsgi(entry["name"])
            else:
                path = self._restore(entry)
                if path is None:
                    continue
            return self._call("DELETE", path)
        return target.get_response(self.app)

    def _drop_archived(self, path: str) -> None:
        resp = self._call("DELETE", path)
        close_response(resp)
        if resp.status_int != 404 and not 200 <= resp.status_int < 300:
            raise failed(resp, "remove the restored version from the archive")


@typed_factory(VersionedWritesConfig)
def filter_factory(cluster: ClusterConfig, conf: VersionedWritesConfig,
                   raw: Mapping[str, Any]) -> Callable[[Callable], VersionedWrites]:
    if conf.allow_versioned_writes:
        cluster.capabilities.register("versioned_writes",
                                      allowed_flags=[CLIENT_VERSIONS_LOC, CLIENT_HISTORY_LOC])

    def make_filter(app: Callable) -> VersionedWrites:
        return VersionedWrites(app, conf)

    return make_filter
