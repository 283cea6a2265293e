"""objstore's HTTP/1.1 server protocol: how a request is read off a connection.

eventlet's handler keeps the connection loop and the response writer; this
class replaces everything that reads.  It owns:

- the request line, split on single spaces only, so raw UTF-8 bytes in a path
  reach the app (which answers 412 for invalid UTF-8 or NUL);
- the header section, parsed strictly (token names, no folding, no control
  bytes) up to a header cap taken from the cluster's constraints, so too many
  metadata headers meet the metadata check's 400 instead of a 431;
- the body's framing (:func:`request_body_framing`) and a strict reader;
- the WSGI environ: no default ``Content-Type`` (the proxy guesses one from
  the object name), the real ``SERVER_PROTOCOL``;
- what happens to a body the app left unread: drained when small, otherwise
  the connection closes.

Whatever can't be framed exactly gets one well-formed error reply with a
status line and ``Connection: close``, and the connection is closed; the
bytes that follow are never read as a request.
"""
from __future__ import annotations

import errno
import socket
import ssl
import urllib.parse
from typing import Any, Callable, Optional

from objstore.common import concurrency
from objstore.common.http_body import RequestInput
from objstore.common.http_response import plain_reply_bytes
from objstore.common.http_text import bytes_to_wsgi
from objstore.common.http_wire import (HeadLimits, HttpParseError, RequestLine, first_value,
                                       parse_request_line, read_field_lines,
                                       request_body_framing, target_path_and_query)

# Blank lines a client may send before a request line (RFC 9112 §2.2).
MAX_LEADING_BLANK_LINES = 4
# How long, and for how many bytes, a connection closed after an error keeps
# reading what the client still sends, so the error reply is not lost to a
# TCP reset.
LINGER_SECONDS = 1.0
LINGER_BYTES = 1 << 20
# A body the app left unread (an early 401 or 413) is read and dropped up to
# this size, so a client that sends its whole body before reading gets the
# answer and the connection carries the next request; past it the connection
# closes.  128 MiB covers the largest request bodies clients send whole before
# reading (an S3 multi-delete of 1,000 long keys is about 100 MB).
MAX_DISCARD_BYTES = 128 << 20
CONTINUE_LINE = b"HTTP/1.1 100 Continue\r\n\r\n"
# A client that hung up while we answered: nothing to report.
CLIENT_GONE_ERRNOS = frozenset((errno.EPIPE, errno.ECONNRESET, errno.ESHUTDOWN))
# An app sets this environ key (to True) when its answer's header names must go
# out exactly as written (``ETag``, lower-case ``x-amz-meta-*``): S3 clients and
# some AWS SDKs read them so.  Every other answer keeps eventlet's
# capitalised names (``Etag``), which Swift's clients have always seen.
HEADER_NAMES_AS_WRITTEN = "objstore.header_names_as_written"
# Header fields whose names hold "_", as sent: never under HTTP_* keys (see
# _environ), kept apart for the filters that must see them (S3 signs them).
UNDERSCORE_HEADERS = "objstore.underscore_headers"


class FieldLines:
    """A request's header fields in order, with a case-insensitive ``get``."""

    def __init__(self, fields: list[tuple[str, str]]):
        self.fields = fields

    def get(self, name: str, default: Any = None) -> Any:
        value = first_value(self.fields, name.lower())
        return default if value is None else value


