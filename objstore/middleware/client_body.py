"""Reading a client's JSON or XML request body with limits, for every middleware.

A body is hostile input: a client can send more bytes than anyone should
buffer, or nest ``[`` a hundred thousand deep so that Python's parsers hit
the recursion limit (a 500 with a traceback, or worse, a dead worker).  So
the size is bounded while reading, and the nesting depth is measured on the
raw bytes *before* any parser sees them.  Every middleware that parses a
client's JSON or XML (SLO manifests, account ACLs, later bulk and S3) goes
through here, so the limits and the client-facing reasons are the same
everywhere.
"""
from __future__ import annotations

import json
from typing import Any, Optional, Union
from xml.etree import ElementTree

from objstore.common.http_wire import HttpParseError

# Deep enough for any document the API defines (an SLO manifest is 2 levels).
DEFAULT_MAX_DEPTH = 32
READ_CHUNK = 65536


class BodyError(ValueError):
    """A body we refuse; ``status`` (400, 413, 499) and ``reason`` are for the client."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def read_client_body(environ: dict, max_bytes: int, what: str = "Request body") -> bytes:
    """The whole request body, refusing (413) more than ``max_bytes``.

    A declared ``Content-Length`` over the limit is refused before reading a
    byte; a chunked body is refused as soon as it crosses the limit.
    """
    raw_length = environ.get("CONTENT_LENGTH") or ""
    length: Optional[int] = None
    if raw_length.strip():
        if not raw_length.strip().isdigit():
            raise BodyError(400, "Invalid Content-Length")
        length = int(raw_length)
        if length > max_bytes:
            raise BodyError(413, "%s > %d bytes" % (what, max_bytes))
    reader = environ["wsgi.input"]
    parts, size = [], 0
    while length is None or size < length:
        want = READ_CHUNK if length is None else min(READ_CHUNK, length - size)
        try:
            chunk = reader.read(want)
        except HttpParseError as err:
            # A chunked body that breaks its framing: the client's fault (400).
            raise BodyError(err.status, err.reason) from None
        except (OSError, ValueError) as err:
            raise BodyError(499, "Client disconnect while sending the body (%s)" % err) \
                from None
        if not chunk:
            break
        size += len(chunk)
        if size > max_bytes:
            raise BodyError(413, "%s > %d bytes" % (what, max_bytes))
        parts.append(chunk)
    if length is not None and size < length:
        raise BodyError(499, "Client disconnect: body ended after %d of %d bytes"
                        % (size, length))
    return b"".join(parts)


# Only brackets survive, with ``{}`` spelled ``[]``: depth does not care which kind.
_BRACKETS_ONLY = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
TOO_DEEP = "too deep"
UNBALANCED = "unbalanced"


def json_nesting_problem(body: bytes, max_depth: int) -> Optional[str]:
    """None when the brackets of ``body`` (outside strings) balance within ``max_depth``;
    else :data:`TOO_DEEP` or :data:`UNBALANCED`.

    Escapes are dropped first (backslash pairs, then escaped quotes), so every
    quote left opens or closes a string and the text between quote pairs can
    be cut out.  Of the rest only brackets are kept, and innermost pairs are
    stripped once per level: whatever is left after ``max_depth`` passes
    nests too deep.  Every step is a linear byte operation, so a hostile body
    of megabytes costs little.  (On invalid JSON the count may differ from a
    parser's, but only after the point where that parser stops with an error.)
    """
    unescaped = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    pieces = unescaped.split(b'"')
    if len(pieces) % 2 == 0:
        return UNBALANCED               # a string never ends
    skeleton = b"".join(pieces[0::2]).translate(_BRACKETS_ONLY, _NOT_BRACKET)
    if skeleton.count(b"[") * 2 != len(skeleton):
        return UNBALANCED
    for _level in range(max_depth):
        if not skeleton:
            return None
        inner_removed = skeleton.replace(b"[]", b"")
        if len(inner_removed) == len(skeleton):
            return UNBALANCED
        skeleton = inner_removed
    return TOO_DEEP if skeleton else None


def _reject_constant(name: str) -> Any:
    raise ValueError("%s is not JSON" % name)


def load_json(body: Union[bytes, str], max_depth: int = DEFAULT_MAX_DEPTH,
              what: str = "Body") -> Any:
    """Parse JSON text, refusing (400) bad syntax, bad UTF-8 and excessive nesting."""
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    problem = json_nesting_problem(raw, max_depth)
    if problem == TOO_DEEP:
        raise BodyError(400, "%s must be valid JSON nested at most %d levels deep"
                        % (what, max_depth))
    if problem is not None:
        raise BodyError(400, "%s must be valid JSON" % what)
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise BodyError(400, "%s must be valid JSON" % what) from None


def load_xml(body: bytes, max_depth: int = DEFAULT_MAX_DEPTH,
             what: str = "Body") -> ElementTree.Element:
    """Parse an XML document, refusing (400) bad syntax, DTDs and excessive nesting.

    No request the API defines carries a DTD, and a DTD is how entity
    expansion bombs and external entities get in, so any is refused.
    """
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise BodyError(400, "%s must not contain a DTD" % what)
    parser = ElementTree.XMLPullParser(events=("start", "end"))
    depth = 0
    root: Optional[ElementTree.Element] = None
    try:
        for offset in range(0, max(len(body), 1), READ_CHUNK):
            parser.feed(body[offset:offset + READ_CHUNK])
            for event, element in parser.read_events():
                if event == "start":
                    depth += 1
                    if depth > max_depth:
                        raise BodyError(400, "%s must be XML nested at most %d levels deep"
                                        % (what, max_depth))
                    if root is None:
                        root = element
                else:
                    depth -= 1
        parser.close()
    except ElementTree.ParseError:
        raise BodyError(400, "%s must be well-formed XML" % what) from None
    if root is None:
        raise BodyError(400, "%s must be well-formed XML" % what)
    return root
