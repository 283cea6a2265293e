"""Reading an S3 request's signature (V4 header, V4 presigned, V2) into AuthDetails.

The middleware never sees secrets: it builds the string to sign and hands
the auth filter (tempauth) an :class:`AuthDetails` in
``environ[AUTH_DETAILS_KEY]``.  The auth filter looks the access key
(``account:user``) up, calls :meth:`AuthDetails.check_signature` with that
user's key, and on success records the account and lets the request go on
as that user; on failure it records the S3 error code in ``error``.
"""
from __future__ import annotations

import calendar
import dataclasses
import datetime
import email.utils
import re
import time
from typing import Callable, Optional
from urllib.parse import unquote_to_bytes

from objstore.common.http_protocol import UNDERSCORE_HEADERS
from objstore.common.http_text import wsgi_to_bytes
from objstore.middleware.s3api import signing
from objstore.middleware.s3api.errors import S3Error

AUTH_DETAILS_KEY = "s3api.auth_details"
MAX_SKEW_SECONDS = 15 * 60
MAX_PRESIGN_SECONDS = 7 * 24 * 3600
# A V2 link's Expires is a 32-bit signed time: later dates are refused.
MAX_V2_EXPIRES = 2 ** 31
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
_PAYLOAD_MODES = (UNSIGNED_PAYLOAD, STREAMING_SIGNED, STREAMING_SIGNED_TRAILER,
                  STREAMING_UNSIGNED_TRAILER)
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}\Z")
_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z\Z")
# Query parameters that are part of a V2 signature's resource.
V2_SUBRESOURCES = frozenset((
    "acl", "cors", "delete", "lifecycle", "location", "logging", "notification",
    "partNumber", "policy", "requestPayment", "response-cache-control",
    "response-content-disposition", "response-content-encoding",
    "response-content-language", "response-content-type", "response-expires", "restore",
    "tagging", "torrent", "uploadId", "uploads", "versionId", "versioning", "versions",
    "website", "object-lock", "retention", "legal-hold"))

QueryPairs = list[tuple[bytes, bytes]]


@dataclasses.dataclass
class AuthDetails:
    """What the auth filter needs to check one S3 request, and what it found."""

    access_key: str
    signature: str
    string_to_sign: bytes
    version: int
    amz_date: str = ""
    scope: str = ""
    scope_parts: tuple[str, str, str] = ("", "", "")  # date, region, service
    payload_hash: str = ""
    # Filled by check_signature (V4): signs each aws-chunked chunk.
    signing_key: Optional[bytes] = dataclasses.field(default=None, repr=False)
    # Filled by the auth filter.
    account: Optional[str] = None
    error: Optional[str] = None

    def check_signature(self, secret: str) -> bool:
        """True if the request was signed with ``secret``."""
        if self.version == 2:
            return signing.signatures_equal(
                signing.v2_signature(secret, self.string_to_sign), self.signature)
        key = signing.v4_signing_key(secret, *self.scope_parts)
        if not signing.signatures_equal(signing.v4_signature(key, self.string_to_sign),
                                        self.signature):
            return False
        self.signing_key = key
        return True


def parse_query(query_string: str) -> QueryPairs:
    """``(name, value)`` bytes pairs, percent-decoded (``+`` stays ``+``, as AWS signs it)."""
    pairs: QueryPairs = []
    for item in wsgi_to_bytes(query_string).split(b"&"):
        if not item:
            continue
        name, _, value = item.partition(b"=")
        pairs.append((unquote_to_bytes(name), unquote_to_bytes(value)))
    return pairs


def underscore_headers(environ: dict) -> list[tuple[str, str]]:
    """The request's header fields named with "_" (lower-case names), as sent."""
    return [(name.lower(), value) for name, value in environ.get(UNDERSCORE_HEADERS, ())]


def _header(environ: dict, name: str) -> Optional[str]:
    if name == "content-type":
        return environ.get("CONTENT_TYPE")
    if name == "content-length":
        return environ.get("CONTENT_LENGTH")
    if "_" in name:
        values = [value for field, value in underscore_headers(environ) if field == name]
        return ",".join(values) if values else None
    return environ.get("HTTP_" + name.upper().replace("-", "_"))


def _parse_http_date(text: str) -> Optional[float]:
    parsed = email.utils.parsedate_tz(text)
    return None if parsed is None else float(email.utils.mktime_tz(parsed))


def _presigned_v4_expires(text: str) -> int:
    """X-Amz-Expires in seconds, refused with the reason a client can act on."""
    try:
        expires = int(text)
    except ValueError:
        expires = None
    if expires is None or expires >= 2 ** 63:
        raise S3Error("AuthorizationQueryParametersError", "X-Amz-Expires should be a number")
    if expires < 0:
        raise S3Error("AuthorizationQueryParametersError",
                      "X-Amz-Expires must be non-negative")
    if expires > MAX_PRESIGN_SECONDS:
        raise S3Error("AuthorizationQueryParametersError",
                      "X-Amz-Expires must be less than a week (in seconds); that is, the "
                      "given X-Amz-Expires must be less than %d seconds" % MAX_PRESIGN_SECONDS)
    return expires


