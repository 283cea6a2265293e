"""Object operations: PUT (and copy), GET, HEAD, DELETE.

Headers cross over in both directions: ``x-amz-meta-*`` is Swift's
``X-Object-Meta-*``, ``Content-MD5`` becomes the ETag the object servers
check, and a signed body (SHA-256 or aws-chunked) is checked as it streams
(:mod:`.body`), so a body failing any check is never stored.
"""
from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import json
from types import MappingProxyType
from typing import Any, Optional
from urllib.parse import quote, unquote

import webob

from objstore.common.http_conditions import evaluate_preconditions
from objstore.common.http_text import str_to_wsgi, wsgi_to_str
from objstore.middleware.s3api import auth, canned_acl
from objstore.middleware.s3api import object_versions
from objstore.middleware.slo_part_number import PARTS_COUNT_HEADER
from objstore.middleware.s3api.body import AwsChunkedInput, DigestCheck, VerifiedInput
from objstore.middleware.s3api.checksums import (ALGORITHMS, encode_digest, new_hasher,
                                                 request_checksum)
from objstore.middleware.s3api.context import S3Request
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.listing import xml_response
from objstore.middleware.s3api.s3xml import to_xml

# Headers S3 stores with an object and gives back on GET/HEAD, as Swift does.
STORED_HEADERS = ("Content-Type", "Content-Encoding", "Content-Disposition",
                  "Cache-Control", "Content-Language", "Expires", "X-Robots-Tag")
# Swift's expiry headers, acted on by the object expirer (answered with
# x-amz-expiration on GET/HEAD).
EXPIRY_HEADERS = ("X-Delete-At", "X-Delete-After")
# Swift response headers an S3 client sees unchanged.
PASSED_RESPONSE_HEADERS = STORED_HEADERS + ("Content-Length", "Content-Range",
                                            "Last-Modified", "ETag", "Accept-Ranges")
CONDITION_HEADERS = ("If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since")
# ?response-<header>=value overrides a header of a GET's answer.
RESPONSE_OVERRIDES = MappingProxyType({"response-content-type": "Content-Type",
                      "response-content-language": "Content-Language",
                      "response-expires": "Expires",
                      "response-cache-control": "Cache-Control",
                      "response-content-disposition": "Content-Disposition",
                      "response-content-encoding": "Content-Encoding"})
SWIFT_META = "X-Object-Meta-"
CHECKSUM_SYSMETA = "X-Object-Sysmeta-S3api-Checksum"
# A completed multipart upload's S3 ETag ("<md5 of the part MD5s>-<parts>").
MULTIPART_ETAG_SYSMETA = "X-Object-Sysmeta-S3api-Etag"
S3_META = "x-amz-meta-"
ESCAPED_UNDERSCORE = "%5F"
_SWIFT_META_LOWER = SWIFT_META.lower()
_ESCAPED_UNDERSCORE_LOWER = ESCAPED_UNDERSCORE.lower()
_PASSED_BY_LOWER_NAME = MappingProxyType({name.lower(): name
                                          for name in PASSED_RESPONSE_HEADERS})
# The rule x-amz-expiration names: Swift's own expiry, not a lifecycle rule.
EXPIRY_RULE_ID = "swift-object-expiration"


def metadata_headers(req: S3Request) -> dict[str, str]:
    headers = {}
    for name, value in req.headers.items():
        if name.lower().startswith(S3_META):
            headers[SWIFT_META + name[len(S3_META):]] = value
    for name, value in auth.underscore_headers(req.environ):
        if name.startswith(S3_META):
            # "_" cannot travel in a header name through WSGI (it reads as
            # "-"): it is stored as %5F and given back as "_".
            headers[SWIFT_META + name[len(S3_META):].replace("_", ESCAPED_UNDERSCORE)] = value
    for name in STORED_HEADERS:
        if name in req.headers:
            headers[name] = req.headers[name]
    encodings = [item.strip() for item in headers.get("Content-Encoding", "").split(",")
                 if item.strip() and item.strip().lower() != "aws-chunked"]
    if "Content-Encoding" in headers:
        if encodings:
            headers["Content-Encoding"] = ", ".join(encodings)
        else:
            del headers["Content-Encoding"]
    return headers


