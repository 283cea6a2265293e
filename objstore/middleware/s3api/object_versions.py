"""What versioning does to S3 object requests (Swift's ``object_versioning`` below).

A version id is the Swift version id (the version's timestamp), ``null``
the object written while versioning was off.  With versioning enabled a PUT
answers its new version's id and a DELETE writes a delete marker; with
versioning suspended writes replace the ``null`` version (and a DELETE
removes it without a marker, as OpenStack Swift's s3api does too).

The object handlers call these pieces: the version a request names, the
headers that tell a client which version it got, the errors for a missing
version or a delete marker, and the version made current again after the
current one was deleted for good.
"""
from __future__ import annotations

import json
from typing import Optional
from urllib.parse import parse_qsl, quote, urlencode

import webob

from objstore.middleware import object_versioning_names as names
from objstore.middleware.s3api.context import S3Request
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.versioned_writes import DELETE_MARKER_CONTENT_TYPE

VERSION_QUERY = "versionId"
NULL = names.NULL_VERSION
S3_VERSION_ID = "x-amz-version-id"
S3_DELETE_MARKER = "x-amz-delete-marker"
# What a version is (version_state).
OBJECT = "object"
DELETE_MARKER = "delete-marker"


def requested_version(req: S3Request) -> Optional[str]:
    """The ``versionId`` a request names (None: the current version).

    A malformed id is InvalidArgument; a real id in a bucket that was never
    versioned names nothing (NoSuchVersion for reads; a DELETE of it
    succeeds, as deleting what is not there does).
    """
    version = req.query.get(VERSION_QUERY)
    if version is not None:
        check_version_id(version)
    return version


def check_version_id(version: str) -> None:
    """``null`` or a Swift version id, else InvalidArgument."""
    if version == NULL:
        return
    try:
        names.parse_version_id(version)
    except ValueError:
        raise S3Error("InvalidArgument", "Invalid version id specified",
                      ArgumentName=VERSION_QUERY, ArgumentValue=version) from None


def requested_marker(req: S3Request) -> Optional[str]:
    """ListObjectVersions' ``version-id-marker`` (it needs a ``key-marker``)."""
    marker = req.query.get("version-id-marker")
    if not marker:
        return None
    if not req.query.get("key-marker"):
        raise S3Error("InvalidArgument", "A version-id marker cannot be specified without "
                      "a key marker.", ArgumentName="version-id-marker",
                      ArgumentValue=marker)
    check_version_id(marker)
    return marker


def copy_source_version(query: str) -> Optional[str]:
    """The version an x-amz-copy-source's query names (None: the current object)."""
    if not query:
        return None
    pairs = parse_qsl(query, keep_blank_values=True)
    if len(pairs) != 1 or pairs[0][0] != VERSION_QUERY:
        raise S3Error("InvalidArgument", "Unsupported copy source parameter.",
                      ArgumentName="x-amz-copy-source", ArgumentValue=query)
    version = pairs[0][1]
    check_version_id(version)
    # (null is the object under its name, which a plain copy reads)
    return None if version == NULL else version


def copy_source_missing(resp: webob.Response, key: str, version: str) -> S3Error:
    """The error for a copy whose source version answered 404."""
    if (resp.headers.get("Content-Type") or "") == DELETE_MARKER_CONTENT_TYPE:
        return S3Error("InvalidRequest", "The source of a copy request may not "
                       "specifically refer to a delete marker by version id.")
    return S3Error("NoSuchVersion", Key=key, VersionId=version)


def never_versioned(req: S3Request) -> bool:
    """No version other than ``null`` can exist in the bucket."""
    resp = req.swift("HEAD", req.bucket)
    if resp.status_int // 100 != 2:
        raise req.fail_for(resp, "NoSuchBucket")
    return not resp.headers.get(names.SYSMETA_VERSIONS_CONTAINER)


def version_query(version: Optional[str], *more: str) -> str:
    """The Swift query for ``version`` (and the other ``name=value`` parts)."""
    parts = [part for part in more if part]
    if version is not None:
        parts.append(urlencode({names.VERSION_QUERY: version}))
    return "&".join(parts)


