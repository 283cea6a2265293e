"""The canned ACL header (``x-amz-acl``): which Swift read ACL it stands for.

Only what a container read ACL can say is accepted: ``public-read`` is
``.r:*,.rlistings``; ``private`` (and the ``bucket-owner-*`` ACLs, the
bucket's owner being every object's writer) is no read ACL.  Objects have
their bucket's ACL, so an object may only be given an owner-only one.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Optional

from objstore.middleware.s3api.context import S3Request
from objstore.middleware.s3api.errors import S3Error

CANNED_HEADER = "x-amz-acl"
PUBLIC_READ_ACL = ".r:*,.rlistings"
# canned ACL -> the bucket's read ACL ("" none).  The bucket-owner-* ACLs
# give the bucket's owner the object, who here is always its writer.
_CANNED = MappingProxyType({"private": "", "bucket-owner-full-control": "",
                            "bucket-owner-read": "", "public-read": PUBLIC_READ_ACL})
_NOT_SUPPORTED = ("public-read-write", "authenticated-read", "aws-exec-read",
                  "log-delivery-write")


def canned_read_acl(req: S3Request) -> Optional[str]:
    """The read ACL the request's ``x-amz-acl`` asks for (None: no header)."""
    canned = req.headers.get(CANNED_HEADER)
    if canned is None:
        return None
    if canned in _NOT_SUPPORTED:
        raise S3Error("NotImplemented", "The canned ACL %s is not supported" % canned,
                      Header=CANNED_HEADER)
    if canned not in _CANNED:
        raise S3Error("InvalidArgument", ArgumentName=CANNED_HEADER, ArgumentValue=canned)
    return _CANNED[canned]


def check_object_acl(req: S3Request) -> None:
    """An object has its bucket's ACL: only the owner-only canned ACLs are true of it."""
    if canned_read_acl(req):
        raise S3Error("NotImplemented", "Objects have their bucket's ACL; make the bucket "
                      "public-read instead", Header=CANNED_HEADER)
