"""ListObjects (v1 and v2): S3's paging and encoding over Swift's JSON listing."""
from __future__ import annotations

import base64
import binascii
import datetime
import json
from typing import Optional
from urllib.parse import quote, urlencode

import webob

from objstore.middleware.s3api.context import S3Request
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.s3xml import to_xml


def s3_timestamp(swift_iso: str) -> str:
    """``2026-11-30T19:05:30.123450`` (Swift listing) -> ``2026-11-30T19:05:31.000Z``.

    Rounded up to the whole second, as the object's ``Last-Modified`` header
    is: a client comparing a listing with a HEAD sees one time.
    """
    date, _, fraction = swift_iso.partition(".")
    when = datetime.datetime.strptime(date, "%Y-%m-%dT%H:%M:%S")
    if fraction.strip("0"):
        when += datetime.timedelta(seconds=1)
    return when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _max_keys(req: S3Request) -> int:
    text = req.query.get("max-keys", "1000")
    if not text.isdigit() or len(text) > 10:
        raise S3Error("InvalidArgument", "max-keys must be a non-negative integer",
                      ArgumentName="max-keys", ArgumentValue=text)
    return min(int(text), req.conf.max_bucket_listing)


def _swift_marker(marker: str, prefix: str, delimiter: str) -> str:
    """A marker naming a common prefix skips everything under it, not just itself."""
    if delimiter and marker.startswith(prefix) and marker.endswith(delimiter) and \
            delimiter in marker[len(prefix):]:
        return marker[:-1] + chr(ord(marker[-1]) + 1)
    return marker


def _decode_token(token: str) -> str:
    try:
        return base64.b64decode(token.encode("ascii"), altchars=b"-_",
                                validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise S3Error("InvalidArgument", "The continuation token provided is incorrect",
                      ArgumentName="continuation-token") from None


def _encode_token(marker: str) -> str:
    return base64.urlsafe_b64encode(marker.encode("utf-8")).decode("ascii")


def list_objects(req: S3Request) -> webob.Response:
    query = req.query
    v2 = query.get("list-type") == "2"
    if "list-type" in query and not v2:
        raise S3Error("InvalidArgument", "list-type must be 2", ArgumentName="list-type")
    encoding = query.get("encoding-type")
    if encoding is not None and encoding != "url":
        raise S3Error("InvalidArgument", "Invalid Encoding Method specified in Request",
                      ArgumentName="encoding-type", ArgumentValue=encoding)
    max_keys = _max_keys(req)
    prefix = query.get("prefix", "")
    delimiter = query.get("delimiter", "")
    token = query.get("continuation-token") if v2 else None
    if v2:
        marker = _decode_token(token) if token is not None else query.get("start-after", "")
    else:
        marker = query.get("marker", "")

    swift_query = {"format": "json", "limit": str(max_keys + 1),
                   "marker": _swift_marker(marker, prefix, delimiter)}
    if prefix:
        swift_query["prefix"] = prefix
    if delimiter:
        swift_query["delimiter"] = delimiter
    resp = req.swift("GET", req.bucket, query=urlencode(swift_query, quote_via=quote))
    if resp.status_int != 200:
        if resp.status_int == 204:
            entries: list[dict] = []
        else:
            raise req.fail_for(resp, "NoSuchBucket")
    else:
        entries = json.loads(resp.body)
    if max_keys == 0:
        entries = []
    truncated = len(entries) > max_keys
    entries = entries[:max_keys]

    def enc(text: str) -> str:
        return quote(text, safe="/") if encoding else text

    contents: list[tuple[str, object]] = []
    prefixes: list[tuple[str, object]] = []
    fetch_owner = not v2 or query.get("fetch-owner", "").lower() == "true"
    for entry in entries:
        if "subdir" in entry:
            prefixes.append(("CommonPrefixes", [("Prefix", enc(entry["subdir"]))]))
            continue
        fields: list[tuple[str, object]] = [
            ("Key", enc(entry["name"])),
            ("LastModified", s3_timestamp(entry["last_modified"])),
            ("ETag", '"%s"' % (entry.get("s3_etag") or entry["hash"])),
            ("Size", entry["bytes"])]
        if fetch_owner:
            fields.append(("Owner", req.owner))
        fields.append(("StorageClass", "STANDARD"))
        contents.append(("Contents", fields))
    last: Optional[str] = None
    if entries:
        last = entries[-1].get("subdir") or entries[-1].get("name")

    # In the element order of S3's published schema: strict XML readers check it.
    head: list[tuple[str, object]] = [("Name", req.bucket), ("Prefix", enc(prefix))]
    if v2:
        if truncated and last is not None:
            head.append(("NextContinuationToken", _encode_token(last)))
        if token is not None:
            head.append(("ContinuationToken", token))
        if "start-after" in query:
            head.append(("StartAfter", enc(query["start-after"])))
        head.append(("KeyCount", len(entries)))
    else:
        head.append(("Marker", enc(marker)))
        if truncated and delimiter and last is not None:
            head.append(("NextMarker", enc(last)))
    head.append(("MaxKeys", max_keys))
    if delimiter:
        head.append(("Delimiter", enc(delimiter)))
    if encoding:
        head.append(("EncodingType", "url"))
    head.append(("IsTruncated", truncated))
    return xml_response(to_xml("ListBucketResult", head + contents + prefixes))


def xml_response(body: bytes, status: int = 200) -> webob.Response:
    return webob.Response(status=status, body=body, content_type="application/xml",
                          charset=None)