def add_version_headers(swift_resp: webob.Response, out: webob.Response) -> None:
    """Tell the client which version it got (when the bucket has versions)."""
    version = swift_resp.headers.get(names.VERSION_ID)
    if version:
        out.headers[S3_VERSION_ID] = version


def no_such_version(req: S3Request, version: str) -> S3Error:
    return S3Error("NoSuchVersion", Key=req.key or "", VersionId=version)


def read_error(req: S3Request, version: Optional[str], resp: webob.Response) -> S3Error:
    """The error for a GET/HEAD answered 404.

    A version that is a delete marker cannot be read (405, as S3 answers);
    a name whose newest version is a delete marker is NoSuchKey, and says so
    with ``x-amz-delete-marker`` and the marker's version id.
    """
    if version is not None and version != NULL:
        if (resp.headers.get("Content-Type") or "") == DELETE_MARKER_CONTENT_TYPE:
            error = S3Error("MethodNotAllowed", Method=req.method, ResourceType="DeleteMarker")
            error.headers.update({S3_DELETE_MARKER: "true", S3_VERSION_ID: version,
                                  "Allow": "DELETE"})
            return error
        return no_such_version(req, version)
    if version is not None:
        return req.fail_for(resp)
    bucket = req.swift("HEAD", req.bucket)
    if bucket.status_int // 100 != 2:
        return req.fail_for(bucket, "NoSuchBucket")
    error = S3Error("NoSuchKey", Key=req.key or "")
    if bucket.headers.get(names.SYSMETA_VERSIONS_CONTAINER):
        marker = latest_delete_marker(req, req.key or "")
        if marker is not None:
            error.headers.update({S3_DELETE_MARKER: "true", S3_VERSION_ID: marker})
    return error


def _newest_versions(req: S3Request, key: str, limit: int) -> list[dict]:
    """The first rows of ``key``'s version listing (newest first; [] unversioned)."""
    resp = req.swift("GET", req.bucket, query=urlencode(
        {"versions": "", "format": "json", "prefix": key, "limit": str(limit)},
        quote_via=quote))
    if resp.status_int != 200:
        return []
    try:
        rows = json.loads(resp.body)
    except ValueError:
        return []
    return [row for row in rows if isinstance(row, dict) and row.get("name") == key]


def latest_delete_marker(req: S3Request, key: str) -> Optional[str]:
    """The version id of ``key``'s newest version when that is a delete marker."""
    rows = _newest_versions(req, key, 1)
    if rows and rows[0].get("content_type") == DELETE_MARKER_CONTENT_TYPE:
        return str(rows[0].get("version_id"))
    return None


def version_state(req: S3Request, key: str, version: str) -> Optional[str]:
    """What ``version`` of ``key`` is: OBJECT, DELETE_MARKER, or None (no such version)."""
    if version != NULL and never_versioned(req):
        return None
    # (a real version is read as itself: it may be a client's own symlink; the
    # null version is read through its name, which a link to a version is not)
    head = req.swift("HEAD", req.bucket, key, query=version_query(
        version, "" if version == NULL else "symlink=get"))
    if head.status_int // 100 == 2:
        return OBJECT
    if head.status_int == 404 and \
            (head.headers.get("Content-Type") or "") == DELETE_MARKER_CONTENT_TYPE:
        return DELETE_MARKER
    if head.status_int == 404:
        return None
    raise req.fail_for(head)


def restore_newest(req: S3Request, key: str) -> None:
    """After one version was deleted for good, the newest one left becomes current.

    object_versioning removes the current version's link with it; S3 then
    serves the next newest version, unless that is a delete marker.  A name
    that still has a current object (a ``null`` one, or a link) is left alone.
    """
    head = req.swift("HEAD", req.bucket, key, query="symlink=get")
    if head.status_int != 404:
        return
    for row in _newest_versions(req, key, 10):
        if row.get("content_type") == DELETE_MARKER_CONTENT_TYPE:
            return
        version = str(row.get("version_id"))
        if version == NULL:
            continue
        resp = req.swift("PUT", req.bucket, key, query=version_query(version), body=b"")
        if resp.status_int // 100 == 2:
            return
        # (a version the listing still shows may be gone already: try the next one)
