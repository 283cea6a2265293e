"""Multipart uploads: initiate, upload part (or copy a part), complete, abort.

An upload lives in the bucket's hidden ``<bucket>+segments`` container ("+"
is no bucket character, so it never shows as a bucket):

* ``<key>/<upload id>``: the upload's marker, an empty object carrying the
  headers the finished object gets (Content-Type, x-amz-meta-*, ...);
* ``<key>/<upload id>/<part number, 5 digits>``: each part's bytes, so a
  listing returns the parts in number order.

Completing an upload stores ``<bucket>/<key>`` as an SLO manifest naming the
chosen parts, with the S3 ETag (MD5 of the part MD5s, ``-<count>``) kept as
sysmeta and shown in listings; the marker and unused parts are deleted.
Deleting the object later deletes its parts with it (see
:func:`objects.delete_key`), and so does completing another upload onto its
key; aborting an upload deletes its parts and marker.
"""
from __future__ import annotations

import hashlib
import json
import re
import uuid
from urllib.parse import quote

import webob

from objstore.middleware.s3api.buckets import parse_body_xml, read_small_body
from objstore.middleware.s3api.context import SEGMENTS_SUFFIX, S3Request
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.listing import xml_response
from objstore.middleware.s3api.object_versions import add_version_headers
from objstore.middleware.s3api.objects import (MULTIPART_ETAG_SYSMETA, STORED_HEADERS,
                                               SWIFT_META, copy_into, is_multipart_object,
                                               metadata_headers, put_conditions,
                                               refuse_unsupported_headers, store_body)
from objstore.middleware.s3api.s3xml import child_text, to_xml

UPLOAD_ID = re.compile(r"[0-9a-f]{32}\Z")
# The client named the Content-Type at initiate (else the object server's guess stands).
TYPE_GIVEN_SYSMETA = "X-Object-Sysmeta-S3api-Content-Type-Given"
OVERRIDE_ETAG = "X-Object-Sysmeta-Container-Update-Override-Etag"
# The upload a multipart object was completed from (a retried completion is answered).
UPLOAD_ID_SYSMETA = "X-Object-Sysmeta-S3api-Upload-Id"
# 10,000 parts of ~120 bytes of XML each, with room to spare.
MAX_COMPLETE_BODY = 4 * 1024 * 1024
_COPY_RANGE = re.compile(r"bytes=(\d+)-(\d+)\Z")


def segments_container(req: S3Request) -> str:
    return (req.bucket or "") + SEGMENTS_SUFFIX


def marker_name(key: str, upload_id: str) -> str:
    return "%s/%s" % (key, upload_id)


def part_name(key: str, upload_id: str, number: int) -> str:
    return "%s/%s/%05d" % (key, upload_id, number)


def requested_upload_id(req: S3Request) -> str:
    upload_id = req.query.get("uploadId", "")
    if not UPLOAD_ID.match(upload_id):
        raise S3Error("NoSuchUpload", UploadId=upload_id)
    return upload_id


def check_upload(req: S3Request, upload_id: str) -> webob.Response:
    """The upload's marker (its HEAD); NoSuchUpload once it is completed or aborted."""
    resp = req.swift("HEAD", segments_container(req), marker_name(req.key or "", upload_id))
    if resp.status_int == 404:
        if not req.bucket_exists():
            raise S3Error("NoSuchBucket", BucketName=req.bucket or "")
        raise S3Error("NoSuchUpload", UploadId=upload_id)
    if resp.status_int // 100 != 2:
        raise req.fail_for(resp)
    return resp


def _part_number(req: S3Request) -> int:
    text = req.query.get("partNumber", "")
    limit = req.conf.max_upload_part_num
    if not text.isdigit() or len(text) > 5 or not 1 <= int(text) <= limit:
        raise S3Error("InvalidArgument", "Part number must be an integer between 1 and %d, "
                      "inclusive" % limit, ArgumentName="partNumber", ArgumentValue=text)
    return int(text)


def initiate(req: S3Request) -> webob.Response:
    refuse_unsupported_headers(req)
    headers = metadata_headers(req)
    if "Content-Type" in headers:
        headers[TYPE_GIVEN_SYSMETA] = "yes"
    _ensure_segments_container(req)
    upload_id = uuid.uuid4().hex
    resp = req.swift("PUT", segments_container(req), marker_name(req.key or "", upload_id),
                     headers=headers, body=b"")
    if resp.status_int // 100 != 2:
        raise req.fail_for(resp)
    return xml_response(to_xml("InitiateMultipartUploadResult", [
        ("Bucket", req.bucket), ("Key", req.key), ("UploadId", upload_id)]))


