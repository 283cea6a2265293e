"""Parsing an HTTP/1.1 request head and deciding its body length (RFC 9112).

Pure functions over bytes, no sockets: the protocol class
(:mod:`objstore.common.http_protocol`) feeds them lines and turns a
:class:`HttpParseError` into one well-formed error reply and a closed
connection.  The rules are strict on purpose: a front-end cache or load
balancer that frames a message differently from us is how a second request
gets smuggled inside a body, so whatever is ambiguous is refused, never
guessed at.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Iterable, Optional

from objstore.common.http_text import bytes_to_wsgi, wsgi_to_bytes

# RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "."
#                          / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
# A field value never holds NUL, CR or LF (RFC 9110 §5.5: reject them).  Other
# control bytes are kept, as the RFC allows and Swift's clients expect (a
# Content-Type with \x02 is stored); the headers that frame a message are
# held to their own grammar (digits, tokens), so \v there is still refused.
_BAD_VALUE_BYTE = re.compile(rb"[\x00\r\n]")
# A request-target: anything but control bytes and space.  Raw bytes above
# 0x7F are let through so UTF-8 names reach the app, which judges them.
_BAD_TARGET_BYTE = re.compile(rb"[\x00-\x20\x7f]")
_VERSION = re.compile(rb"HTTP/([0-9])\.([0-9])\Z")
_DIGITS = re.compile(rb"[0-9]+\Z")
# Longest Content-Length we read: 10**19 bytes is far past any object.
MAX_CONTENT_LENGTH_DIGITS = 19


class HttpParseError(ValueError):
    """The message can't be read as HTTP/1.1: answer ``status`` and close."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class HeadLimits:
    """How much of a request head the server reads before refusing it (400)."""

    max_line: int = 8192
    max_header_count: int = 154
    max_head_bytes: int = 65536


@dataclasses.dataclass
class RequestLine:
    method: str
    target: bytes
    version: str  # "HTTP/1.1" or "HTTP/1.0"


def is_token(name: bytes) -> bool:
    return _TOKEN.match(name) is not None


def strip_line_end(line: bytes) -> bytes:
    """A head line without its CRLF (a bare LF is accepted, RFC 9112 §2.2)."""
    if line.endswith(b"\r\n"):
        return line[:-2]
    if line.endswith(b"\n"):
        return line[:-1]
    raise HttpParseError(400, "Bad Request (line not terminated)")


def parse_request_line(line: bytes) -> RequestLine:
    """``method SP request-target SP HTTP-version``, split on single spaces only.

    Splitting on any whitespace would let a raw byte such as 0x85 inside a
    UTF-8 name break the line; every other byte of the target goes to the app.
    """
    line = strip_line_end(line)
    parts = line.split(b" ")
    if len(parts) != 3:
        raise HttpParseError(400, "Bad Request (malformed request line)")
    method, target, version = parts
    if not is_token(method):
        raise HttpParseError(400, "Bad Request (invalid method)")
    if not target or _BAD_TARGET_BYTE.search(target):
        raise HttpParseError(400, "Bad Request (invalid request target)")
    match = _VERSION.match(version)
    if match is None:
        raise HttpParseError(400, "Bad Request (invalid HTTP version)")
    if match.group(1) != b"1":
        raise HttpParseError(505, "HTTP Version Not Supported")
    # Any HTTP/1.x is answered as HTTP/1.1 (RFC 9110 §6.2); 1.0 keeps its rules.
    label = "HTTP/1.0" if match.group(2) == b"0" else "HTTP/1.1"
    return RequestLine(method.decode("ascii"), target, label)


def parse_field_line(line: bytes) -> tuple[str, str]:
    """One ``name: value`` line (without its line end) → (name, value) as WSGI strings."""
    if line[:1] in (b" ", b"\t"):
        raise HttpParseError(400, "Bad Request (obsolete line folding)")
    name, colon, value = line.partition(b":")
    if not colon:
        raise HttpParseError(400, "Bad Request (header line without a colon)")
    if not is_token(name):
        raise HttpParseError(400, "Bad Request (invalid header name)")
    value = value.strip(b" \t")
    if _BAD_VALUE_BYTE.search(value):
        raise HttpParseError(400, "Bad Request (invalid header value)")
    return name.decode("ascii"), bytes_to_wsgi(value)


