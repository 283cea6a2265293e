"""S3 bucket versioning on top of Swift's object versioning (``object_versioning``).

A bucket's versioning state is its container's ``X-Versions-Enabled`` flag:
``Enabled`` is true, ``Suspended`` false, and a bucket that never had it set
answers the empty configuration.  What versioning does to objects is in
:mod:`.object_versions`.
"""
from __future__ import annotations


import webob

from objstore.common.config import to_bool
from objstore.middleware import object_versioning_names as names
from objstore.middleware.s3api.buckets import parse_body_xml, read_small_body
from objstore.middleware.s3api.context import S3Request
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.listing import xml_response
from objstore.middleware.s3api.s3xml import child_text, to_xml

MAX_VERSIONING_BODY = 10 * 1024


def _bucket_head(req: S3Request) -> webob.Response:
    resp = req.swift("HEAD", req.bucket)
    if resp.status_int // 100 != 2:
        raise req.fail_for(resp, "NoSuchBucket")
    return resp


def get_versioning(req: S3Request) -> webob.Response:
    """GetBucketVersioning: no Status until versioning was first set."""
    flag = _bucket_head(req).headers.get(names.CLIENT_VERSIONS_ENABLED)
    fields: list[tuple[str, object]] = []
    if flag is not None:
        fields.append(("Status", "Enabled" if _true(flag) else "Suspended"))
    return xml_response(to_xml("VersioningConfiguration", fields))


def _true(flag: str) -> bool:
    try:
        return to_bool(flag)
    except ValueError:
        return False


def put_versioning(req: S3Request, installed: bool) -> webob.Response:
    """PutBucketVersioning: ``Enabled`` or ``Suspended``, anything else MalformedXML.

    ``installed`` says whether object_versioning is in the pipeline: without
    it the flag would be stored and never acted on.
    """
    if not installed:
        raise S3Error("NotImplemented", "Object versioning is not enabled in this cluster")
    config = parse_body_xml(read_small_body(req, MAX_VERSIONING_BODY),
                            "VersioningConfiguration")
    status = child_text(config, "Status")
    if status not in ("Enabled", "Suspended"):
        raise S3Error("MalformedXML")
    mfa_delete = child_text(config, "MfaDelete")
    if mfa_delete == "Enabled":
        raise S3Error("NotImplemented", "MFA Delete is not supported")
    if mfa_delete not in (None, "Disabled"):
        raise S3Error("MalformedXML")
    resp = req.swift("POST", req.bucket, headers={
        names.CLIENT_VERSIONS_ENABLED: "true" if status == "Enabled" else "false"})
    if resp.status_int // 100 != 2:
        raise req.fail_for(resp, "NoSuchBucket")
    return webob.Response(status=200, content_type=None)
