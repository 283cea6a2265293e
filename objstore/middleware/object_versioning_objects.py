"""Object requests in a container with object versioning (``object_versioning``).

With versioning enabled, a client's ``PUT`` stores the data as a new version
in the hidden versions container and makes the user-visible name a static
symlink to it (written through the ``symlink`` filter, to our right); a
``DELETE`` writes a zero-byte *delete marker* version and removes the link.
An object written before versioning was enabled (a ``null`` version) is
first copied into the hidden container, so overwriting it loses nothing.

``?version-id=<id>`` addresses one version: ``GET``/``HEAD``/``DELETE`` it
(rewritten to the hidden container, so only the account's owners may),
``PUT`` it (empty body) to make it the current version again.  ``null``
names the unversioned object under the user-visible name.
"""
from __future__ import annotations

from typing import Callable, Optional
from urllib.parse import urlencode

from webob import Request, Response

from objstore.common.http_text import wsgi_quote, wsgi_unquote
from objstore.common.reserved_names import ALLOW_RESERVED_ENVIRON, ALLOW_RESERVED_HEADER
from objstore.common.timestamp import Timestamp
from objstore.middleware import object_versioning_names as names
from objstore.middleware import symlink_headers as link
from objstore.middleware.copy import IterReader
from objstore.middleware.segments import close_response, from_wsgi, subrequest, to_wsgi
from objstore.middleware.versioned_writes import (DELETE_MARKER_CONTENT_TYPE,
                                                  authorize_as_client)
from objstore.proxy.responses import plain_response

SOURCE = "OV"
# Request headers that belong to the data, not to the user-visible link.
NOT_FOR_LINK = ("ETag", "X-If-Delete-At", link.TARGET_ACCOUNT, link.TARGET_ETAG,
                link.TARGET_BYTES, "X-Object-Manifest",
                "X-Static-Large-Object", "X-Object-Sysmeta-Slo-Etag",
                "X-Object-Sysmeta-Slo-Size", "Content-Length", "Transfer-Encoding")
# A version keeps everything about the object except when it expires.
NOT_FOR_VERSION = ("x-delete-at", "x-delete-after", "content-length", "transfer-encoding",
                   "x-timestamp", "host")
MISSING_VERSIONS_CONTAINER = ("The versions container does not exist. You may want to "
                              "re-enable object versioning.")
SLO_SIZE_SYSMETA = "X-Object-Sysmeta-Slo-Size"


class VersioningError(Exception):
    """A step failed; ``response`` is the client's answer (nothing was lost)."""

    def __init__(self, response: Response):
        super().__init__(response.status)
        self.response = response


class _CountingReader:
    """The client's body, counted as the PUT reads it (a chunked upload has no length)."""

    def __init__(self, source) -> None:
        self.source = source
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.source.read(size)
        self.count += len(chunk)
        return chunk

    def readline(self, size: int = -1) -> bytes:
        chunk = self.source.readline(size)
        self.count += len(chunk)
        return chunk


def check_step(resp: Response, what: str) -> None:
    """Raise the client's answer for a sub-request that did not succeed."""
    if 200 <= resp.status_int < 300:
        return
    close_response(resp)
    if resp.status_int == 404:
        raise VersioningError(plain_response(412, "Precondition Failed: could not %s" % what))
    if 400 <= resp.status_int < 500:
        raise VersioningError(plain_response(resp.status_int, "Could not %s" % what))
    raise VersioningError(plain_response(503, "Service Unavailable: could not %s" % what))


def _header_subset(headers, keep: Callable[[str], bool]) -> dict:
    return {k: v for k, v in headers.items() if keep(k.lower())}


