"""The AWS signature computations (V4 and V2), free of any request object.

Kept apart from :mod:`.auth` (which reads a request into these inputs) so
each formula is one small function a unit test can check against AWS's
published examples.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
from typing import Iterable
from urllib.parse import quote

V4_ALGORITHM = "AWS4-HMAC-SHA256"
V4_CHUNK_ALGORITHM = "AWS4-HMAC-SHA256-PAYLOAD"
V4_TRAILER_ALGORITHM = "AWS4-HMAC-SHA256-TRAILER"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def uri_encode(raw: bytes, encode_slash: bool = True) -> str:
    """AWS's UriEncode: every byte but A-Z a-z 0-9 - _ . ~ as %XY (upper case)."""
    return quote(raw, safe="~" if encode_slash else "/~")


def canonical_query(pairs: Iterable[tuple[bytes, bytes]]) -> str:
    """Query pairs encoded, then sorted by name and value, joined with ``&``."""
    encoded = sorted((uri_encode(name), uri_encode(value)) for name, value in pairs)
    return "&".join("%s=%s" % pair for pair in encoded)


def canonical_header_value(value: str) -> str:
    """Trimmed, with runs of spaces inside folded to one."""
    return " ".join(value.strip().split())


def v4_canonical_request(method: str, path: bytes, query: str,
                         headers: list[tuple[str, str]], signed_headers: str,
                         payload_hash: str) -> bytes:
    """Header values are WSGI strings (latin-1 stand-ins for the bytes sent)."""
    lines = [method, uri_encode(path, encode_slash=False), query]
    lines.extend("%s:%s" % (name, value) for name, value in headers)
    lines += ["", signed_headers, payload_hash]
    return "\n".join(lines).encode("latin-1")


def v4_string_to_sign(amz_date: str, scope: str, canonical_request: bytes) -> bytes:
    return "\n".join([V4_ALGORITHM, amz_date, scope,
                      hashlib.sha256(canonical_request).hexdigest()]).encode("utf-8")


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


@functools.lru_cache(maxsize=1024)
def v4_signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """Four HMACs that change once a day per user: kept (bounded), not redone
    for every request."""
    key = _hmac(("AWS4" + secret).encode("utf-8"), date)
    key = _hmac(key, region)
    key = _hmac(key, service)
    return _hmac(key, "aws4_request")


def v4_signature(signing_key: bytes, string_to_sign: bytes) -> str:
    return hmac.new(signing_key, string_to_sign, hashlib.sha256).hexdigest()


def v4_chunk_signature(signing_key: bytes, amz_date: str, scope: str, previous: str,
                       chunk_sha256: str) -> str:
    """The signature of one aws-chunked chunk, chained to the one before it."""
    text = "\n".join([V4_CHUNK_ALGORITHM, amz_date, scope, previous, EMPTY_SHA256,
                      chunk_sha256]).encode("utf-8")
    return v4_signature(signing_key, text)


def v4_trailer_signature(signing_key: bytes, amz_date: str, scope: str, previous: str,
                         trailer: bytes) -> str:
    text = "\n".join([V4_TRAILER_ALGORITHM, amz_date, scope, previous,
                      hashlib.sha256(trailer).hexdigest()]).encode("utf-8")
    return v4_signature(signing_key, text)


def v2_signature(secret: str, string_to_sign: bytes) -> str:
    digest = hmac.new(secret.encode("utf-8"), string_to_sign, hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def signatures_equal(computed: str, given: str) -> bool:
    return hmac.compare_digest(computed.encode("ascii", "replace"),
                               given.encode("ascii", "replace"))