def _ensure_segments_container(req: S3Request) -> None:
    """The hidden container, made on first use in the bucket's storage policy."""
    if req.swift("HEAD", segments_container(req)).status_int // 100 == 2:
        return
    bucket = req.swift("HEAD", req.bucket)
    if bucket.status_int == 404:
        raise S3Error("NoSuchBucket", BucketName=req.bucket or "")
    if bucket.status_int // 100 != 2:
        raise req.fail_for(bucket)
    headers = {}
    if bucket.headers.get("X-Storage-Policy"):
        headers["X-Storage-Policy"] = bucket.headers["X-Storage-Policy"]
    resp = req.swift("PUT", segments_container(req), headers=headers)
    if resp.status_int // 100 != 2:
        raise req.fail_for(resp)


def upload_part(req: S3Request) -> webob.Response:
    number = _part_number(req)
    upload_id = requested_upload_id(req)
    check_upload(req, upload_id)
    name = part_name(req.key or "", upload_id, number)
    if "x-amz-copy-source" not in req.headers:
        return store_body(req, segments_container(req), name, {})
    headers = {}
    copy_range = req.headers.get("x-amz-copy-source-range")
    if copy_range is not None:
        match = _COPY_RANGE.match(copy_range)
        if not match or int(match.group(1)) > int(match.group(2)):
            raise S3Error("InvalidArgument", "The x-amz-copy-source-range value must be of "
                          "the form bytes=first-last where first and last are the zero-based "
                          "offsets of the first and last bytes to copy",
                          ArgumentName="x-amz-copy-source-range", ArgumentValue=copy_range)
        headers["Range"] = copy_range
    return copy_into(req, segments_container(req), name, headers, "CopyPartResult")


def _requested_parts(req: S3Request) -> list[tuple[int, str]]:
    root = parse_body_xml(read_small_body(req, MAX_COMPLETE_BODY), "CompleteMultipartUpload")
    parts = []
    for element in root.findall("Part"):
        number = (child_text(element, "PartNumber") or "").strip()
        etag = child_text(element, "ETag")
        if not number.isdigit() or etag is None:
            raise S3Error("MalformedXML")
        parts.append((int(number), etag.strip().strip('"')))
    if not parts:
        raise S3Error("MalformedXML", "You must specify at least one part")
    for (before, _etag), (after, _etag2) in zip(parts, parts[1:]):
        if after <= before:
            raise S3Error("InvalidPartOrder", UploadId=req.query.get("uploadId", ""))
    return parts


def stored_parts(req: S3Request, upload_id: str) -> dict[int, dict]:
    """{part number: its listing row} of an upload."""
    prefix = marker_name(req.key or "", upload_id) + "/"
    parts = {}
    for row in req.listed(segments_container(req), prefix):
        suffix = row.get("name", "")[len(prefix):]
        if suffix.isdigit():
            parts[int(suffix)] = row
    return parts


def complete(req: S3Request) -> webob.Response:
    upload_id = requested_upload_id(req)
    conditions = put_conditions(req)
    try:
        marker = check_upload(req, upload_id)
    except S3Error as error:
        if error.code == "NoSuchUpload":
            return _completed_already(req, upload_id, error)
        raise
    requested = _requested_parts(req)
    stored = stored_parts(req, upload_id)
    for number, etag in requested:
        row = stored.get(number)
        if row is None or row["hash"] != etag:
            raise S3Error("InvalidPart", UploadId=upload_id, PartNumber=str(number),
                          ETag=etag)
    for number, etag in requested[:-1]:
        if stored[number]["bytes"] < req.conf.min_segment_size:
            raise S3Error("EntityTooSmall", ProposedSize=str(stored[number]["bytes"]),
                          MinSizeAllowed=str(req.conf.min_segment_size),
                          PartNumber=str(number), ETag=etag)
    try:
        digests = b"".join(bytes.fromhex(etag) for _number, etag in requested)
    except ValueError:
        raise S3Error("InvalidPart", UploadId=upload_id) from None
    s3_etag = "%s-%d" % (hashlib.md5(digests).hexdigest(), len(requested))
    manifest = [{"path": "/%s/%s" % (segments_container(req), stored[number]["name"]),
                 "etag": etag, "size_bytes": stored[number]["bytes"]}
                for number, etag in requested]
    headers = _final_headers(marker)
    headers.update(conditions)
    headers[MULTIPART_ETAG_SYSMETA] = s3_etag
    headers[UPLOAD_ID_SYSMETA] = upload_id
    # Listings show the S3 ETag (the manifest's own stays the row's hash).
    headers[OVERRIDE_ETAG] = "; s3_etag=%s" % s3_etag
    replaced = _replaced_segments(req)
    resp = req.swift("PUT", req.bucket, req.key, query="multipart-manifest=put",
                     headers=headers, body=json.dumps(manifest).encode("utf-8"))
    if resp.status_int // 100 != 2:
        raise req.fail_for(resp)
    for name in replaced:
        req.swift("DELETE", segments_container(req), name)
    used = {number for number, _etag in requested}
    for number, row in stored.items():
        if number not in used:
            req.swift("DELETE", segments_container(req), row["name"])
    req.swift("DELETE", segments_container(req), marker_name(req.key or "", upload_id))
    out = _complete_result(req, s3_etag)
    add_version_headers(resp, out)
    return out


