"""Which account holds a bucket: the cluster-wide bucket registry.

S3 bucket names are global, but a bucket here is a container of one
account.  A signed request names its account through its access key; an
unsigned path-style request (``GET /bucket/key``) names none, so the
registry answers the question for every proxy of the cluster: one
zero-byte object per bucket, named after it, in a container of a reserved
account no client can name (see :mod:`objstore.common.reserved_names`),
recording the owning account in its metadata.

A bucket is registered when it is created through S3 (and, for buckets
made before the registry or through Swift, when its canned ACL is set
through S3); its row goes when it is deleted through S3.  A row may outlive
its container (deleted through Swift): a lookup then leads to a container
that does not exist, and a later CreateBucket by anyone takes the name over.

Lookups are cached in the process for ``ttl`` seconds, so a burst of
anonymous reads costs one registry read; whether a reader may read is
still decided by the bucket's container ACL on every request.
"""
from __future__ import annotations

import io
import time
from typing import Callable, Optional

import webob

from objstore.common.http_text import str_to_wsgi
from objstore.common.reserved_names import ALLOW_RESERVED_HEADER, reserved_name
from objstore.middleware.segments import close_response

REGISTRY_ACCOUNT = reserved_name("s3api")
REGISTRY_CONTAINER = reserved_name("buckets")
OWNER_HEADER = "X-Object-Sysmeta-S3api-Bucket-Account"
# Entries kept at most; past this the cache starts afresh (it only saves reads).
MAX_CACHED = 10000
# Environ keys a registry sub-request keeps from the client's request (for logs).
_INHERITED = ("SERVER_NAME", "SERVER_PORT", "HTTP_HOST", "wsgi.url_scheme",
              "SERVER_PROTOCOL", "REMOTE_ADDR", "swift.trans_id", "wsgi.errors")


class RegistryUnavailable(Exception):
    """The registry could not be read or written (the cluster answered an error)."""


def _internal_request(environ: dict, method: str, wsgi_path: str,
                      headers: Optional[dict[str, str]] = None) -> webob.Request:
    """A sub-request the middleware itself vouches for: no user's rights apply."""
    env = {key: environ[key] for key in _INHERITED if key in environ}
    env.update({"REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": wsgi_path,
                "QUERY_STRING": "", "swift.source": "S3REG", "CONTENT_LENGTH": "0",
                "wsgi.input": io.BytesIO(b""),
                "swift.authorize": lambda _req: None, "swift.authorize_override": True})
    sub = webob.Request(env)
    sub.headers[ALLOW_RESERVED_HEADER] = "true"
    for name, value in (headers or {}).items():
        sub.headers[name] = value
    return sub


class BucketRegistry:
    """Bucket name -> owning account, read and written through the pipeline."""

    def __init__(self, app: Callable, ttl: float, clock: Callable[[], float] = time.monotonic):
        self.app = app
        self.ttl = ttl
        self.clock = clock
        self._cache: dict[str, tuple[float, Optional[str]]] = {}

    # -- plumbing --------------------------------------------------------

    def _call(self, environ: dict, method: str, wsgi_path: str,
              headers: Optional[dict[str, str]] = None) -> webob.Response:
        resp = _internal_request(environ, method, wsgi_path, headers).get_response(self.app)
        close_response(resp)
        return resp

    @staticmethod
    def _row_path(bucket: str) -> str:
        return "/v1/%s/%s/%s" % (REGISTRY_ACCOUNT, REGISTRY_CONTAINER, str_to_wsgi(bucket))

    def _remember(self, bucket: str, account: Optional[str]) -> None:
        if len(self._cache) >= MAX_CACHED:
            self._cache.clear()
        self._cache[bucket] = (self.clock() + self.ttl, account)

    def forget(self, bucket: str) -> None:
        self._cache.pop(bucket, None)

    # -- reading ---------------------------------------------------------

    def read_owner(self, environ: dict, bucket: str, newest: bool = False) -> Optional[str]:
        """The account recorded for ``bucket`` (WSGI text), None if none is."""
        resp = self._call(environ, "HEAD", self._row_path(bucket),
                          {"X-Newest": "true"} if newest else None)
        if resp.status_int == 404:
            return None
        if resp.status_int // 100 != 2:
            raise RegistryUnavailable("registry HEAD answered %d" % resp.status_int)
        return resp.headers.get(OWNER_HEADER) or None

    def owner(self, environ: dict, bucket: str) -> Optional[str]:
        """:meth:`read_owner`, cached for ``ttl`` seconds (absence too)."""
        cached = self._cache.get(bucket)
        if cached is not None and cached[0] > self.clock():
            return cached[1]
        account = self.read_owner(environ, bucket)
        self._remember(bucket, account)
        return account

    def container_exists(self, environ: dict, account: str, bucket: str) -> bool:
        resp = self._call(environ, "HEAD", "/v1/%s/%s" % (account, str_to_wsgi(bucket)))
        if resp.status_int // 100 == 2:
            return True
        if resp.status_int == 404:
            return False
        raise RegistryUnavailable("container HEAD answered %d" % resp.status_int)

    # -- writing ---------------------------------------------------------

    def holder_other_than(self, environ: dict, bucket: str, account: str) -> Optional[str]:
        """The other account whose bucket of this name still exists, if any."""
        holder = self.read_owner(environ, bucket, newest=True)
        if holder is None or holder == account:
            return None
        if self.container_exists(environ, holder, bucket):
            return holder
        return None

    def claim(self, environ: dict, bucket: str, account: str) -> Optional[str]:
        """Record ``account`` as the bucket's owner unless another account's
        bucket of this name exists; returns that other account (nothing written)."""
        holder = self.read_owner(environ, bucket, newest=True)
        if holder == account:
            self._remember(bucket, account)
            return None
        if holder is not None and self.container_exists(environ, holder, bucket):
            return holder
        # A free name is taken only if nobody took it meanwhile; a stale row
        # (its container is gone) is overwritten.
        headers = {OWNER_HEADER: account, "Content-Type": "application/octet-stream"}
        if holder is None:
            headers["If-None-Match"] = "*"
        resp = self._put_row(environ, bucket, headers)
        if resp.status_int == 412:
            return self.holder_other_than(environ, bucket, account)
        if resp.status_int // 100 != 2:
            raise RegistryUnavailable("registry PUT answered %d" % resp.status_int)
        self._remember(bucket, account)
        return None

    def _put_row(self, environ: dict, bucket: str, headers: dict[str, str]) -> webob.Response:
        resp = self._call(environ, "PUT", self._row_path(bucket), headers)
        if resp.status_int == 404:
            # The registry's container is made on first use (its account too,
            # by the proxy's account autocreate).
            made = self._call(environ, "PUT", "/v1/%s/%s" % (REGISTRY_ACCOUNT,
                                                              REGISTRY_CONTAINER))
            if made.status_int // 100 != 2:
                raise RegistryUnavailable("registry container PUT answered %d"
                                          % made.status_int)
            resp = self._call(environ, "PUT", self._row_path(bucket), headers)
        return resp

    def release(self, environ: dict, bucket: str, account: str) -> None:
        """Remove the bucket's row if it names ``account`` (its bucket is gone)."""
        self.forget(bucket)
        if self.read_owner(environ, bucket, newest=True) != account:
            return
        resp = self._call(environ, "DELETE", self._row_path(bucket))
        if resp.status_int // 100 != 2 and resp.status_int != 404:
            raise RegistryUnavailable("registry DELETE answered %d" % resp.status_int)
