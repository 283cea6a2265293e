"""ListParts (``GET /bucket/key?uploadId=``) and ListMultipartUploads (``GET /bucket?uploads``).

Both read the bucket's hidden segments container (layout: :mod:`.multipart`).
Uploads are listed in key order, then upload id; the container's own name
order agrees except where one key is another's prefix followed by a
character below "/", so each page is sorted before it is cut.
"""
from __future__ import annotations

from typing import Optional
from urllib.parse import quote, urlencode

import webob

from objstore.middleware.s3api.context import S3Request
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.listing import s3_timestamp, xml_response
from objstore.middleware.s3api.multipart import (UPLOAD_ID, check_upload,
                                                 marker_name, requested_upload_id,
                                                 segments_container)
from objstore.middleware.s3api.s3xml import to_xml

MAX_LISTED = 1000


def _count(req: S3Request, name: str, default: int) -> int:
    text = req.query.get(name)
    if text is None:
        return default
    if not text.isdigit() or len(text) > 10:
        raise S3Error("InvalidArgument", "Provided %s not an integer or within integer "
                      "range" % name, ArgumentName=name, ArgumentValue=text)
    return int(text)


def _encoder(req: S3Request):
    encoding = req.query.get("encoding-type")
    if encoding is not None and encoding != "url":
        raise S3Error("InvalidArgument", "Invalid Encoding Method specified in Request",
                      ArgumentName="encoding-type", ArgumentValue=encoding)
    return (lambda text: quote(text, safe="/")) if encoding else (lambda text: text)


def list_parts(req: S3Request) -> webob.Response:
    upload_id = requested_upload_id(req)
    check_upload(req, upload_id)
    enc = _encoder(req)
    max_parts = min(_count(req, "max-parts", MAX_LISTED), MAX_LISTED)
    after = _count(req, "part-number-marker", 0)
    prefix = marker_name(req.key or "", upload_id) + "/"
    query = {"format": "json", "prefix": prefix, "limit": str(max_parts + 1)}
    if after:
        query["marker"] = "%s%05d" % (prefix, after)
    resp = req.swift("GET", segments_container(req), query=urlencode(query, quote_via=quote))
    if resp.status_int != 200:
        raise req.fail_for(resp)
    rows = [row for row in resp.json if row.get("name", "")[len(prefix):].isdigit()]
    truncated = len(rows) > max_parts
    rows = rows[:max_parts]
    parts = [("Part", [("PartNumber", int(row["name"][len(prefix):])),
                       ("LastModified", s3_timestamp(row["last_modified"])),
                       ("ETag", '"%s"' % row["hash"]), ("Size", row["bytes"])])
             for row in rows]
    fields: list[tuple[str, object]] = [
        ("Bucket", req.bucket), ("Key", enc(req.key or "")), ("UploadId", upload_id),
        ("Initiator", req.owner), ("Owner", req.owner), ("StorageClass", "STANDARD"),
        ("PartNumberMarker", after)]
    if rows:
        fields.append(("NextPartNumberMarker", int(rows[-1]["name"][len(prefix):])))
    fields.append(("MaxParts", max_parts))
    if "encoding-type" in req.query:
        fields.append(("EncodingType", "url"))
    fields.append(("IsTruncated", truncated))
    return xml_response(to_xml("ListPartsResult", fields + parts))


def _after_markers(key: str, upload_id: str, key_marker: str, upload_id_marker: str) -> bool:
    if not key_marker:
        return True
    if key != key_marker:
        return key > key_marker
    return bool(upload_id_marker) and upload_id > upload_id_marker


def list_uploads(req: S3Request) -> webob.Response:
    if not req.bucket_exists():
        raise S3Error("NoSuchBucket", BucketName=req.bucket or "")
    enc = _encoder(req)
    max_uploads = min(_count(req, "max-uploads", MAX_LISTED), MAX_LISTED)
    prefix = req.query.get("prefix", "")
    delimiter = req.query.get("delimiter", "")
    key_marker = req.query.get("key-marker", "")
    upload_id_marker = req.query.get("upload-id-marker", "") if key_marker else ""
    # (sort key, ("Upload"|"CommonPrefixes", fields)); a common prefix sorts as its text.
    found: dict[tuple[str, str], tuple[str, list]] = {}
    for row in req.listed(segments_container(req), prefix, key_marker):
        key, _slash, upload_id = row.get("name", "").rpartition("/")
        if not key or not UPLOAD_ID.match(upload_id) or \
                not _after_markers(key, upload_id, key_marker, upload_id_marker):
            continue
        rest = key[len(prefix):]
        if delimiter and delimiter in rest:
            common = prefix + rest[:rest.index(delimiter) + len(delimiter)]
            if common != key_marker:
                found.setdefault((common, ""), ("CommonPrefixes", [("Prefix", enc(common))]))
        else:
            found[(key, upload_id)] = ("Upload", [
                ("Key", enc(key)), ("UploadId", upload_id), ("Initiator", req.owner),
                ("Owner", req.owner), ("StorageClass", "STANDARD"),
                ("Initiated", s3_timestamp(row["last_modified"]))])
        if len(found) > max_uploads:
            break
    ordered = sorted(found.items())
    truncated = len(ordered) > max_uploads
    ordered = ordered[:max_uploads]
    # The last entry, for the next page; a page of one that is complete
    # leaves them empty (as Swift's listing does, and clients accept).
    named = truncated or len(ordered) > 1
    next_key: Optional[str] = ordered[-1][0][0] if named else None
    next_upload = ordered[-1][0][1] if named else None
    # In the element order of S3's published schema, which names the next
    # markers even when the listing is complete.
    fields: list[tuple[str, object]] = [
        ("Bucket", req.bucket), ("KeyMarker", enc(key_marker)),
        ("UploadIdMarker", upload_id_marker),
        ("NextKeyMarker", enc(next_key or "")), ("NextUploadIdMarker", next_upload or "")]
    if delimiter:
        fields.append(("Delimiter", enc(delimiter)))
    fields += [("Prefix", enc(prefix)), ("MaxUploads", max_uploads)]
    if "encoding-type" in req.query:
        fields.append(("EncodingType", "url"))
    fields.append(("IsTruncated", truncated))
    uploads = [entry for _sort, entry in ordered if entry[0] == "Upload"]
    prefixes = [entry for _sort, entry in ordered if entry[0] == "CommonPrefixes"]
    return xml_response(to_xml("ListMultipartUploadsResult", fields + uploads + prefixes))
