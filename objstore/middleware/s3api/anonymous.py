"""Unsigned S3 requests: what a reader without credentials may do with a bucket.

``GET http://host/bucket/key`` with no signature names no account; the
bucket registry (:mod:`.bucket_registry`) says whose bucket it is, and the
request then goes on as an anonymous Swift request of that account, so the
bucket's container ACL decides, exactly as for ``/v1/<account>/...``: a
``public-read`` bucket (``.r:*,.rlistings``) serves GET and HEAD of its
objects and its listings; anything else is AccessDenied.  A name no bucket
has is NoSuchBucket, as AWS answers a reader of a bucket that does not exist.

Only reads are served this way: writes, and every sub-resource only an
owner may read (ACL, location, versioning, uploads...), are AccessDenied
without asking the cluster anything beyond the registry.
"""
from __future__ import annotations

from typing import Callable, Mapping

import webob

from objstore.middleware.s3api.auth import V2_SUBRESOURCES
from objstore.middleware.s3api.bucket_registry import BucketRegistry, RegistryUnavailable
from objstore.middleware.s3api.config import S3ApiConfig
from objstore.middleware.s3api.context import S3Request
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.routing import S3Target

# Sub-resources a reader of a public-read bucket may name (AllUsers READ).
_READER_SUBRESOURCES = frozenset(("versions", "versionId", "partNumber"))
_READ_METHODS = ("GET", "HEAD")


def _owner_only(query: Mapping[str, str]) -> bool:
    return any(name in V2_SUBRESOURCES and name not in _READER_SUBRESOURCES
               and not name.startswith("response-") for name in query)


def serve(environ: dict, app: Callable, conf: S3ApiConfig, registry: BucketRegistry,
          target: S3Target, query: dict[str, str], request_id: str,
          dispatch: Callable[[S3Request], webob.Response]) -> webob.Response:
    """Answer an unsigned request for ``target`` (its bucket is not None)."""
    bucket = target.bucket or ""
    try:
        account = registry.owner(environ, bucket)
    except RegistryUnavailable:
        raise S3Error("ServiceUnavailable") from None
    if account is None:
        raise S3Error("NoSuchBucket", BucketName=bucket)
    try:
        if environ["REQUEST_METHOD"] not in _READ_METHODS or _owner_only(query):
            raise S3Error("AccessDenied")
        if environ["REQUEST_METHOD"] == "GET" and \
                any(name.startswith("response-") for name in query):
            raise S3Error("InvalidRequest", "Request specific response headers cannot be "
                          "used for anonymous GET requests.")
        req = S3Request(app, environ, conf, None, target.bucket, target.key, query,
                        request_id, anonymous_account=account)
        return dispatch(req)
    except S3Error as error:
        if error.code != "AccessDenied":
            raise
        # The registry may name a bucket deleted since (through Swift, or on
        # another proxy within the cache's lifetime): that is no bucket at all.
        try:
            exists = registry.container_exists(environ, account, bucket)
        except RegistryUnavailable:
            raise error from None
        if not exists:
            registry.forget(bucket)
            raise S3Error("NoSuchBucket", BucketName=bucket) from None
        raise