def _md5_etag(req: S3Request) -> Optional[str]:
    text = req.headers.get("Content-MD5")
    if text is None:
        return None
    try:
        digest = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        digest = b""
    if len(digest) != 16:
        raise S3Error("InvalidDigest")
    return digest.hex()


def _payload_checks(req: S3Request, trailers: Optional[dict[str, str]]
                    ) -> tuple[list[DigestCheck], Optional[DigestCheck]]:
    """The digests the payload must match, and which of them is an x-amz-checksum."""
    checks = []
    payload = req.details.payload_hash
    if len(payload) == 64:
        checks.append(DigestCheck(hashlib.sha256(), lambda: payload, bytes.hex,
                                  lambda computed: S3Error(
                                      "XAmzContentSHA256Mismatch",
                                      ClientComputedContentSHA256=payload,
                                      S3ComputedContentSHA256=computed)))
    checksum: Optional[DigestCheck] = None
    declared = request_checksum(req.headers)
    trailer = (req.headers.get("x-amz-trailer") or "").strip().lower()
    if trailer:
        algorithm = trailer[len("x-amz-checksum-"):]
        if not trailer.startswith("x-amz-checksum-") or algorithm not in ALGORITHMS \
                or trailers is None:
            raise S3Error("InvalidRequest", "Unsupported x-amz-trailer %s" % trailer)
        declared = None
        checksum = DigestCheck(new_hasher(algorithm), lambda: trailers.get(trailer),
                               encode_digest, lambda _computed: S3Error(
                                   "BadDigest", "The %s you specified did not match the "
                                   "calculated checksum." % trailer), algorithm)
    if declared is not None:
        value = declared.value
        checksum = DigestCheck(new_hasher(declared.algorithm), lambda: value, encode_digest,
                               lambda _computed: S3Error(
                                   "BadDigest", "The %s you specified did not match the "
                                   "calculated checksum." % declared.header),
                               declared.algorithm)
    if checksum is not None:
        checks.append(checksum)
    return checks, checksum


def _body_reader(req: S3Request) -> tuple[Any, int, Optional[DigestCheck]]:
    """(reader, length, checksum) of the payload to store, checked as the request asks."""
    environ = req.environ
    raw = environ["wsgi.input"]
    payload = req.details.payload_hash
    trailers = None
    if payload.startswith("STREAMING-"):
        decoded = environ.get("HTTP_X_AMZ_DECODED_CONTENT_LENGTH", "")
        if not decoded.isdigit():
            raise S3Error("MissingContentLength", "x-amz-decoded-content-length is required "
                          "with aws-chunked bodies")
        length = int(decoded)
        chunked = AwsChunkedInput(raw, req.details, length,
                                  signed=payload.startswith(auth.STREAMING_SIGNED))
        req.checked_inputs.append(chunked)
        raw, trailers = chunked, chunked.trailers
    else:
        content_length = req.request.content_length
        if content_length is None:
            raise S3Error("MissingContentLength")
        length = content_length
    checks, checksum = _payload_checks(req, trailers)
    if checks:
        raw = VerifiedInput(raw, length, checks)
        req.checked_inputs.append(raw)
    return raw, length, checksum


# Request headers S3 acts on that this store does not: refused, never ignored.
_UNSUPPORTED_HEADER_PREFIXES = ("x-amz-grant-", "x-amz-tagging", "x-amz-server-side-encryption",
                                "x-amz-website-redirect-location", "x-amz-object-lock-")


def refuse_unsupported_headers(req: S3Request) -> None:
    if req.key is not None:
        canned_acl.check_object_acl(req)
    else:
        canned_acl.canned_read_acl(req)
    for name in req.headers.keys():
        if name.lower().startswith(_UNSUPPORTED_HEADER_PREFIXES):
            raise S3Error("NotImplemented", "%s is not supported" % name.lower(),
                          Header=name.lower())
    storage_class = req.headers.get("x-amz-storage-class", "STANDARD")
    if storage_class != "STANDARD":
        raise S3Error("InvalidStorageClass", StorageClassRequested=storage_class)


