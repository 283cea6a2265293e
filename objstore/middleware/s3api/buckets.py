"""Bucket operations: create, head, delete, list all buckets, location.

A bucket is a Swift container of the user's account.  Only containers with
valid bucket names are listed as buckets: the hidden ``<bucket>+segments``
containers (multipart parts) and Swift-only names never show.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Optional

import webob

from objstore.middleware.s3api.bucket_registry import RegistryUnavailable
from objstore.middleware.s3api.canned_acl import canned_read_acl
from objstore.middleware.s3api.context import S3Request
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.listing import s3_timestamp, xml_response
from objstore.middleware.s3api.objects import refuse_unsupported_headers
from objstore.middleware.s3api.s3xml import XmlRefused, child_text, parse_xml, to_xml

_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]\Z")
_LEGACY_BUCKET_NAME = re.compile(r"[A-Za-z0-9._\-]{3,255}\Z")
MAX_CONFIG_BODY = 64 * 1024


def is_bucket_name(name: str) -> bool:
    """DNS-compatible names only: they must work as virtual-hosted host names too."""
    if not _BUCKET_NAME.match(name) or ".." in name or ".-" in name or "-." in name:
        return False
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return True
    return False


def check_bucket_name(name: str) -> None:
    if not is_bucket_name(name):
        raise S3Error("InvalidBucketName", BucketName=name)


def read_small_body(req: S3Request, limit: int = MAX_CONFIG_BODY) -> bytes:
    """A configuration body (XML): small, and checked if the request signed its hash."""
    length = req.request.content_length
    if length is not None and length > limit:
        raise S3Error("MalformedXML", "The XML body is too large")
    body = req.request.environ["wsgi.input"].read(limit + 1) if length else b""
    if len(body) > limit:
        raise S3Error("MalformedXML", "The XML body is too large")
    return body


def parse_body_xml(body: bytes, root: str):
    try:
        element = parse_xml(body)
    except XmlRefused:
        raise S3Error("MalformedXML") from None
    if element.tag != root:
        raise S3Error("MalformedXML")
    return element


def list_buckets(req: S3Request) -> webob.Response:
    buckets: list[tuple[str, object]] = []
    for entry in req.listed():
        # Only containers an S3 client could name: Swift allows names that
        # are no bucket (and control characters no XML document may hold).
        # The hidden "+segments" containers fail this test too.
        if is_bucket_name(entry["name"]):
            buckets.append(("Bucket", [("Name", entry["name"]), ("CreationDate", s3_timestamp(
                entry.get("last_modified") or "1970-01-01T00:00:00.000000"))]))
    return xml_response(to_xml("ListAllMyBucketsResult",
                               [("Owner", req.owner), ("Buckets", buckets)]))


def create_bucket(req: S3Request) -> webob.Response:
    check_bucket_name(req.bucket or "")
    body = read_small_body(req)
    if body.strip():
        config = parse_body_xml(body, "CreateBucketConfiguration")
        location = child_text(config, "LocationConstraint")
        if location and location != req.conf.location:
            raise S3Error("InvalidLocationConstraint",
                          "The specified location-constraint is not valid",
                          LocationConstraint=location)
    refuse_unsupported_headers(req)
    read_acl = canned_read_acl(req)
    # (this first sub-request also checks the signature: the account is then known)
    if req.bucket_exists():
        register_bucket(req)  # a bucket made before the registry, or through Swift
        raise S3Error("BucketAlreadyOwnedByYou", BucketName=req.bucket or "")
    if register_bucket(req) is not None:
        raise S3Error("BucketAlreadyExists", BucketName=req.bucket or "")
    resp = req.swift("PUT", req.bucket)
    if resp.status_int == 202:
        raise S3Error("BucketAlreadyOwnedByYou", BucketName=req.bucket or "")
    if resp.status_int // 100 != 2:
        unregister_bucket(req)
        raise req.fail_for(resp, "NoSuchBucket")
    if read_acl:
        # (set once the bucket is new: re-creating it must not change its ACL)
        made = req.swift("POST", req.bucket, headers={"X-Container-Read": read_acl})
        if made.status_int // 100 != 2:
            raise req.fail_for(made, "NoSuchBucket")
    out = webob.Response(status=200)
    out.headers["Location"] = "/" + (req.bucket or "")
    return out


def register_bucket(req: S3Request) -> Optional[str]:
    """Record the signer's account as the bucket's in the registry, unless
    another account's bucket of that name exists: that account is returned."""
    if req.registry is None or req.details is None or req.details.account is None:
        return None
    try:
        return req.registry.claim(req.environ, req.bucket or "", req.details.account)
    except RegistryUnavailable:
        raise S3Error("ServiceUnavailable") from None


def unregister_bucket(req: S3Request) -> None:
    """Drop the bucket's registry row if it is the signer's (its bucket is gone)."""
    if req.registry is None or req.details is None or req.details.account is None:
        return
    try:
        req.registry.release(req.environ, req.bucket or "", req.details.account)
    except RegistryUnavailable:
        pass  # a row left behind leads to no bucket, and the name is taken over


def head_bucket(req: S3Request) -> webob.Response:
    if not req.bucket_exists():
        raise S3Error("NoSuchBucket", BucketName=req.bucket or "")
    out = webob.Response(status=200)
    out.headers["x-amz-bucket-region"] = req.conf.location
    return out


def is_lenient_bucket_name(name: str) -> bool:
    """Names S3 allowed before its DNS rules (upper case, ``_``): a bucket made
    then, or a container made through Swift, stays reachable.  Anything else
    (``+`` of the hidden segments containers, spaces, ``%``) never names a
    bucket, whatever the request."""
    return bool(_LEGACY_BUCKET_NAME.match(name))


def check_bucket_name_lenient(name: str) -> None:
    if not is_lenient_bucket_name(name):
        raise S3Error("InvalidBucketName", BucketName=name)


def delete_bucket(req: S3Request) -> webob.Response:
    resp = req.swift("DELETE", req.bucket)
    if resp.status_int == 409:
        raise S3Error("BucketNotEmpty", BucketName=req.bucket or "")
    if resp.status_int // 100 != 2:
        raise req.fail_for(resp, "NoSuchBucket")
    unregister_bucket(req)
    return webob.Response(status=204)


def get_location(req: S3Request) -> webob.Response:
    if not req.bucket_exists():
        raise S3Error("NoSuchBucket", BucketName=req.bucket or "")
    # us-east-1 is written as an empty constraint, as AWS answers it.
    location = "" if req.conf.location == "us-east-1" else req.conf.location
    return xml_response(to_xml("LocationConstraint", [], text=location))


def object_lock(req: S3Request) -> webob.Response:
    """No bucket has Object Lock: reading its configuration finds none, and
    setting one is refused (it would promise retention nothing enforces)."""
    if req.method != "GET":
        raise S3Error("NotImplemented", "The requested resource is not implemented")
    if not req.bucket_exists():
        raise S3Error("NoSuchBucket", BucketName=req.bucket or "")
    raise S3Error("ObjectLockConfigurationNotFoundError", BucketName=req.bucket or "")
