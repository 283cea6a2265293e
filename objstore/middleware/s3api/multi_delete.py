"""Multi-object delete (``POST /bucket?delete``): up to 1000 keys in one request.

The body must carry Content-MD5 or an x-amz-checksum-* header (AWS requires
one, so a body changed on the way is refused rather than deleting the wrong
keys); both are checked.  Each key is a Swift DELETE; a key that did not
exist is reported deleted, as S3 does.  ``<Quiet>true</Quiet>`` lists only
the failures.
"""
from __future__ import annotations

import base64
import hashlib
from typing import Optional

import webob

from objstore.middleware.s3api.buckets import parse_body_xml, read_small_body
from objstore.middleware.s3api.checksums import request_checksum
from objstore.middleware.s3api.context import S3Request
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.listing import xml_response
from objstore.middleware.s3api.object_versions import (S3_DELETE_MARKER, S3_VERSION_ID,
                                                       check_version_id)
from objstore.middleware.s3api.objects import delete_version
from objstore.middleware.s3api.s3xml import child_text, to_xml

MAX_DELETE_BODY = 2 * 1024 * 1024


def _check_integrity(req: S3Request, body: bytes) -> None:
    md5 = req.headers.get("Content-MD5")
    checksum = request_checksum(req.headers)
    if md5 is None and checksum is None:
        raise S3Error("InvalidRequest", "Missing required header for this request: "
                      "Content-MD5 or x-amz-checksum-*")
    if md5 is not None and md5 != base64.b64encode(hashlib.md5(body).digest()).decode():
        raise S3Error("BadDigest")
    if checksum is not None and not checksum.matches(body):
        raise S3Error("BadDigest", "The %s you specified did not match the calculated "
                      "checksum." % checksum.header)


def delete_objects(req: S3Request) -> webob.Response:
    body = read_small_body(req, MAX_DELETE_BODY)
    _check_integrity(req, body)
    root = parse_body_xml(body, "Delete")
    quiet = (child_text(root, "Quiet") or "").strip().lower() == "true"
    keys = []
    for element in root.findall("Object"):
        key = child_text(element, "Key")
        if key is None:
            raise S3Error("MalformedXML")
        if not key:
            raise S3Error("UserKeyMustBeSpecified")
        version = child_text(element, "VersionId")
        keys.append((key, version))
    if not keys or len(keys) > req.conf.max_multi_delete_objects:
        raise S3Error("MalformedXML", "A delete names 1 to %d objects"
                      % req.conf.max_multi_delete_objects)
    if not req.bucket_exists():
        raise S3Error("NoSuchBucket", BucketName=req.bucket or "")
    results: list[tuple[str, object]] = []
    for key, version in keys:
        named: list[tuple[str, object]] = [("Key", key)]
        if version is not None:
            named.append(("VersionId", version))
        try:
            if version is not None:
                check_version_id(version)
            answer = delete_version(req, key, version)
        except S3Error as error:
            results.append(("Error", named + [("Code", error.code),
                                              ("Message", error.message)]))
            continue
        if not quiet:
            results.append(("Deleted", named + _marker_fields(answer, version)))
    return xml_response(to_xml("DeleteResult", results))


def _marker_fields(answer: dict[str, str], version: Optional[str]) -> list[tuple[str, object]]:
    """A delete marker written (no version named) or removed (its version named)."""
    if answer.get(S3_DELETE_MARKER) != "true":
        return []
    fields: list[tuple[str, object]] = [("DeleteMarker", True)]
    if version is None:
        fields.append(("DeleteMarkerVersionId", answer[S3_VERSION_ID]))
    return fields