def read_field_lines(readline, limits: HeadLimits) -> list[tuple[str, str]]:
    """Header (or trailer) lines up to the blank line, with ``limits`` enforced.

    ``readline(n)`` reads one line of at most ``n`` bytes, as file objects do.
    """
    fields: list[tuple[str, str]] = []
    total = 0
    while True:
        raw = readline(limits.max_line + 1)
        if not raw:
            raise HttpParseError(400, "Bad Request (headers ended early)")
        if len(raw) > limits.max_line:
            raise HttpParseError(400, "Bad Request (header line too long)")
        total += len(raw)
        if total > limits.max_head_bytes:
            raise HttpParseError(400, "Bad Request (headers too large)")
        line = strip_line_end(raw)
        if not line:
            return fields
        if len(fields) >= limits.max_header_count:
            raise HttpParseError(400, "Bad Request (too many headers; max %d)"
                                 % limits.max_header_count)
        fields.append(parse_field_line(line))


@dataclasses.dataclass
class BodyFraming:
    """How long the body is: ``chunked``, or exactly ``length`` bytes."""

    chunked: bool
    length: int


def _values(fields: Iterable[tuple[str, str]], name: str) -> list[str]:
    return [value for key, value in fields if key.lower() == name]


def parse_content_length(value: str) -> int:
    raw = wsgi_to_bytes(value)
    if not _DIGITS.match(raw) or len(raw) > MAX_CONTENT_LENGTH_DIGITS:
        raise HttpParseError(400, "Bad Request (invalid Content-Length)")
    return int(raw)


def request_body_framing(fields: list[tuple[str, str]], version: str) -> BodyFraming:
    """The request body's length per RFC 9112 §6.3, or the error that ends the connection.

    Only a single, final ``chunked`` coding is understood; Transfer-Encoding
    with Content-Length, several Content-Length values, or one that is not
    all digits can't be framed exactly and are refused.
    """
    codings_raw = _values(fields, "transfer-encoding")
    lengths = _values(fields, "content-length")
    if codings_raw:
        if version == "HTTP/1.0":
            raise HttpParseError(400, "Bad Request (Transfer-Encoding in an HTTP/1.0 request)")
        if lengths:
            raise HttpParseError(400, "Bad Request (Transfer-Encoding with Content-Length)")
        codings = [item.strip(" \t").lower()
                   for value in codings_raw for item in value.split(",")]
        if any(not coding or not is_token(wsgi_to_bytes(coding)) for coding in codings):
            raise HttpParseError(400, "Bad Request (invalid Transfer-Encoding)")
        if codings[-1] != "chunked" or codings.count("chunked") != 1:
            raise HttpParseError(400, "Bad Request (chunked must be the one final "
                                 "Transfer-Encoding)")
        if len(codings) != 1:
            raise HttpParseError(501, "Not Implemented (Transfer-Encoding %s)"
                                 % ", ".join(codings[:-1]))
        return BodyFraming(chunked=True, length=0)
    if len(lengths) > 1:
        raise HttpParseError(400, "Bad Request (several Content-Length headers)")
    if lengths:
        return BodyFraming(chunked=False, length=parse_content_length(lengths[0]))
    return BodyFraming(chunked=False, length=0)


def target_path_and_query(target: bytes) -> tuple[bytes, bytes]:
    """Split a request-target into (path, query); an absolute-form target loses its authority."""
    lowered = target[:8].lower()
    if lowered.startswith(b"http://") or lowered.startswith(b"https://"):
        rest = target.split(b"//", 1)[1]
        slash = rest.find(b"/")
        target = rest[slash:] if slash >= 0 else b"/"
    path, _sep, query = target.partition(b"?")
    return path, query


def first_value(fields: list[tuple[str, str]], name: str) -> Optional[str]:
    values = _values(fields, name)
    return values[0] if values else None