def _parse_amz_date(text: str) -> Optional[float]:
    """``YYYYMMDDTHHMMSSZ`` as seconds (every signed request has one: read
    without strptime, which costs more than the rest of the date checks)."""
    if not _AMZ_DATE.match(text):
        return None
    fields = (int(text[0:4]), int(text[4:6]), int(text[6:8]), int(text[9:11]),
              int(text[11:13]), int(text[13:15]))
    try:
        datetime.datetime(*fields)  # refuses 20260230T..., hour 24 and the like
    except ValueError:
        return None
    return float(calendar.timegm(fields + (0, 0, 0)))


def _check_skew(when: Optional[float], now: float) -> None:
    if when is None:
        raise S3Error("AccessDenied", "AWS authentication requires a valid Date or "
                      "x-amz-date header")
    if abs(when - now) > MAX_SKEW_SECONDS:
        raise S3Error("RequestTimeTooSkewed")


class AuthReader:
    """Turns a request's environ into :class:`AuthDetails` (or None: anonymous)."""

    def __init__(self, location: str, clock: Callable[[], float] = time.time):
        self.location = location
        self.clock = clock

    def read(self, environ: dict, query: QueryPairs, v2_resource: bytes
             ) -> Optional[AuthDetails]:
        authorization = environ.get("HTTP_AUTHORIZATION", "")
        names = {name for name, _value in query}
        if authorization.startswith(signing.V4_ALGORITHM + " "):
            return self._v4_header(environ, query, authorization)
        if authorization.startswith("AWS "):
            return self._v2(environ, query, v2_resource, authorization[4:], None)
        if authorization:
            raise S3Error("AccessDenied", "Unsupported Authorization type")
        if b"X-Amz-Algorithm" in names:
            return self._v4_presigned(environ, query)
        if b"AWSAccessKeyId" in names:
            values = dict(query)
            expires = values.get(b"Expires", b"").decode("latin-1")
            credential = "%s:%s" % (values[b"AWSAccessKeyId"].decode("utf-8", "replace"),
                                    values.get(b"Signature", b"").decode("latin-1"))
            return self._v2(environ, query, v2_resource, credential, expires)
        return None

    # -- V4 -------------------------------------------------------------

    def _v4_header(self, environ: dict, query: QueryPairs, authorization: str
                   ) -> AuthDetails:
        fields: dict[str, str] = {}
        for part in authorization[len(signing.V4_ALGORITHM):].split(","):
            name, sep, value = part.strip().partition("=")
            if sep:
                fields[name] = value
        if not {"Credential", "SignedHeaders", "Signature"} <= set(fields):
            raise S3Error("AuthorizationHeaderMalformed",
                          "The authorization header is malformed; it needs Credential, "
                          "SignedHeaders and Signature.")
        amz_date = environ.get("HTTP_X_AMZ_DATE", "")
        when = _parse_amz_date(amz_date) if amz_date else \
            _parse_http_date(environ.get("HTTP_DATE", ""))
        _check_skew(when, self.clock())
        if not amz_date:
            amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(when))
        payload_hash = environ.get("HTTP_X_AMZ_CONTENT_SHA256")
        if payload_hash is None:
            raise S3Error("InvalidRequest",
                          "Missing required header for this request: x-amz-content-sha256")
        if payload_hash not in _PAYLOAD_MODES and not _HEX_SHA256.match(payload_hash):
            raise S3Error("InvalidArgument", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "
                          "a STREAMING- mode, or a SHA-256 in hex",
                          ArgumentName="x-amz-content-sha256", ArgumentValue=payload_hash)
        return self._v4_details(environ, query, fields["Credential"],
                                fields["SignedHeaders"], fields["Signature"], amz_date,
                                payload_hash.lower() if len(payload_hash) == 64
                                else payload_hash, "AuthorizationHeaderMalformed")

    def _v4_presigned(self, environ: dict, query: QueryPairs) -> AuthDetails:
        values = {name.decode("latin-1"): value.decode("utf-8", "replace")
                  for name, value in query}
        needed = ("X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders",
                  "X-Amz-Signature", "X-Amz-Expires")
        if values.get("X-Amz-Algorithm") != signing.V4_ALGORITHM or \
                any(name not in values for name in needed):
            raise S3Error("AuthorizationQueryParametersError",
                          "Query-string authentication version 4 requires the "
                          "X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, "
                          "X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
        when = _parse_amz_date(values["X-Amz-Date"])
        expires = _presigned_v4_expires(values["X-Amz-Expires"])
        if when is None:
            raise S3Error("AuthorizationQueryParametersError",
                          "X-Amz-Date must be in the ISO8601 Long Format YYYYMMDDTHHMMSSZ")
        now = self.clock()
        if when - now > MAX_SKEW_SECONDS:
            raise S3Error("RequestTimeTooSkewed")
        if now > when + expires:
            raise S3Error("AccessDenied", "Request has expired")
        unsigned_query = [(name, value) for name, value in query
                          if name != b"X-Amz-Signature"]
        return self._v4_details(environ, unsigned_query, values["X-Amz-Credential"],
                                values["X-Amz-SignedHeaders"], values["X-Amz-Signature"],
                                values["X-Amz-Date"], UNSIGNED_PAYLOAD,
                                "AuthorizationQueryParametersError")

    def _v4_details(self, environ: dict, query: QueryPairs, credential: str,
                    signed_headers: str, signature: str, amz_date: str, payload_hash: str,
                    malformed_code: str) -> AuthDetails:
        parts = credential.rsplit("/", 4)
        if len(parts) != 5 or parts[4] != "aws4_request" or not parts[0]:
            raise S3Error(malformed_code, "The credential must be "
                          "<access key>/<date>/<region>/s3/aws4_request")
        access_key, date, region, service = parts[:4]
        if region != self.location:
            raise S3Error(malformed_code, "the region '%s' is wrong; expecting '%s'"
                          % (region, self.location), Region=self.location)
        if service != "s3" or date != amz_date[:8]:
            raise S3Error(malformed_code, "The credential's date must be the request's "
                          "and its service s3")
        names = signed_headers.lower().split(";")
        if "host" not in names:
            raise S3Error(malformed_code, "SignedHeaders must include host")
        headers = [(name, signing.canonical_header_value(_header(environ, name) or ""))
                   for name in sorted(names)]
        path = wsgi_to_bytes(environ.get("RAW_PATH_INFO") or environ.get("PATH_INFO", "/"))
        canonical = signing.v4_canonical_request(
            environ["REQUEST_METHOD"], unquote_to_bytes(path.split(b"?", 1)[0]),
            signing.canonical_query(query), headers, ";".join(sorted(names)), payload_hash)
        scope = "%s/%s/%s/aws4_request" % (date, region, service)
        return AuthDetails(
            access_key=_access_key(access_key), signature=signature, version=4,
            string_to_sign=signing.v4_string_to_sign(amz_date, scope, canonical),
            amz_date=amz_date, scope=scope, scope_parts=(date, region, service),
            payload_hash=payload_hash)

    # -- V2 -------------------------------------------------------------

    def _v2(self, environ: dict, query: QueryPairs, resource: bytes, credential: str,
            expires: Optional[str]) -> AuthDetails:
        access_key, sep, signature = credential.rpartition(":")
        if not sep or not access_key:
            raise S3Error("AccessDenied", "AWS authorization header is invalid: expected "
                          "AccessKeyId:signature")
        now = self.clock()
        if expires is not None:
            if not expires.isdigit():
                raise S3Error("AccessDenied", "Expires must be seconds since the epoch")
            if int(expires) < now:
                raise S3Error("AccessDenied", "Request has expired")
            if int(expires) >= MAX_V2_EXPIRES:
                raise S3Error("AccessDenied", "Invalid date (should be seconds since epoch): "
                              "%s" % expires)
            date_line = expires
        else:
            amz_date = environ.get("HTTP_X_AMZ_DATE")
            _check_skew(_parse_http_date(amz_date or environ.get("HTTP_DATE", "")), now)
            date_line = "" if amz_date else environ.get("HTTP_DATE", "")
        amz_headers: dict[str, list[str]] = {}
        for key, value in environ.items():
            if key.startswith("HTTP_X_AMZ_"):
                name = key[5:].lower().replace("_", "-")
                amz_headers.setdefault(name, []).append(value.strip())
        for name, value in underscore_headers(environ):
            if name.startswith("x-amz-"):
                amz_headers.setdefault(name, []).append(value.strip())
        lines = [environ["REQUEST_METHOD"], environ.get("HTTP_CONTENT_MD5", ""),
                 environ.get("CONTENT_TYPE", ""), date_line]
        lines.extend("%s:%s" % (name, ",".join(amz_headers[name]))
                     for name in sorted(amz_headers))
        subresources = sorted(
            (name.decode("latin-1"), value) for name, value in query
            if name.decode("latin-1") in V2_SUBRESOURCES)
        if subresources:
            resource += b"?" + b"&".join(
                name.encode("latin-1") + (b"=" + value if value else b"")
                for name, value in subresources)
        string_to_sign = ("\n".join(lines) + "\n").encode("latin-1") + resource
        return AuthDetails(access_key=_access_key(access_key), signature=signature,
                           string_to_sign=string_to_sign, version=2)


def _access_key(wsgi_text: str) -> str:
    """The access key as text (WSGI strings carry UTF-8 bytes as latin-1)."""
    try:
        return wsgi_text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return wsgi_text