def put_conditions(req: S3Request) -> dict[str, str]:
    """The conditions a PUT may carry: only ``If-None-Match: *`` (create, never
    overwrite) is acted on; any other would be ignored, so it is refused."""
    conditions = {}
    for name in CONDITION_HEADERS:
        value = req.headers.get(name)
        if value is None:
            continue
        if name != "If-None-Match" or value.strip() != "*":
            raise S3Error("NotImplemented", "Conditional %s on PUT is not supported" % name,
                          Header=name)
        conditions[name] = "*"
    return conditions


def put_object(req: S3Request) -> webob.Response:
    refuse_unsupported_headers(req)
    headers = put_conditions(req)
    headers.update((name, req.headers[name]) for name in EXPIRY_HEADERS
                   if name in req.headers)
    if "x-amz-copy-source" in req.headers:
        if "If-None-Match" in headers:
            # A copy's If-* headers test its source (x-amz-copy-source-if-*).
            raise S3Error("NotImplemented", "Conditional copy destinations are not "
                          "supported", Header="If-None-Match")
        return copy_object(req, headers)
    headers.update(metadata_headers(req))
    return store_body(req, req.bucket or "", req.key or "", headers)


def store_body(req: S3Request, container: str, obj: str,
               headers: dict[str, str]) -> webob.Response:
    """PUT the client's body (checked as it asks) to ``container/obj``; S3's answer.

    Both an object PUT and a multipart part upload land here; a 404 means the
    container is missing, which the caller has already ruled out for parts.
    """
    etag = _md5_etag(req)
    if etag:
        headers["ETag"] = etag
    reader, length, checksum = _body_reader(req)
    if checksum is not None and not req.headers.get("x-amz-trailer"):
        # Kept so GET/HEAD with x-amz-checksum-mode can give it back.
        headers[CHECKSUM_SYSMETA] = "%s:%s" % (checksum.algorithm, checksum.expected())
    resp = req.swift("PUT", container, obj, headers=headers, body_file=reader,
                     length=length)
    if resp.status_int // 100 != 2:
        if resp.status_int == 404:
            raise S3Error("NoSuchBucket", BucketName=req.bucket or "")
        raise req.fail_for(resp)
    out = webob.Response(status=200, content_type=None)
    out.headers["ETag"] = '"%s"' % resp.headers.get("Etag", "").strip('"')
    object_versions.add_version_headers(resp, out)
    if "Last-Modified" in resp.headers:
        # The time listings show for it (a part's, in ListParts).
        out.headers["Last-Modified"] = resp.headers["Last-Modified"]
    if checksum is not None:
        out.headers["x-amz-checksum-" + checksum.algorithm] = checksum.expected()
    return out


def _swift_to_s3_headers(resp: webob.Response, out: webob.Response) -> None:
    # One pass over the answer's headers (every S3 GET and HEAD comes here):
    # webob looks a name up by scanning them all.
    passed: dict[str, str] = {}
    for name, value in resp.headerlist:
        lower = name.lower()
        if lower in _PASSED_BY_LOWER_NAME:
            passed[_PASSED_BY_LOWER_NAME[lower]] = value
        elif lower.startswith(_SWIFT_META_LOWER):
            passed[S3_META + lower[len(SWIFT_META):].replace(
                _ESCAPED_UNDERSCORE_LOWER, "_")] = value
    if is_multipart_object(resp):
        passed["ETag"] = resp.headers[MULTIPART_ETAG_SYSMETA]
    if "ETag" in passed:
        passed["ETag"] = '"%s"' % passed["ETag"].strip('"')
    # (the new answer's own Content-Type, and any header given here, go)
    replaced = {name.lower() for name in passed} | {"content-type"}
    out.headerlist[:] = [(name, value) for name, value in out.headerlist
                         if name.lower() not in replaced] + list(passed.items())
    delete_at = resp.headers.get("X-Delete-At") or ""
    if delete_at.isdigit():
        out.headers["x-amz-expiration"] = 'expiry-date="%s", rule-id="%s"' % (
            email.utils.formatdate(int(delete_at), usegmt=True), EXPIRY_RULE_ID)


