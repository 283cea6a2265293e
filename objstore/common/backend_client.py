"""HTTP from one cluster node to another (proxy → storage, storage → storage, daemons).

Two shapes:
- :func:`backend_request` for small request/response exchanges (container
  updates, HEADs, listings): it sends, reads the whole answer and closes.
- :class:`BackendConnection` for streaming object bodies: the caller sends
  headers with ``Expect: 100-continue``, waits to learn whether the node will
  take the body, then streams chunks and finally reads the response.  That lets
  the proxy pick a handoff before sending a single body byte to a dead node.

Sockets come from the green socket module so a caller never blocks the hub.
Connect and response timeouts are socket timeouts; a timeout or refused
connection raises :class:`BackendError`, which callers treat as a failed node.
"""
from __future__ import annotations

import http.client
import socket as std_socket
import urllib.parse
from typing import Any, Iterable, Mapping, Optional

from webob.headers import ResponseHeaders

from objstore.common.concurrency import green_socket
from objstore.common.logs import TRANS_ID_HEADER, get_trans_id

DEFAULT_CONN_TIMEOUT = 0.5
DEFAULT_RESPONSE_TIMEOUT = 15.0


class BackendError(OSError):
    """A node could not be reached or did not answer in time."""


def quote_backend_path(device: str, partition: int | str, path: str) -> str:
    """``/<device>/<partition>/<quoted account/container/object path>``."""
    if not path.startswith("/"):
        path = "/" + path
    return "/%s/%s%s" % (urllib.parse.quote(str(device)), partition,
                         urllib.parse.quote(path, safe="/"))


class _Response(http.client.HTTPResponse):
    """An HTTPResponse whose status line may already have been read (after Expect)."""

    _preread_status: Optional[tuple] = None

    def _read_status(self) -> tuple:  # type: ignore[override]
        if self._preread_status is not None:
            status, self._preread_status = self._preread_status, None
            return status
        return super()._read_status()


class BackendConnection:
    """One request to a node, sent piece by piece."""

    def __init__(self, ip: str, port: int, conn_timeout: float = DEFAULT_CONN_TIMEOUT,
                 response_timeout: float = DEFAULT_RESPONSE_TIMEOUT):
        self.host = ip
        self.port = int(port)
        self.response_timeout = response_timeout
        self.chunked = False
        self.final_response: Optional[_Response] = None
        self._response: Optional[_Response] = None
        self._continued = False
        try:
            family = std_socket.AF_INET6 if ":" in ip else std_socket.AF_INET
            sock = green_socket.socket(family, std_socket.SOCK_STREAM)
            sock.settimeout(conn_timeout)
            sock.connect((ip, self.port))
            sock.setsockopt(std_socket.IPPROTO_TCP, std_socket.TCP_NODELAY, 1)
            sock.settimeout(response_timeout)
        except (OSError, std_socket.timeout) as err:
            raise BackendError("connect to %s:%s failed: %s" % (ip, port, err)) from None
        self.sock = sock

    def putrequest(self, method: str, url_path: str, headers: Optional[Mapping[str, Any]] = None,
                   query_string: str = "", chunked: bool = False) -> None:
        """Send the request line and headers (``url_path`` already quoted)."""
        target = url_path + ("?" + query_string if query_string else "")
        lines = ["%s %s HTTP/1.1" % (method, target), "Host: %s:%s" % (self.host, self.port)]
        have = set()
        for key, value in (headers or {}).items():
            if value is None:
                continue
            text = str(value)
            if "\r" in text or "\n" in text or "\r" in key or "\n" in key:
                raise ValueError("header %r holds a line break" % key)
            lines.append("%s: %s" % (key, text))
            have.add(key.lower())
        if TRANS_ID_HEADER.lower() not in have and get_trans_id() != "-":
            lines.append("%s: %s" % (TRANS_ID_HEADER, get_trans_id()))
        if chunked:
            lines.append("Transfer-Encoding: chunked")
        self.chunked = chunked
        self.method = method
        payload = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "surrogateescape")
        self._sendall(payload)
        self._response = _Response(self.sock, method=method)

    def _sendall(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except (OSError, std_socket.timeout) as err:
            raise BackendError("send to %s:%s failed: %s" % (self.host, self.port, err)) from None

    def expect_continue(self) -> int:
        """Wait for ``100 Continue`` (returns 100) or an early final status (returns it)."""
        assert self._response is not None, "putrequest first"
        try:
            status = self._response._read_status()
        except (OSError, std_socket.timeout, http.client.HTTPException) as err:
            raise BackendError("no answer from %s:%s: %s" % (self.host, self.port, err)) from None
        if status[1] == 100:
            http.client.parse_headers(self._response.fp)
            self._continued = True
            return 100
        self._response._preread_status = status
        return status[1]

    def send(self, data: bytes) -> None:
        """Send body bytes (framed as a chunk when the request is chunked)."""
        if self.chunked:
            if not data:
                return
            self._sendall(b"%x\r\n%s\r\n" % (len(data), data))
        else:
            self._sendall(data)

    def finish(self) -> None:
        """End a chunked body (no-op for a fixed-length body)."""
        if self.chunked:
            self._sendall(b"0\r\n\r\n")

    def getresponse(self) -> http.client.HTTPResponse:
        assert self._response is not None, "putrequest first"
        if self.final_response is None:
            try:
                self._response.begin()
            except (OSError, std_socket.timeout, http.client.HTTPException) as err:
                raise BackendError("bad answer from %s:%s: %s" % (
                    self.host, self.port, err)) from None
            self.final_response = self._response
        return self.final_response

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class BackendResponse:
    """A whole, already read answer from a node."""

    def __init__(self, status: int, reason: str, headers: ResponseHeaders, body: bytes):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def __repr__(self) -> str:
        return "<BackendResponse %d %s>" % (self.status, self.reason)

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300


def response_headers(resp: http.client.HTTPResponse) -> ResponseHeaders:
    """Headers of a raw response as a case-insensitive multi-dict."""
    return ResponseHeaders(list(resp.getheaders()))


def backend_request(ip: str, port: int, device: str, partition: int | str, method: str,
                    path: str, headers: Optional[Mapping[str, Any]] = None,
                    body: bytes | Iterable[bytes] = b"", query_string: str = "",
                    conn_timeout: float = DEFAULT_CONN_TIMEOUT,
                    response_timeout: float = DEFAULT_RESPONSE_TIMEOUT) -> BackendResponse:
    """Send one request to a node and read the whole response."""
    send_headers = dict(headers or {})
    body_bytes = body if isinstance(body, bytes) else b"".join(body)
    if body_bytes or method in ("PUT", "POST"):
        send_headers.setdefault("Content-Length", str(len(body_bytes)))
    send_headers.setdefault("Connection", "close")
    conn = BackendConnection(ip, port, conn_timeout, response_timeout)
    try:
        conn.putrequest(method, quote_backend_path(device, partition, path),
                        send_headers, query_string)
        if body_bytes:
            conn.send(body_bytes)
        resp = conn.getresponse()
        try:
            data = resp.read()
        except (OSError, std_socket.timeout, http.client.HTTPException) as err:
            raise BackendError("reading from %s:%s failed: %s" % (ip, port, err)) from None
        return BackendResponse(resp.status, resp.reason, response_headers(resp), data)
    finally:
        conn.close()