class ObjectVersioning:
    """The sub-requests of one object request in a versioned container."""

    def __init__(self, app: Callable, req: Request, version: str, account: str,
                 container: str, obj: str, hidden: str):
        """Names are WSGI strings except ``hidden`` (the versions container, text)."""
        self.app = app
        self.req = req
        self.version = version
        self.account = account
        self.container = container
        self.obj = obj
        self.obj_text = from_wsgi(obj)
        self.hidden = hidden
        self.hidden_path = "/%s/%s/%s" % (version, account, to_wsgi(hidden))

    # -- helpers ---------------------------------------------------------------------
    def version_path(self, stamp: Timestamp) -> str:
        return "%s/%s" % (self.hidden_path, to_wsgi(names.version_object(self.obj_text, stamp)))

    def call(self, method: str, path: str, query: str = "", headers: Optional[dict] = None,
             body=None, length: Optional[str] = None) -> Response:
        """A pre-authorized sub-request (the client's own rights were checked first)."""
        sub = subrequest(self.req.environ, method, path, query, SOURCE, headers)
        sub.environ.pop("swift.authorize", None)
        sub.environ["swift.authorize_override"] = True
        sub.headers[ALLOW_RESERVED_HEADER] = "true"
        if body is not None:
            sub.environ["wsgi.input"] = body
            sub.environ.pop("CONTENT_LENGTH", None)
            if length is not None:
                sub.environ["CONTENT_LENGTH"] = length
            else:
                sub.environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        return sub.get_response(self.app)

    def authorize_write(self, write_acl: Optional[str]) -> None:
        denied = authorize_as_client(self.req.environ, write_acl, self.req.environ["PATH_INFO"])
        if denied is not None:
            raise VersioningError(denied)

    def version_of_link(self, target: Optional[str]) -> Optional[Timestamp]:
        """The version a versions link's (quoted) target names, if it is in our container."""
        if not target:
            return None
        return self.version_at(wsgi_unquote(target))

    def version_at(self, target: str) -> Optional[Timestamp]:
        """The version ``<container>/<object>`` (WSGI, unquoted) names, if it is ours."""
        container, _sep, name = from_wsgi(target).lstrip("/").partition("/")
        if container != self.hidden:
            return None
        # (a link in the chain may lead to another object's version: that one counts)
        return names.split_version_object(name)[1]

    def current(self) -> tuple[Optional[Response], Optional[Timestamp]]:
        """HEAD of the name itself (not its target): (None, None) when it does not exist;
        else the answer and, for a versions link, the version it points at."""
        head = self.call("HEAD", self.req.environ["PATH_INFO"], "symlink=get",
                         {"X-Newest": "true"})
        close_response(head)
        if head.status_int == 404:
            return None, None
        check_step(head, "read the current version")
        if head.headers.get(names.SYSMETA_VERSIONS_SYMLINK) != "true":
            return head, None
        return head, self.version_of_link(head.headers.get(link.TARGET))

    # -- keeping the current object --------------------------------------------------
    def keep_current(self) -> None:
        """Copy a ``null`` version (written without versioning) into the hidden container."""
        source = self.call("GET", self.req.environ["PATH_INFO"], "symlink=get",
                           {"X-Newest": "true"})
        if source.status_int == 404:
            close_response(source)
            return
        check_step(source, "read the current version")
        if source.headers.get(names.SYSMETA_VERSIONS_SYMLINK) == "true":
            close_response(source)
            return
        stamp = source.headers.get("X-Timestamp")
        try:
            written = Timestamp(stamp) if stamp else Timestamp(
                source.last_modified.timestamp())
        except (ValueError, AttributeError):
            written = Timestamp.now()
        headers = _header_subset(source.headers, lambda k: k not in NOT_FOR_VERSION and
                                 not k.startswith("x-backend-") and k not in (
                                     "etag", "last-modified", "accept-ranges", "x-trans-id",
                                     "x-openstack-request-id", "date"))
        if link.TARGET in source.headers:
            # a client's own symlink is kept as a link (its sysmeta names were shown)
            for client_name, sysmeta_name in link.CLIENT_TO_SYSMETA:
                if client_name in headers:
                    headers[sysmeta_name] = headers.pop(client_name)
            headers[link.OVERRIDE_ETAG] = link.listing_etag(headers)
        slo_size = source.headers.get(SLO_SIZE_SYSMETA)
        if slo_size and "Content-Type" in headers:
            headers["Content-Type"] += ";swift_bytes=%s" % slo_size
        length = None if source.content_length is None else str(source.content_length)
        # (the large-object filters sit left of this one: a manifest is copied as one)
        resp = self.call("PUT", self.version_path(written), "", headers,
                         IterReader(source.app_iter), length)
        close_response(source)
        self._check_put_to_hidden(resp, "keep the current version")

    def _check_put_to_hidden(self, resp: Response, what: str) -> None:
        if resp.status_int == 404:
            close_response(resp)
            raise VersioningError(plain_response(500, MISSING_VERSIONS_CONTAINER))
        check_step(resp, what)
        close_response(resp)

    # -- PUT -------------------------------------------------------------------------
    def put(self, write_acl: Optional[str]) -> Response:
        self.authorize_write(write_acl)
        self.keep_current()
        stamp = Timestamp.now()
        env = self.req.environ
        headers = _header_subset(self.req.headers, lambda k: k not in NOT_FOR_VERSION)
        reader = _CountingReader(env["wsgi.input"])
        chunked = "chunked" in env.get("HTTP_TRANSFER_ENCODING", "").lower()
        length = None if chunked else env.get("CONTENT_LENGTH") or "0"
        resp = self.call("PUT", self.version_path(stamp), "", headers, reader, length)
        if not 200 <= resp.status_int < 300 and resp.status_int != 404:
            return resp  # the client's own error (422, 413, 411...), as a plain PUT gives
        self._check_put_to_hidden(resp, "store the new version")
        size = self.req.headers.get("X-Object-Sysmeta-Slo-Size") or str(reader.count)
        etag = resp.headers.get("Etag", "").strip('"')
        if self.req.headers.get(link.TARGET_ETAG):
            # the version is itself a static link: following it leads to the ETag it names
            etag = link.normalize_etag(self.req.headers[link.TARGET_ETAG]) or etag
        content_type = self.req.headers.get("Content-Type")
        if not content_type:
            # the symlink filter (or the object server) chose one: ask the version
            head = self.call("HEAD", self.version_path(stamp), "symlink=get")
            close_response(head)
            content_type = head.headers.get("Content-Type") or "application/octet-stream"
        return self.link_to(stamp, etag, size, content_type.split(";")[0].strip())

    def link_to(self, stamp: Timestamp, etag: str, size: str, content_type: str) -> Response:
        """Make the user-visible name a static link to version ``stamp``."""
        env = self.req.environ
        for header in NOT_FOR_LINK:
            self.req.headers.pop(header, None)
        self.req.headers.update({
            link.TARGET: wsgi_quote(to_wsgi(
                "%s/%s" % (self.hidden, names.version_object(self.obj_text, stamp)))),
            link.SYSMETA_TARGET_ETAG: etag,
            link.SYSMETA_TARGET_BYTES: size,
            link.SYSMETA_SYMLOOP_EXTEND: "true",
            link.SYSMETA_ALLOW_RESERVED_NAMES: "true",
            names.SYSMETA_VERSIONS_SYMLINK: "true",
            "Content-Type": content_type,
        })
        env["REQUEST_METHOD"] = "PUT"
        env["QUERY_STRING"] = ""
        env["wsgi.input"] = IterReader([b""])
        env["CONTENT_LENGTH"] = "0"
        env["swift.source"] = SOURCE
        resp = self.req.get_response(self.app)
        if 200 <= resp.status_int < 300:
            if etag:
                resp.headers["Etag"] = etag
            resp.headers[names.VERSION_ID] = stamp.internal
        return resp

    # -- DELETE ----------------------------------------------------------------------
    def delete(self, write_acl: Optional[str]) -> Response:
        self.authorize_write(write_acl)
        self.keep_current()
        stamp = Timestamp.now()
        marker = self.call("PUT", self.version_path(stamp), "",
                           {"Content-Type": DELETE_MARKER_CONTENT_TYPE},
                           IterReader([b""]), "0")
        self._check_put_to_hidden(marker, "write the delete marker")
        resp = self.req.get_response(self.app)
        if 200 <= resp.status_int < 300 or resp.status_int == 404:
            resp.headers[names.VERSION_ID] = stamp.internal
        return resp

    # -- POST ------------------------------------------------------------------------
    def post(self) -> Response:
        """POST to the link lands on the version it points at (metadata only)."""
        carried = _header_subset(self.req.headers, lambda k: k not in (
            "x-delete-at", "x-delete-after", "content-length", "host", "transfer-encoding"))
        resp = self.req.get_response(self.app)
        if resp.status_int != 307 or \
                resp.headers.get(names.SYSMETA_VERSIONS_SYMLINK) != "true":
            return resp
        location = wsgi_unquote(resp.headers.get("Location", ""))
        prefix = self.hidden_path + "/"
        if not location.startswith(prefix):
            return resp
        close_response(resp)
        return self.call("POST", location, "", carried)

    # -- GET / HEAD ------------------------------------------------------------------
    def read(self) -> Response:
        resp = self.req.get_response(self.app)
        resp.headers[names.VERSION_ID] = names.NULL_VERSION
        location = resp.headers.get("Content-Location")
        if location:
            target = wsgi_unquote(location)
            prefix = self.hidden_path + "/"
            if target.startswith(prefix):
                stamp = self.version_at(to_wsgi(self.hidden) + "/" + target[len(prefix):])
                if stamp is not None:
                    resp.headers[names.VERSION_ID] = stamp.internal
                    resp.headers["Content-Location"] = "%s?%s=%s" % (
                        wsgi_quote(self.req.environ["PATH_INFO"]), names.VERSION_QUERY,
                        stamp.internal)
        target = resp.headers.get(link.TARGET)
        stamp = self.version_of_link(target)
        if stamp is not None:
            resp.headers[names.VERSION_ID] = stamp.internal
            resp.headers[link.TARGET] = "%s?%s=%s" % (
                wsgi_quote("%s/%s" % (self.container, self.obj)), names.VERSION_QUERY,
                stamp.internal)
        return resp

    # -- ?version-id= ----------------------------------------------------------------
    def to_version(self, stamp: Timestamp) -> Response:
        """Send the client's request itself on to one version (auth as for the hidden
        container: only the account's owners).  A copy of its environ: filters to our
        left still see the name the client asked for."""
        env = {k: v for k, v in self.req.environ.items() if not k.startswith("webob.")}
        env["PATH_INFO"] = self.version_path(stamp)
        env["QUERY_STRING"] = urlencode([(k, v) for k, v in self.req.GET.items()
                                         if k != names.VERSION_QUERY])
        env[ALLOW_RESERVED_ENVIRON] = "true"
        env["swift.source"] = SOURCE
        return Request(env).get_response(self.app)

    def read_version(self, version_id: str) -> Response:
        if version_id == names.NULL_VERSION:
            resp = self.req.get_response(self.app)
            if 200 <= resp.status_int < 300:
                location = wsgi_unquote(resp.headers.get("Content-Location", ""))
                if location.startswith(self.hidden_path + "/"):
                    # the name is a link to a real version: no null version exists
                    close_response(resp)
                    return plain_response(404, "Not Found", request_method=self.req.method)
                resp.headers[names.VERSION_ID] = names.NULL_VERSION
            return resp
        stamp = names.parse_version_id(version_id)
        resp = self.to_version(stamp)
        if 200 <= resp.status_int < 300:
            resp.headers[names.VERSION_ID] = version_id
        if resp.headers.get("Content-Type") == DELETE_MARKER_CONTENT_TYPE:
            close_response(resp)
            return plain_response(404, "Not Found", {
                names.VERSION_ID: version_id, "Content-Type": DELETE_MARKER_CONTENT_TYPE},
                request_method=self.req.method)
        return resp

    def delete_version(self, version_id: str) -> Response:
        if version_id == names.NULL_VERSION:
            return self.req.get_response(self.app)
        stamp = names.parse_version_id(version_id)
        head, current = self.current()
        if head is not None and current == stamp:
            # the current version: remove the link first, then the data
            link_req = subrequest(self.req.environ, "DELETE", self.req.environ["PATH_INFO"],
                                  "", SOURCE)
            link_resp = link_req.get_response(self.app)
            check_step(link_resp, "remove the link to the current version")
            close_response(link_resp)
            current_id = names.NULL_VERSION
        elif current is not None:
            current_id = current.internal
        else:
            current_id = names.NULL_VERSION
        resp = self.to_version(stamp)
        resp.headers[names.VERSION_ID] = version_id
        resp.headers["X-Object-Current-Version-Id"] = current_id
        return resp

    def restore_version(self, version_id: str) -> Response:
        """``PUT ?version-id=``: make an existing version the current one again."""
        env = self.req.environ
        if "chunked" in env.get("HTTP_TRANSFER_ENCODING", "").lower():
            has_body = env["wsgi.input"].read(1) != b""
        elif self.req.content_length is None:
            return plain_response(411, "Length Required")
        else:
            has_body = self.req.content_length != 0
        if has_body:
            return plain_response(400, "PUT version-id requests require a zero byte body")
        stamp = names.parse_version_id(version_id)
        head = self.call("HEAD", self.version_path(stamp), "symlink=get")
        close_response(head)
        if head.status_int == 404:
            return plain_response(404, "The specified version does not exist")
        check_step(head, "read the version")
        if head.headers.get("Content-Type") == DELETE_MARKER_CONTENT_TYPE:
            return plain_response(404, "The specified version does not exist")
        size = str(head.content_length or 0)
        return self.link_to(stamp, head.headers.get("Etag", "").strip('"'),
                            head.headers.get(SLO_SIZE_SYSMETA) or size,
                            head.headers.get("Content-Type", "application/octet-stream"))