def _add_checksum(req: S3Request, resp: webob.Response, out: webob.Response) -> None:
    """x-amz-checksum-<algorithm> of the whole object, when asked for and known."""
    stored = resp.headers.get(CHECKSUM_SYSMETA)
    if stored and resp.status_int == 200 and \
            (req.headers.get("x-amz-checksum-mode") or "").upper() == "ENABLED":
        algorithm, _, value = stored.partition(":")
        out.headers["x-amz-checksum-" + algorithm] = value


def requested_part_number(req: S3Request) -> Optional[int]:
    """The part ``?partNumber=N`` asks for (None: the whole object)."""
    text = req.query.get("partNumber")
    if text is None:
        return None
    if "Range" in req.headers:
        raise S3Error("InvalidRequest", "Cannot specify both Range header and partNumber "
                      "query parameter")
    limit = req.conf.max_upload_part_num
    if not text.isdigit() or len(text) > 5 or not 1 <= int(text) <= limit:
        raise S3Error("InvalidArgument", "Part number must be an integer between 1 and %d, "
                      "inclusive" % limit, ArgumentName="partNumber", ArgumentValue=text)
    return int(text)


def _answer_part(part: int, resp: webob.Response, out: webob.Response) -> None:
    """A part's answer: a multipart object's part is a 206 already (the SLO's
    part-number); any other object is one part, the whole of it."""
    count = resp.headers.get(PARTS_COUNT_HEADER)
    if count is not None:
        out.headers["x-amz-mp-parts-count"] = count
        return
    if part != 1:
        raise S3Error("InvalidPartNumber")
    length = int(resp.headers.get("Content-Length") or 0)
    if length:
        out.status = 206
        out.headers["Content-Range"] = "bytes 0-%d/%d" % (length - 1, length)


def get_or_head_object(req: S3Request) -> webob.Response:
    part = requested_part_number(req)
    for name in req.query:
        if name.startswith("response-") and name not in RESPONSE_OVERRIDES:
            raise S3Error("InvalidArgument", "Unknown response override %s" % name,
                          ArgumentName=name)
    version = object_versions.requested_version(req)
    if version not in (None, object_versions.NULL) and object_versions.never_versioned(req):
        raise object_versions.no_such_version(req, version)
    headers = {name: req.headers[name] for name in CONDITION_HEADERS + ("Range",)
               if name in req.headers}
    resp = _multipart_etag_conditions(req, headers, version)
    if resp is None:
        # A HEAD with a Range describes the range (206, its length): only a
        # GET of it says how much of the object the range covers.
        method = "GET" if req.method == "HEAD" and "Range" in headers else req.method
        resp = req.swift(method, req.bucket, req.key, headers=headers,
                         query=object_versions.version_query(
                             version, "" if part is None else "part-number=%d" % part))
    if resp.status_int == 304:
        out = webob.Response(status=304)
        _swift_to_s3_headers(resp, out)
        out.headers["Content-Length"] = "0"   # no body follows, whatever the object's size
        return out
    if resp.status_int not in (200, 206):
        if resp.status_int == 416 and part is not None:
            raise S3Error("InvalidPartNumber")
        if resp.status_int == 416 and "Range" in headers:
            raise S3Error("InvalidRange", RangeRequested=headers["Range"])
        if resp.status_int == 404:
            raise object_versions.read_error(req, version, resp)
        raise req.fail_for(resp)
    body = resp.app_iter
    if req.method == "HEAD" and body:
        close = getattr(body, "close", None)
        if close is not None:
            close()
        body = []
    out = webob.Response(status=resp.status_int, app_iter=body)
    _swift_to_s3_headers(resp, out)
    object_versions.add_version_headers(resp, out)
    if part is not None:
        _answer_part(part, resp, out)
    _add_checksum(req, resp, out)
    for name, header in RESPONSE_OVERRIDES.items():
        if name in req.query:
            out.headers[header] = str_to_wsgi(req.query[name])
    return out


def _multipart_etag_conditions(req: S3Request, headers: dict[str, str],
                               version: Optional[str] = None) -> Optional[webob.Response]:
    """If-Match/If-None-Match of a GET/HEAD against a multipart object's S3 ETag.

    The answer is the 304 to send, or None to go on (see
    :func:`multipart_etag_verdict`).
    """
    verdict, head = multipart_etag_verdict(req, req.bucket or "", req.key or "", headers,
                                           req.method, version)
    if verdict == 412:
        raise S3Error("PreconditionFailed", Condition="If-Match")
    if verdict == 304 and head is not None:
        head.status = 304
        head.app_iter = []
        head.headers["Content-Length"] = "0"   # no body follows, whatever the object's size
        return head
    return None


