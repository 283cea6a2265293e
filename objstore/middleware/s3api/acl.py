"""Canned ACLs: ``private`` and ``public-read`` as the bucket's Swift read ACL.

Swift has no per-object ACLs and no grants to other S3 users, so the S3
ACL of a bucket is what its container's ``X-Container-Read`` allows:
``public-read`` is ``.r:*,.rlistings`` (anyone may read and list),
``private`` no read ACL at all.  The owner (the user whose account holds
the bucket) always has full control.  An object's ACL is its bucket's.

Anything this cannot express is refused, never stored and ignored:
``public-read-write``, ``authenticated-read`` and friends are
NotImplemented, an unknown canned ACL is InvalidArgument, an XML policy
granting anything but the owner's FULL_CONTROL and AllUsers READ is
MalformedACLError, and so is a policy that does not parse.
"""
from __future__ import annotations


import webob

from objstore.middleware.acl import parse_acl, referrer_allowed
from objstore.middleware.s3api import object_versions
from objstore.middleware.s3api.buckets import read_small_body, register_bucket
from objstore.middleware.s3api.canned_acl import (CANNED_HEADER, PUBLIC_READ_ACL,
                                                  canned_read_acl)
from objstore.middleware.s3api.context import S3Request
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.listing import xml_response
from objstore.middleware.s3api.objects import refuse_unsupported_headers
from objstore.middleware.s3api.s3xml import XmlRefused, child_text, parse_xml, to_xml

READ_ACL = "X-Container-Read"
WRITE_ACL = "X-Container-Write"
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
MAX_ACL_BODY = 200 * 1024


def _policy_read_acl(body: bytes, owner: str) -> str:
    """The read ACL an ``<AccessControlPolicy>`` body asks for."""
    try:
        root = parse_xml(body)
    except XmlRefused:
        raise S3Error("MalformedACLError") from None
    grants = root.findall("AccessControlList/Grant")
    if root.tag != "AccessControlPolicy" or not grants:
        raise S3Error("MalformedACLError")
    public = False
    for grant in grants:
        grantee = grant.find("Grantee")
        permission = child_text(grant, "Permission")
        kind = None if grantee is None else grantee.get("{%s}type" % XSI)
        if kind == "CanonicalUser" and permission == "FULL_CONTROL" and \
                child_text(grantee, "ID") == owner:
            continue
        if kind == "Group" and permission == "READ" and \
                (child_text(grantee, "URI") or "").strip() == ALL_USERS:
            public = True
            continue
        raise S3Error("MalformedACLError", "Only the owner's FULL_CONTROL and AllUsers READ "
                      "can be granted")
    return PUBLIC_READ_ACL if public else ""


def put_bucket_acl(req: S3Request) -> webob.Response:
    """PutBucketAcl: a canned ACL header or an XML policy, never both."""
    refuse_unsupported_headers(req)  # (grants to others: x-amz-grant-*)
    body = read_small_body(req, MAX_ACL_BODY)
    canned = canned_read_acl(req)
    if canned is not None and body.strip():
        raise S3Error("UnexpectedContent")
    if canned is None and not body.strip():
        raise S3Error("MissingSecurityHeader", MissingHeaderName=CANNED_HEADER)
    read_acl = canned if canned is not None else _policy_read_acl(body, req.details.access_key)
    resp = req.swift("POST", req.bucket, headers={READ_ACL: read_acl})
    if resp.status_int // 100 != 2:
        raise req.fail_for(resp, "NoSuchBucket")
    # A bucket made before the registry becomes reachable without credentials.
    register_bucket(req)
    return webob.Response(status=200, content_type=None)


def get_acl(req: S3Request) -> webob.Response:
    """GetBucketAcl / GetObjectAcl: the owner's FULL_CONTROL, and AllUsers READ
    (and WRITE) when the bucket's Swift ACLs let anyone read (write)."""
    if req.key is not None:
        version = object_versions.requested_version(req)
        resp = req.swift("HEAD", req.bucket, req.key, query=object_versions.version_query(version))
        if resp.status_int // 100 != 2:
            if resp.status_int == 404:
                raise object_versions.read_error(req, version, resp)
            raise req.fail_for(resp)
    bucket = req.swift("HEAD", req.bucket)
    if bucket.status_int // 100 != 2:
        raise req.fail_for(bucket, "NoSuchBucket")
    owner = req.details.access_key
    grants: list[tuple[str, object]] = [("Grant", [
        ("Grantee", [("ID", owner), ("DisplayName", owner)]),
        ("Permission", "FULL_CONTROL")])]
    for header, permission in ((READ_ACL, "READ"), (WRITE_ACL, "WRITE")):
        referrers, _groups = parse_acl(bucket.headers.get(header))
        if referrer_allowed("unknown", referrers):
            grants.append(("Grant", [("Grantee", [("URI", ALL_USERS)]),
                                     ("Permission", permission)]))
    body = to_xml("AccessControlPolicy", [("Owner", req.owner),
                                          ("AccessControlList", grants)])
    # The grantee's type is an xsi attribute, which the field lists cannot say.
    body = body.replace(b"<Grantee><ID>", b'<Grantee xmlns:xsi="%s" xsi:type="CanonicalUser">'
                        b"<ID>" % XSI.encode())
    body = body.replace(b"<Grantee><URI>", b'<Grantee xmlns:xsi="%s" xsi:type="Group">'
                        b"<URI>" % XSI.encode())
    return xml_response(body)
