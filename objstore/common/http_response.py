"""Short plain-text answers, as WSGI responses and as raw bytes on the wire.

Every layer answers an error the same way: a one-line body that tells the
client what to fix, labelled ``text/html; charset=UTF-8`` because Swift's
clients and functional tests compare that type byte for byte.  The protocol class uses
:func:`plain_reply_bytes` before there is any WSGI app to ask; everything
above it uses :func:`plain_response`.
"""
from __future__ import annotations

from http import HTTPStatus
from types import MappingProxyType
from typing import Mapping, Optional

from webob import Response

PLAIN_TEXT = "text/plain; charset=UTF-8"
ANSWER_CONTENT_TYPE = "text/html; charset=UTF-8"
# Status codes HTTPStatus lacks that objstore answers.
EXTRA_REASON_PHRASES = MappingProxyType({499: "Client Disconnect"})


def reason_phrase(status: int) -> str:
    if status in EXTRA_REASON_PHRASES:
        return EXTRA_REASON_PHRASES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def plain_response(status: int, reason: str = "", headers: Optional[Mapping] = None,
                   request_method: str = "GET") -> Response:
    """A short answer; the reason tells the client what to fix."""
    resp = Response(status="%d %s" % (status, reason_phrase(status)))
    resp.headers["Content-Type"] = ANSWER_CONTENT_TYPE
    if headers:
        for key, value in headers.items():
            resp.headers[key] = str(value)
    if reason and status not in (204, 304) and request_method != "HEAD":
        resp.body = reason.encode("utf-8")
    else:
        resp.body = b""
        if status in (204, 304):
            resp.headers.pop("Content-Type", None)
            resp.headers.pop("Content-Length", None)
    return resp


def json_response(body: bytes) -> Response:
    """A 200 carrying an already encoded JSON document (backend answers)."""
    return Response(status=200, body=body, content_type="application/json", charset=None)


def plain_reply_bytes(status: int, reason: str) -> bytes:
    """A whole HTTP/1.1 reply that closes the connection, for errors before any app runs."""
    body = (reason + "\n").encode("utf-8")
    return (b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
            b"Connection: close\r\n\r\n%s" % (status, reason_phrase(status).encode("ascii"),
                                              PLAIN_TEXT.encode("ascii"), len(body), body))