def multipart_etag_verdict(req: S3Request, bucket: str, key: str, headers: dict[str, str],
                           method: str, version: Optional[str] = None
                           ) -> tuple[Optional[int], Optional[webob.Response]]:
    """Decide If-Match/If-None-Match in ``headers`` here when ``bucket/key`` is
    a multipart object: (412, 304 or None, the object's HEAD).

    Swift would compare them with the SLO's own ETag, which no S3 client has
    seen (the aws CLI sends If-Match with each ranged GET of a download, and
    copies name their source's ETag).  For such an object the conditions are
    removed from ``headers``; for any other they stay for Swift to decide.
    """
    conditions = {name: headers[name] for name in ("If-Match", "If-None-Match")
                  if name in headers}
    if not conditions:
        return None, None
    head = req.swift("HEAD", bucket, key,
                     query=object_versions.version_query(version, "multipart-manifest=get"))
    if not is_multipart_object(head):
        return None, None
    for name in conditions:
        del headers[name]
    return evaluate_preconditions(conditions, method, head.headers[MULTIPART_ETAG_SYSMETA],
                                  None), head


def is_multipart_object(resp: webob.Response) -> bool:
    """An SLO this filter assembled from a multipart upload (its S3 ETag is kept)."""
    return bool(resp.headers.get(MULTIPART_ETAG_SYSMETA)) and \
        (resp.headers.get("X-Static-Large-Object") or "").lower() == "true"


def delete_key(req: S3Request, key: str, version: Optional[str] = None) -> webob.Response:
    """DELETE ``key`` (or one ``version`` of it); a multipart object goes with its parts.

    Only objects a multipart upload made lose their segments: a Swift user's
    own SLO deleted through S3 keeps the segments it merely points to.  In a
    versioned bucket the name is a link to its current version (read as
    itself, ``symlink=get``): deleting it writes a delete marker and keeps
    the version's parts.
    """
    head = req.swift("HEAD", req.bucket, key, query=object_versions.version_query(
        version, "multipart-manifest=get", "symlink=get"))
    if not is_multipart_object(head):
        return req.swift("DELETE", req.bucket, key, query=object_versions.version_query(version))
    resp = req.swift("DELETE", req.bucket, key,
                     query=object_versions.version_query(version, "multipart-manifest=delete"),
                     headers={"Accept": "application/json"})
    if resp.status_int != 200:
        return resp
    try:
        status = json.loads(resp.body)["Response Status"]
        code = int(status.split()[0])
    except (ValueError, KeyError, IndexError, TypeError):
        code, status = 500, "500 Internal Server Error"
    return resp if code // 100 == 2 else webob.Response(status=status, body=resp.body)


def delete_object(req: S3Request) -> webob.Response:
    out = webob.Response(status=204)
    out.headers.update(delete_version(req, req.key or "",
                                      object_versions.requested_version(req)))
    return out


def delete_version(req: S3Request, key: str, version: Optional[str]) -> dict[str, str]:
    """DELETE ``key`` (``version``: that version for good); the x-amz-* headers of
    the answer (which version went, and whether it was a delete marker)."""
    answer = {} if version is None else {object_versions.S3_VERSION_ID: version}
    state = None if version is None else object_versions.version_state(req, key, version)
    if version is not None and state is None:
        if not req.bucket_exists():
            raise S3Error("NoSuchBucket", BucketName=req.bucket or "")
        return answer
    marker = state == object_versions.DELETE_MARKER
    resp = delete_key(req, key, version)
    if resp.status_int == 404:
        if not req.bucket_exists():
            raise S3Error("NoSuchBucket", BucketName=req.bucket or "")
    elif resp.status_int // 100 != 2:
        raise req.fail_for(resp)
    if version is None and resp.headers.get(object_versions.names.VERSION_ID):
        marker = True  # a versioned bucket kept the object and wrote this marker
        answer[object_versions.S3_VERSION_ID] = resp.headers[object_versions.names.VERSION_ID]
    if marker:
        answer[object_versions.S3_DELETE_MARKER] = "true"
    if version is not None:
        object_versions.restore_newest(req, key)
    return answer


