"""ListObjectVersions (``GET /bucket?versions``) over Swift's ``?versions`` listing.

object_versioning merges the bucket's current objects with its hidden
versions container: every row has a ``version_id`` (``null`` for an object
written without versioning) and ``is_latest``, newest version first within
a name, delete markers by their content type.  ``key-marker`` and
``version-id-marker`` are Swift's ``marker`` and ``version_marker``; one
more row than asked for tells whether the listing is truncated.
"""
from __future__ import annotations

import json
from urllib.parse import quote, urlencode

import webob

from objstore.middleware.s3api.context import S3Request
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.listing import s3_timestamp, xml_response
from objstore.middleware.s3api.s3xml import to_xml
from objstore.middleware.s3api.object_versions import NULL, requested_marker
from objstore.middleware.versioned_writes import DELETE_MARKER_CONTENT_TYPE


def _max_keys(req: S3Request) -> int:
    text = req.query.get("max-keys", "1000")
    if not text.isdigit() or len(text) > 10:
        raise S3Error("InvalidArgument", "max-keys must be a non-negative integer",
                      ArgumentName="max-keys", ArgumentValue=text)
    return int(text)


def _swift_query(req: S3Request, limit: int) -> str:
    query = req.query
    swift = {"versions": "", "format": "json", "limit": str(limit)}
    for s3_name, swift_name in (("prefix", "prefix"), ("delimiter", "delimiter"),
                                ("key-marker", "marker")):
        if query.get(s3_name):
            swift[swift_name] = query[s3_name]
    version_marker = requested_marker(req)
    if version_marker:
        swift["version_marker"] = version_marker
    return urlencode(swift, quote_via=quote)


def _entry(req: S3Request, row: dict, enc) -> tuple[str, object]:
    marker = row.get("content_type") == DELETE_MARKER_CONTENT_TYPE
    fields: list[tuple[str, object]] = [
        ("Key", enc(row["name"])), ("VersionId", row.get("version_id") or NULL),
        # (a listing without is_latest lists only current objects)
        ("IsLatest", bool(row.get("is_latest", True))),
        ("LastModified", s3_timestamp(row["last_modified"]))]
    if marker:
        fields.append(("Owner", req.owner))
        return "DeleteMarker", fields
    fields += [("ETag", '"%s"' % (row.get("s3_etag") or row["hash"]).strip('"')),
               ("Size", row["bytes"]), ("Owner", req.owner), ("StorageClass", "STANDARD")]
    return "Version", fields


def list_versions(req: S3Request) -> webob.Response:
    encoding = req.query.get("encoding-type")
    if encoding is not None and encoding != "url":
        raise S3Error("InvalidArgument", "Invalid Encoding Method specified in Request",
                      ArgumentName="encoding-type", ArgumentValue=encoding)
    asked = _max_keys(req)
    max_keys = min(asked, req.conf.max_bucket_listing)
    resp = req.swift("GET", req.bucket, query=_swift_query(req, max_keys + 1))
    if resp.status_int == 204:
        rows: list[dict] = []
    elif resp.status_int == 200:
        rows = json.loads(resp.body)
    elif resp.status_int == 400:
        # (object_versioning refuses a delimiter holding version id characters)
        raise S3Error("InvalidArgument", resp.text.strip()[:200] or None)
    else:
        raise req.fail_for(resp, "NoSuchBucket")
    truncated = max_keys > 0 and len(rows) > max_keys
    rows = rows[:max_keys]

    def enc(text: str) -> str:
        return quote(text, safe="/") if encoding else text

    query = req.query
    head: list[tuple[str, object]] = [
        ("Name", req.bucket), ("Prefix", enc(query.get("prefix", ""))),
        ("KeyMarker", enc(query.get("key-marker", ""))),
        ("VersionIdMarker", query.get("version-id-marker", ""))]
    if truncated:
        last = rows[-1]
        if "subdir" in last:
            head += [("NextKeyMarker", enc(last["subdir"])), ("NextVersionIdMarker", NULL)]
        else:
            head += [("NextKeyMarker", enc(last["name"])),
                     ("NextVersionIdMarker", last.get("version_id") or NULL)]
    head.append(("MaxKeys", asked))
    if "delimiter" in query:
        head.append(("Delimiter", enc(query["delimiter"])))
    if encoding:
        head.append(("EncodingType", "url"))
    head.append(("IsTruncated", truncated))
    entries = [_entry(req, row, enc) for row in rows if "subdir" not in row]
    prefixes: list[tuple[str, object]] = [
        ("CommonPrefixes", [("Prefix", enc(row["subdir"]))]) for row in rows if "subdir" in row]
    return xml_response(to_xml("ListVersionsResult", head + entries + prefixes))