def _complete_result(req: S3Request, s3_etag: str) -> webob.Response:
    # A URL: the key percent-encoded (as UTF-8), its "/" kept.
    location = "%s://%s/%s/%s" % (req.environ.get("wsgi.url_scheme", "http"),
                                  req.environ.get("HTTP_HOST", ""), quote(req.bucket or ""),
                                  quote(req.key or ""))
    return xml_response(to_xml("CompleteMultipartUploadResult", [
        ("Location", location), ("Bucket", req.bucket), ("Key", req.key),
        ("ETag", '"%s"' % s3_etag)]))


def _completed_already(req: S3Request, upload_id: str, missing: S3Error) -> webob.Response:
    """A retried completion (its answer was lost) succeeds again while the
    object it made is still the key's; any other unknown upload is ``missing``."""
    head = req.swift("HEAD", req.bucket, req.key, query="multipart-manifest=get")
    if head.status_int // 100 == 2 and is_multipart_object(head) and \
            head.headers.get(UPLOAD_ID_SYSMETA) == upload_id:
        read_small_body(req, MAX_COMPLETE_BODY)
        return _complete_result(req, head.headers[MULTIPART_ETAG_SYSMETA])
    raise missing


def _replaced_segments(req: S3Request) -> list[str]:
    """The segments of the multipart object the completed upload replaces.

    Nothing else refers to them once the new manifest is in place, so they go
    with the old object, as a DELETE of it would take them.
    """
    container = segments_container(req)
    head = req.swift("HEAD", req.bucket, req.key, query="multipart-manifest=get")
    if not is_multipart_object(head):
        return []
    resp = req.swift("GET", req.bucket, req.key, query="multipart-manifest=get")
    try:
        entries = json.loads(resp.body) if resp.status_int == 200 else []
    except ValueError:
        entries = []
    names = []
    for entry in entries if isinstance(entries, list) else []:
        path = entry.get("name", "") if isinstance(entry, dict) else ""
        owner, _slash, name = path.lstrip("/").partition("/")
        if owner == container and name:
            names.append(name)
    return names


def _final_headers(marker: webob.Response) -> dict[str, str]:
    """The headers initiate kept on the marker, for the finished object."""
    headers = {name: value for name, value in marker.headers.items()
               if name.lower().startswith(SWIFT_META.lower())}
    for name in STORED_HEADERS:
        if name in marker.headers and (name != "Content-Type" or
                                       marker.headers.get(TYPE_GIVEN_SYSMETA)):
            headers[name] = marker.headers[name]
    return headers


def abort(req: S3Request) -> webob.Response:
    upload_id = requested_upload_id(req)
    check_upload(req, upload_id)
    discard(req, marker_name(req.key or "", upload_id) + "/")
    resp = req.swift("DELETE", segments_container(req), marker_name(req.key or "", upload_id))
    if resp.status_int // 100 != 2 and resp.status_int != 404:
        raise req.fail_for(resp)
    # An explicit empty length: clients written against Swift's s3api read the
    # length of this answer, and no client is misled by a zero on a 204.
    return webob.Response(status=204, headerlist=[
        ("Content-Type", "text/html; charset=UTF-8"), ("Content-Length", "0")])


def discard(req: S3Request, prefix: str) -> None:
    """Delete every object of the segments container under ``prefix``."""
    names = [row["name"] for row in req.listed(segments_container(req), prefix)
             if "name" in row]
    for name in names:
        resp = req.swift("DELETE", segments_container(req), name)
        if resp.status_int // 100 != 2 and resp.status_int != 404:
            raise req.fail_for(resp)


def discard_all_uploads(req: S3Request) -> None:
    """After the bucket itself is deleted: its unfinished uploads and hidden container."""
    if req.swift("HEAD", segments_container(req)).status_int == 404:
        return
    discard(req, "")
    req.swift("DELETE", segments_container(req))