def copy_source(req: S3Request) -> tuple[str, str, Optional[str]]:
    """(bucket, key, version or None for the current one) that x-amz-copy-source names."""
    text = wsgi_to_str(req.environ["HTTP_X_AMZ_COPY_SOURCE"])
    path, _, query = text.partition("?")
    version = object_versions.copy_source_version(query)
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    if not bucket or not key:
        raise S3Error("InvalidArgument", "Copy Source must mention the source bucket and "
                      "key: sourcebucket/sourcekey", ArgumentName="x-amz-copy-source")
    return bucket, key, version


def copy_object(req: S3Request, headers: dict[str, str]) -> webob.Response:
    src_bucket, src_key, src_version = copy_source(req)
    directive = req.headers.get("x-amz-metadata-directive", "COPY")
    if directive not in ("COPY", "REPLACE"):
        raise S3Error("InvalidArgument", "Unknown metadata directive.",
                      ArgumentName="x-amz-metadata-directive", ArgumentValue=directive)
    if (src_bucket, src_key) == (req.bucket, req.key) and directive == "COPY" and \
            src_version is None:
        raise S3Error("InvalidRequest", "This copy request is illegal because it is trying "
                      "to copy an object to itself without changing the object's metadata, "
                      "storage class, website redirect location or encryption attributes.")
    if directive == "REPLACE":
        headers.update(metadata_headers(req))
        headers["X-Fresh-Metadata"] = "true"
    return copy_into(req, req.bucket or "", req.key or "", headers, "CopyObjectResult")


def copy_into(req: S3Request, container: str, obj: str, headers: dict[str, str],
              result_root: str) -> webob.Response:
    """PUT ``container/obj`` as a server-side copy of x-amz-copy-source, under its
    x-amz-copy-source-if-* conditions; S3's ``<result_root>`` answer.

    ``headers`` may add a Range (a part copied from a byte range of the source).
    """
    src_bucket, src_key, src_version = copy_source(req)
    for name in CONDITION_HEADERS:
        value = req.headers.get("x-amz-copy-source-" + name.lower())
        if value is not None:
            headers[name] = value
    verdict, _head = multipart_etag_verdict(req, src_bucket, src_key, headers, "GET",
                                            src_version)
    if verdict == 412:
        raise S3Error("PreconditionFailed", Condition="x-amz-copy-source-If-Match")
    if verdict == 304:
        raise S3Error("PreconditionFailed", Condition="x-amz-copy-source-If-None-Match")
    if src_version is None:
        headers["X-Copy-From"] = quote("/%s/%s" % (src_bucket, src_key))
        resp = req.swift("PUT", container, obj, headers=headers, body=b"")
    else:
        # Only a COPY names a version of its source (its URL is the source).
        headers["Destination"] = quote("/%s/%s" % (container, obj))
        resp = req.swift("COPY", src_bucket, src_key,
                         query=object_versions.version_query(src_version), headers=headers)
    if resp.status_int // 100 != 2:
        if resp.status_int == 404:
            if not req.bucket_exists():
                raise S3Error("NoSuchBucket", BucketName=req.bucket or "")
            if src_version is not None:
                raise object_versions.copy_source_missing(resp, src_key, src_version)
            raise S3Error("NoSuchKey", Key=src_key)
        if resp.status_int == 304:
            raise S3Error("PreconditionFailed", Condition="x-amz-copy-source-If-None-Match")
        if resp.status_int == 416 and "Range" in headers:
            raise S3Error("InvalidRange", RangeRequested=headers["Range"])
        raise req.fail_for(resp)
    modified = resp.headers.get("Last-Modified")
    when = email.utils.parsedate_to_datetime(modified) if modified else None
    fields = [("LastModified", when.strftime("%Y-%m-%dT%H:%M:%S.000Z") if when else None),
              ("ETag", '"%s"' % resp.headers.get("Etag", "").strip('"'))]
    out = xml_response(to_xml(result_root, fields))
    object_versions.add_version_headers(resp, out)
    if src_version is not None:
        out.headers["x-amz-copy-source-version-id"] = src_version
    return out
