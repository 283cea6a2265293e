"""One S3 request on its way through: its target, query, auth, and Swift calls.

Handlers (buckets, objects) get an :class:`S3Request` and talk to the rest of
the pipeline only through :meth:`S3Request.swift`, which sends a Swift
sub-request as the authenticated user; :meth:`S3Request.fail_for` turns a
Swift answer into the S3 error a client expects.
"""
from __future__ import annotations

import io
import json
from types import MappingProxyType
from typing import Any, Callable, Iterator, Mapping, Optional
from urllib.parse import quote, urlencode

import webob

from objstore.common.http_text import str_to_wsgi, wsgi_to_str
from objstore.middleware.s3api.auth import AUTH_DETAILS_KEY, AuthDetails
from objstore.middleware.s3api.body import CheckedInput
from objstore.middleware.s3api.bucket_registry import BucketRegistry
from objstore.middleware.s3api.config import S3ApiConfig
from objstore.middleware.s3api.errors import S3Error

# Environ keys a Swift sub-request inherits from the client's request.
_INHERITED = ("SERVER_NAME", "SERVER_PORT", "HTTP_HOST", "wsgi.url_scheme",
              "SERVER_PROTOCOL", "REMOTE_ADDR", "swift.trans_id", "wsgi.errors",
              "HTTP_USER_AGENT", "objstore.infocache", "swift.infocache")
SEGMENTS_SUFFIX = "+segments"
# Swift answers with an S3 error of their own (the rest: see S3Request.fail_for).
_SWIFT_STATUS_CODES: Mapping[int, str] = MappingProxyType({
    401: "AccessDenied", 403: "AccessDenied", 405: "MethodNotAllowed",
    408: "IncompleteBody", 409: "OperationAborted", 411: "MissingContentLength",
    412: "PreconditionFailed", 413: "EntityTooLarge", 416: "InvalidRange",
    422: "BadDigest", 429: "SlowDown", 499: "IncompleteBody",
    503: "ServiceUnavailable", 507: "ServiceUnavailable"})


class S3Request:
    """What a handler needs: target names, query values, and Swift access."""

    def __init__(self, app: Callable, environ: dict, conf: S3ApiConfig,
                 details: Optional[AuthDetails], bucket: Optional[str], key: Optional[str],
                 query: dict[str, str], request_id: str,
                 anonymous_account: Optional[str] = None,
                 registry: Optional[BucketRegistry] = None):
        """``details`` None: an unsigned request, served as an anonymous Swift
        request for ``anonymous_account`` (WSGI text, the bucket's owner), so
        the bucket's container ACL decides what it may read."""
        if (details is None) == (anonymous_account is None):
            raise ValueError("a request is either signed or for an anonymous account")
        self.app = app
        self.environ = environ
        self.conf = conf
        self.details = details
        self.anonymous_account = anonymous_account
        # Which account holds each bucket name (None: names are per account).
        self.registry = registry
        self.bucket = bucket
        self.key = key
        self.query = query
        self.request_id = request_id
        self.method = environ["REQUEST_METHOD"]
        self.request = webob.Request(environ)
        self.headers = self.request.headers
        # The readers checking the client's body as it streams (their refusals
        # explain a failed PUT better than the proxy's status).
        self.checked_inputs: list[CheckedInput] = []

    def swift(self, method: str, container: Optional[str] = None, obj: Optional[str] = None,
              query: str = "", headers: Optional[dict[str, str]] = None,
              body: Optional[bytes] = None, body_file: Any = None,
              length: Optional[int] = None) -> webob.Response:
        """A Swift request for the user's account (or one of its containers/objects)."""
        if self.details is None:
            path = "/v1/" + (self.anonymous_account or "")
        else:
            # the access key stands for the account until the auth filter resolves it
            path = "/v1/" + str_to_wsgi(self.details.access_key)
        if container is not None:
            path += "/" + str_to_wsgi(container)
            if obj is not None:
                path += "/" + str_to_wsgi(obj)
        env = {key: self.environ[key] for key in _INHERITED if key in self.environ}
        if body is not None:
            body_file, length = io.BytesIO(body), len(body)
        env.update({
            "REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": path,
            "QUERY_STRING": query, "swift.source": "S3",
            "wsgi.input": body_file if body_file is not None else io.BytesIO(b""),
            "CONTENT_LENGTH": str(length or 0),
        })
        if self.details is not None:
            env[AUTH_DETAILS_KEY] = self.details
        sub = webob.Request(env)
        for name, value in (headers or {}).items():
            sub.headers[name] = value
        resp = sub.get_response(self.app)
        if resp.status_int in (401, 403) and self.details is not None and self.details.error:
            resp.app_iter = []
            raise S3Error(self.details.error)
        return resp

    def listed(self, container: Optional[str] = None, prefix: str = "",
               marker: str = "") -> Iterator[dict]:
        """Every JSON listing row of the account (or of ``container``) under
        ``prefix`` after ``marker``, page by page; nothing when it does not exist."""
        while True:
            query = urlencode({"format": "json", "prefix": prefix, "marker": marker},
                              quote_via=quote)
            resp = self.swift("GET", container, query=query)
            if resp.status_int in (204, 404):
                return
            if resp.status_int != 200:
                raise self.fail_for(resp)
            page = json.loads(resp.body)
            if not page:
                return
            yield from page
            marker = page[-1].get("name") or page[-1].get("subdir")

    def fail_for(self, resp: webob.Response, missing: str = "NoSuchKey") -> S3Error:
        """The S3 error for a Swift answer that was not a success."""
        status = resp.status_int
        for reader in self.checked_inputs:
            if reader.refused is not None:
                return reader.refused
        if status == 404:
            if missing == "NoSuchKey" and not self.bucket_exists():
                return S3Error("NoSuchBucket", BucketName=self.bucket or "")
            if missing == "NoSuchBucket":
                return S3Error("NoSuchBucket", BucketName=self.bucket or "")
            return S3Error(missing, Key=self.key or "")
        if status in _SWIFT_STATUS_CODES:
            return S3Error(_SWIFT_STATUS_CODES[status])
        reason = resp.text.strip()[:200] or None
        if status == 400:
            return S3Error("InvalidArgument", reason)
        if 400 <= status < 500:
            # The client's fault whatever the exact status: never a 500.
            return S3Error("InvalidRequest", reason)
        return S3Error("InternalError")

    def bucket_exists(self) -> bool:
        resp = self.swift("HEAD", self.bucket)
        if resp.status_int // 100 == 2:
            return True
        if resp.status_int == 404:
            return False
        raise self.fail_for(resp, "NoSuchBucket")

    @property
    def owner(self) -> list[tuple[str, object]]:
        """The ``<Owner>`` fields: the user, as S3 clients display it (for an
        anonymous reader, the bucket's account)."""
        owner = self.details.access_key if self.details is not None else \
            wsgi_to_str(self.anonymous_account or "")
        return [("ID", owner), ("DisplayName", owner)]
