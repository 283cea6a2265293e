"""The S3 API (``s3api``): S3 requests translated into Swift requests.

A request is S3 when it carries an AWS signature (``Authorization: AWS4-HMAC-SHA256
...`` or ``AWS key:sig``, or presigned query parameters); it may name its
bucket in the path or in its host (``bucket.<storage_domain>``).  Every other
request passes through untouched, except an unsigned path-style one for a
bucket (:mod:`.anonymous`: reads of public-read buckets).  The signature is checked by the auth filter to our right
(tempauth) through :data:`auth.AUTH_DETAILS_KEY`; the access key is
``account:user`` and the secret that user's key.  Handlers answer with S3
XML, errors with S3 error codes.

Modules: :mod:`.routing` (bucket/key), :mod:`.auth` and :mod:`.signing`
(signatures), :mod:`.body` (checked bodies), :mod:`.buckets`, :mod:`.listing`,
:mod:`.objects`, :mod:`.multipart` and :mod:`.multipart_listing` (the
handlers), :mod:`.versioning`, :mod:`.object_versions` and
:mod:`.versions_listing` (versions), :mod:`.acl` and :mod:`.canned_acl`
(ACLs), :mod:`.bucket_registry` and :mod:`.anonymous` (who owns a bucket name,
unsigned reads), :mod:`.errors` and :mod:`.s3xml`.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, Optional

import webob

from objstore.common.capabilities import Capabilities
from objstore.common.cluster_config import ClusterConfig
from objstore.common.constraints import Constraints
from objstore.common.http_protocol import HEADER_NAMES_AS_WRITTEN
from objstore.common.logs import get_logger
from objstore.common.pipeline import typed_factory
from objstore.middleware.s3api import (acl, anonymous, buckets, listing, multi_delete,
                                       multipart, multipart_listing, objects, versioning,
                                       versions_listing)
from objstore.middleware.s3api.auth import AuthReader, parse_query
from objstore.middleware.s3api.bucket_registry import BucketRegistry
from objstore.middleware.s3api.config import S3ApiConfig
from objstore.middleware.s3api.context import S3Request
from objstore.middleware.s3api.errors import S3Error, error_response
from objstore.middleware.s3api.routing import S3Target, route, virtual_host_bucket

# Headers that make an unsigned request Swift's (a token), never an anonymous S3 one.
_CREDENTIAL_HEADERS = ("HTTP_AUTHORIZATION", "HTTP_X_AUTH_TOKEN", "HTTP_X_STORAGE_TOKEN")
# First path segments the Swift side answers (besides the API versions): an
# unsigned request there is never a path-style bucket's.
_SWIFT_ROOTS = ("auth", "info", "healthcheck")
# A refused request's body is read first up to this size (see discard_small_body).
MAX_DISCARDED_BODY = 1024 * 1024
# Bucket sub-resources answered here; any other one is refused, never ignored.
_UNSUPPORTED = ("cors", "lifecycle", "policy", "tagging", "website", "logging",
                "notification", "replication", "encryption", "requestPayment",
                "object-lock", "retention", "legal-hold", "accelerate", "analytics", "inventory", "metrics",
                "ownershipControls", "publicAccessBlock", "intelligent-tiering", "torrent",
                "restore", "select", "attributes")


class S3ApiMiddleware:
    """WSGI filter; see the module docstring."""

    def __init__(self, app: Callable, conf: S3ApiConfig, logger: Any = None,
                 constraints: Optional[Constraints] = None,
                 capabilities: Optional[Capabilities] = None):
        self.app = app
        self.conf = conf
        self.max_key_length = (constraints or Constraints()).max_object_name_length
        # /info of this pipeline: which Swift features S3 calls can build on.
        self.capabilities = capabilities
        self.logger = logger or get_logger(conf.log_name)
        self.auth_reader = AuthReader(conf.location)
        self.registry = BucketRegistry(app, conf.bucket_owner_cache_seconds)
        self.swift_roots = frozenset(
            _SWIFT_ROOTS + tuple(version.lower() for version in
                                 (constraints or Constraints()).valid_api_versions))

    @staticmethod
    def is_s3(environ: dict) -> bool:
        """Signed the AWS way.  Unsigned requests stay Swift's, even on a
        ``name.<storage_domain>`` host: domain_remap's sites live there too."""
        authorization = environ.get("HTTP_AUTHORIZATION", "")
        if authorization.startswith(("AWS4-HMAC-SHA256 ", "AWS ")):
            return True
        query = environ.get("QUERY_STRING", "")
        return "X-Amz-Algorithm=" in query or "AWSAccessKeyId=" in query

    def anonymous_target(self, environ: dict) -> Optional[S3Target]:
        """The bucket an unsigned path-style request names, if it is S3's.

        Only a path whose first segment could be a bucket and is none of the
        roots the Swift side serves (``/v1``, ``/auth``, ``/info``...), asked
        without any credentials; virtual-hosted names stay domain_remap's."""
        if any(environ.get(name) for name in _CREDENTIAL_HEADERS):
            return None
        if virtual_host_bucket(environ.get("HTTP_HOST") or "",
                               self.conf.storage_domain) is not None:
            return None
        target = route(environ, self.conf.storage_domain)
        if target.bucket is None or target.bucket.lower() in self.swift_roots or \
                not buckets.is_lenient_bucket_name(target.bucket):
            return None
        return target

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if self.is_s3(environ):
            target = route(environ, self.conf.storage_domain)
        else:
            unsigned_target = self.anonymous_target(environ)
            if unsigned_target is None:
                return self.app(environ, start_response)
            target = unsigned_target
        # S3 clients read "ETag" and lower-case x-amz-meta-* names as S3 sends them.
        environ[HEADER_NAMES_AS_WRITTEN] = True
        request_id = environ.get("swift.trans_id") or "s3api"
        try:
            query_pairs = parse_query(environ.get("QUERY_STRING", ""))
            details = self.auth_reader.read(environ, query_pairs, target.v2_resource)
            query = {name.decode("utf-8", "replace"): value.decode("utf-8", "replace")
                     for name, value in query_pairs}
            if details is None:
                resp = anonymous.serve(environ, self.app, self.conf, self.registry, target,
                                       query, request_id, self.dispatch)
            else:
                req = S3Request(self.app, environ, self.conf, details, target.bucket,
                                target.key, query, request_id, registry=self.registry)
                resp = self.dispatch(req)
        except S3Error as error:
            discard_small_body(environ)
            resp = error_response(error, request_id,
                                  with_body=environ["REQUEST_METHOD"] != "HEAD")
        resp.headers["x-amz-request-id"] = request_id
        resp.headers["x-amz-id-2"] = request_id
        return resp(environ, start_response)

    def dispatch(self, req: S3Request) -> webob.Response:
        method = req.method
        if req.bucket is None:
            if method == "GET":
                return buckets.list_buckets(req)
            raise S3Error("MethodNotAllowed", Method=method, ResourceType="SERVICE")
        buckets.check_bucket_name_lenient(req.bucket)
        if "object-lock" in req.query and req.key is None:
            return buckets.object_lock(req)
        unsupported = [name for name in _UNSUPPORTED if name in req.query]
        if unsupported:
            raise S3Error("NotImplemented", "The %s sub-resource is not supported"
                          % unsupported[0])
        if "acl" in req.query:
            if method == "GET":
                return acl.get_acl(req)
            if method == "PUT" and req.key is None:
                return acl.put_bucket_acl(req)
            if method == "PUT":
                raise S3Error("NotImplemented", "Objects have their bucket's ACL")
            raise S3Error("MethodNotAllowed", Method=method, ResourceType="ACL")
        if req.key is None:
            return self._bucket(req)
        if len(req.key.encode("utf-8")) > self.max_key_length:
            raise S3Error("KeyTooLongError", MaxSizeAllowed=str(self.max_key_length),
                          Size=str(len(req.key.encode("utf-8"))))
        if "uploadId" in req.query or "uploads" in req.query or \
                (method == "PUT" and "partNumber" in req.query):
            return self._multipart(req)
        handler = {"PUT": objects.put_object, "GET": objects.get_or_head_object,
                   "HEAD": objects.get_or_head_object,
                   "DELETE": objects.delete_object}.get(method)
        if handler is None:
            raise S3Error("MethodNotAllowed", Method=method, ResourceType="OBJECT")
        return handler(req)

    @staticmethod
    def _multipart(req: S3Request) -> webob.Response:
        method = req.method
        if "uploads" in req.query:
            if method == "POST":
                return multipart.initiate(req)
            raise S3Error("MethodNotAllowed", Method=method, ResourceType="OBJECT")
        handler = {"PUT": multipart.upload_part, "GET": multipart_listing.list_parts,
                   "POST": multipart.complete, "DELETE": multipart.abort}.get(method)
        if handler is None:
            raise S3Error("MethodNotAllowed", Method=method, ResourceType="OBJECT")
        return handler(req)

    @property
    def versioning_installed(self) -> bool:
        return self.capabilities is not None and \
            "object_versioning" in self.capabilities.as_info()

    def _bucket(self, req: S3Request) -> webob.Response:
        method = req.method
        if "uploads" in req.query and method == "GET":
            return multipart_listing.list_uploads(req)
        if method == "DELETE":
            resp = buckets.delete_bucket(req)
            multipart.discard_all_uploads(req)
            return resp
        if "location" in req.query and method == "GET":
            return buckets.get_location(req)
        if "versioning" in req.query:
            if method == "GET":
                return versioning.get_versioning(req)
            if method == "PUT":
                return versioning.put_versioning(req, self.versioning_installed)
            raise S3Error("MethodNotAllowed", Method=method, ResourceType="BUCKET")
        if "versions" in req.query and method == "GET":
            return versions_listing.list_versions(req)
        if "delete" in req.query and method == "POST":
            return multi_delete.delete_objects(req)
        handler = {"PUT": buckets.create_bucket, "HEAD": buckets.head_bucket,
                   "DELETE": buckets.delete_bucket, "GET": listing.list_objects}.get(method)
        if handler is None:
            raise S3Error("MethodNotAllowed", Method=method, ResourceType="BUCKET")
        return handler(req)