class HttpProtocol(concurrency.HttpProtocolBase):
    """One connection's requests, read strictly (see the module docstring)."""

    head_limits = HeadLimits()
    max_discard_bytes = MAX_DISCARD_BYTES

    @property
    def capitalize_response_headers(self) -> bool:
        """Read by eventlet's start_response, per answer (see HEADER_NAMES_AS_WRITTEN)."""
        environ = getattr(self, "environ", None) or {}
        return self._capitalize_by_default and not environ.get(HEADER_NAMES_AS_WRITTEN)

    @capitalize_response_headers.setter
    def capitalize_response_headers(self, value: bool) -> None:
        # eventlet's handler copies the server-wide setting here when it starts.
        self._capitalize_by_default = value

    def _read_request_line(self) -> bytes:
        try:
            return super()._read_request_line()
        except ssl.SSLError:
            # On an HTTPS port: a failed handshake (plain HTTP, an untrusted
            # or broken client).  Nothing can be answered; the connection ends.
            self.close_connection = 1
            return b""

    def handle_one_request(self) -> None:
        if self.server.max_http_version:
            self.protocol_version = self.server.max_http_version
        self.headers = FieldLines([])
        self.close_connection = 1
        self.request_version = "HTTP/1.1"
        self.command = ""
        self.requestline = ""
        line = self._read_request_line()
        blanks = 0
        while line in (b"\r\n", b"\n") and blanks < MAX_LEADING_BLANK_LINES:
            blanks += 1
            line = self._read_request_line()
        self.conn_state[2] = concurrency.CONNECTION_BUSY
        if not line:
            self.close_connection = 1
            return
        try:
            request = self._read_head(line)
        except HttpParseError as err:
            self._refuse(err.status, err.reason)
            return
        except OSError:
            # The client went away (or stalled) in the middle of its head.
            self.close_connection = 1
            return
        self.environ = self._environ(request)
        self.application = self.server.app
        self.server.outstanding_requests += 1
        try:
            self.handle_one_response()
        except OSError as err:
            if err.errno not in CLIENT_GONE_ERRNOS:
                raise
            self.close_connection = 1
        finally:
            self.server.outstanding_requests -= 1

    def _read_head(self, line: bytes) -> RequestLine:
        if not line.endswith(b"\n"):
            if len(line) >= self.server.url_length_limit:
                raise HttpParseError(414, "URI Too Long")
            raise HttpParseError(400, "Bad Request (request line ended early)")
        request = parse_request_line(line)
        self.command = request.method
        self.request_version = request.version
        self.requestline = bytes_to_wsgi(line.rstrip(b"\r\n"))
        fields = read_field_lines(self.rfile.readline, self.head_limits)
        self.headers = FieldLines(fields)
        self.framing = request_body_framing(fields, request.version)
        options = {item.strip(" \t").lower()
                   for value in (v for k, v in fields if k.lower() == "connection")
                   for item in value.split(",")}
        # HTTP/1.1 keeps the connection unless told otherwise; HTTP/1.0 only when asked.
        self.close_connection = int("close" in options or (
            request.version == "HTTP/1.0" and "keep-alive" not in options))
        if request.version == "HTTP/1.1" and first_value(fields, "host") is None:
            raise HttpParseError(400, "Bad Request (no Host header)")
        return request

    def _environ(self, request: RequestLine) -> dict:
        env = self.server.get_environ()
        path, query = target_path_and_query(request.target)
        env["REQUEST_METHOD"] = request.method
        env["SCRIPT_NAME"] = ""
        env["RAW_PATH_INFO"] = bytes_to_wsgi(path)
        env["PATH_INFO"] = urllib.parse.unquote(bytes_to_wsgi(path), encoding="latin-1")
        env["QUERY_STRING"] = bytes_to_wsgi(query)
        env["SERVER_PROTOCOL"] = request.version
        server_addr = self.request.getsockname()
        client_addr = self.client_address
        if isinstance(server_addr, tuple):
            env["SERVER_NAME"], env["SERVER_PORT"] = server_addr[0], str(server_addr[1])
        if isinstance(client_addr, tuple):
            env["REMOTE_ADDR"], env["REMOTE_PORT"] = client_addr[0], str(client_addr[1])
        env["GATEWAY_INTERFACE"] = "CGI/1.1"
        underscored = env[UNDERSCORE_HEADERS] = []
        for name, value in self.headers.fields:
            if "_" in name:
                # X_Foo and X-Foo would land in one environ key: a client could
                # then pass a header past a check that looks at the other one.
                underscored.append((name, value))
                continue
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                env[key] = value
                continue
            key = "HTTP_" + key
            env[key] = env[key] + "," + value if key in env else value
        send_continue = None
        if env.get("HTTP_EXPECT", "").lower() == "100-continue":
            send_continue = self._send_continue
        body = RequestInput(self.rfile, self.framing.chunked, self.framing.length,
                            send_continue, self._close_after_response,
                            max_discard=self.max_discard_bytes)
        env["wsgi.input"] = env["eventlet.input"] = body
        env["eventlet.posthooks"] = []  # the response writer runs these hooks
        return env

    def _send_continue(self) -> None:
        self.wfile.write(CONTINUE_LINE)
        self.wfile.flush()

    def _close_after_response(self) -> None:
        self.close_connection = 1
        self._linger = True

    def _refuse(self, status: int, reason: str) -> None:
        """One error reply, then a closed connection."""
        self.close_connection = 1
        self._linger = True
        try:
            self.wfile.write(plain_reply_bytes(status, reason))
            self.wfile.flush()
        except OSError:
            pass

    def finish(self) -> None:
        body = getattr(self, "environ", {}).get("eventlet.input")
        if getattr(self, "_linger", False) or (body is not None and not body.finished):
            self._drain_before_close()
        super().finish()

    def _drain_before_close(self) -> None:
        """Read what the client still sends after our last reply, then let finish() close.

        Closing a socket with unread input makes the kernel send a reset,
        which can destroy the reply before the client reads it.
        """
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(LINGER_SECONDS)
            drained = 0
            with concurrency.Timeout(LINGER_SECONDS, False):
                while drained < LINGER_BYTES:
                    data = self.connection.recv(65536)
                    if not data:
                        break
                    drained += len(data)
        except (OSError, ValueError):
            pass


def protocol_with_limits(head_limits: HeadLimits,
                         max_discard_bytes: int = MAX_DISCARD_BYTES) -> type:
    """A protocol class for one server, with its own head limits."""
    return type("HttpProtocol", (HttpProtocol,), {
        "head_limits": head_limits, "max_discard_bytes": max_discard_bytes})


def serve_http(sock: Any, app: Callable, *, head_limits: Optional[HeadLimits] = None,
               max_clients: int = 1024, client_timeout: Optional[float] = 60.0,
               keepalive: bool = True) -> None:
    """Serve ``app`` on the listening green ``sock`` with :class:`HttpProtocol`."""
    limits = head_limits or HeadLimits()
    concurrency.serve_wsgi(sock, app, max_clients=max_clients, client_timeout=client_timeout,
                           keepalive=keepalive, protocol=protocol_with_limits(limits),
                           max_request_line=limits.max_line)