def discard_small_body(environ: dict) -> None:
    """Read what is left of a small request body before refusing the request.

    SDKs send ``Expect: 100-continue`` and, when no answer comes within a
    second, the body anyway.  A refusal sent before the body was asked for
    races with it: on a busy server the body can arrive after the connection
    closed, and the reset it meets destroys the refusal the client has not
    read yet.  Asking for a small body first keeps the exchange in order;
    a large one is left to the protocol, which closes the connection.
    """
    length = environ.get("CONTENT_LENGTH") or ""
    if environ.get("REQUEST_METHOD") not in ("PUT", "POST") or not length.isdigit() or \
            int(length) > MAX_DISCARDED_BODY:
        return
    body = environ.get("wsgi.input")
    try:
        while body is not None and body.read(65536):
            pass
    except (OSError, ValueError):
        pass  # the body itself was refused (a framing error): nothing more to read


@typed_factory(S3ApiConfig)
def filter_factory(cluster: ClusterConfig, conf: S3ApiConfig,
                   raw: Mapping[str, Any]) -> Callable[[Callable], S3ApiMiddleware]:
    cluster.capabilities.register(
        "s3api", location=conf.location, max_bucket_listing=conf.max_bucket_listing,
        max_multi_delete_objects=conf.max_multi_delete_objects,
        signature_versions=["2", "4"], allow_multipart_uploads=True,
        max_parts_listing=multipart_listing.MAX_LISTED, s3_acl=False,
        min_segment_size=conf.min_segment_size, max_upload_part_num=conf.max_upload_part_num)
    logger = get_logger(conf.log_name, raw)

    def make_filter(app: Callable) -> S3ApiMiddleware:
        return S3ApiMiddleware(app, conf, logger, cluster.constraints, cluster.capabilities)
    return make_filter
