"""HTTP from one cluster node to another (proxy → storage, storage → storage, daemons).

Two shapes:
- :func:`backend_request` for small request/response exchanges (container
  updates, HEADs, listings): it sends and reads the whole answer.
- :class:`BackendConnection` for streaming object bodies: the caller sends
  headers with ``Expect: 100-continue``, waits to learn whether the node will
  take the body, then streams chunks and finally reads the response.  That lets
  the proxy pick a handoff before sending a single body byte to a dead node.

Connections are kept alive and reused (:class:`IdleConnections`): on this
CPU-bound cluster a connect, an accept and a fresh server green thread per
backend request cost more than the request itself.  A connection goes back to
the pool only after a request whose body was wholly sent and whose answer was
wholly read and did not say ``Connection: close``; anything else closes it.

Sockets come from the green socket module so a caller never blocks the hub.
Connect and response timeouts are socket timeouts; a timeout or refused
connection raises :class:`BackendError`, which callers treat as a failed node.
"""
from __future__ import annotations

import errno
import functools
import os
import re
import socket as std_socket
import time
import urllib.parse
import weakref
from typing import Any, Iterable, Mapping, Optional, Sequence

from webob.headers import ResponseHeaders

from objstore.common.concurrency import green_socket
from objstore.common.http_body import ChunkedDecoder
from objstore.common.http_text import bytes_to_wsgi, wsgi_to_bytes
from objstore.common.http_wire import (HeadLimits, HttpParseError, first_value,
                                       parse_content_length, read_field_lines, strip_line_end)
from objstore.common.logs import TRANS_ID_HEADER, get_trans_id
from objstore.common.reserved_names import ALLOW_RESERVED_HEADER

# More bytes follow at once: let the kernel hold a small write for them.
_MSG_MORE = getattr(std_socket, "MSG_MORE", 0)

# A NUL in a name, as quote_backend_path writes it (a literal "%00" becomes "%2500").
RESERVED_IN_QUOTED_PATH = "%00"
DEFAULT_CONN_TIMEOUT = 0.5
DEFAULT_RESPONSE_TIMEOUT = 15.0
# Our own nodes answer: room for every metadata item an object may carry.
NODE_RESPONSE_LIMITS = HeadLimits(max_line=65536, max_header_count=1024,
                                  max_head_bytes=1 << 20)
_STATUS_LINE = re.compile(rb"HTTP/1\.[0-9] ([0-9]{3})(?: (.*))?\Z")


# Idle connections kept per node, and for how long.  Storage servers drop a
# connection after ``client_timeout`` (60 s by default) of silence; leaving
# well before that keeps a reused socket from racing the server's close.
MAX_IDLE_PER_NODE = 32
MAX_IDLE_SECONDS = 20.0


class BackendError(OSError):
    """A node could not be reached or did not answer in time."""


class StaleConnection(BackendError):
    """A reused connection turned out closed before any answer byte came back."""


def _peer_closed(sock: Any) -> bool:
    """True when an idle socket has hit EOF, been reset, or holds unread bytes
    (an idle keep-alive connection must be silent)."""
    # The raw socket: a green socket would wait for readability instead.
    raw = getattr(sock, "fd", sock)
    try:
        raw.recv(1, std_socket.MSG_PEEK | std_socket.MSG_DONTWAIT)
        return True
    except BlockingIOError:
        return False
    except OSError:
        return True


class IdleConnections:
    """Idle keep-alive sockets to nodes, newest last, per (ip, port).

    One instance per process (green threads share it; forked workers each
    start with it empty).  No locking: green threads switch only on I/O, and
    nothing here does I/O except the non-blocking liveness peek.
    """

    def __init__(self, max_per_node: int = MAX_IDLE_PER_NODE,
                 max_idle_seconds: float = MAX_IDLE_SECONDS):
        self.max_per_node = max_per_node
        self.max_idle_seconds = max_idle_seconds
        self._idle: dict[tuple[str, int], list[tuple[float, Any]]] = {}
        # A forked child must not share its parent's sockets.  Told once, at
        # the fork, rather than by a getpid() in every take and give (1.2% of
        # a busy proxy's CPU).
        os.register_at_fork(after_in_child=functools.partial(_forget_in_child,
                                                             weakref.ref(self)))

    def take(self, key: tuple[str, int]) -> Optional[Any]:
        """A live idle socket to ``key``, or None."""
        stack = self._idle.get(key)
        now = time.monotonic()
        while stack:
            since, sock = stack.pop()
            if now - since < self.max_idle_seconds and not _peer_closed(sock):
                return sock
            _close_quietly(sock)
        return None

    def give(self, key: tuple[str, int], sock: Any) -> None:
        """Keep ``sock`` for the next request to ``key`` (or close it when full)."""
        stack = self._idle.setdefault(key, [])
        if len(stack) >= self.max_per_node:
            _close_quietly(stack.pop(0)[1])
        stack.append((time.monotonic(), sock))

    def clear(self) -> None:
        for stack in self._idle.values():
            for _since, sock in stack:
                _close_quietly(sock)
        self._idle.clear()

    def forget(self) -> None:
        """Drop every socket: they are the parent process's (dropping our copies
        leaves its own open)."""
        self._idle = {}


def _forget_in_child(ref: "weakref.ref[IdleConnections]") -> None:
    idle = ref()
    if idle is not None:
        idle.forget()


IDLE_CONNECTIONS = IdleConnections()


def _close_quietly(sock: Any) -> None:
    try:
        sock.close()
    except OSError:
        pass


def quote_backend_path(device: str, partition: int | str | None, path: str) -> str:
    """``/<device>/<partition>/<quoted account/container/object path>``.

    A request to a whole device (the object server's ``EXPIRE``) has no
    partition and no path: ``/<device>``.
    """
    if partition is None and not path:
        return "/" + urllib.parse.quote(str(device))
    if not path.startswith("/"):
        path = "/" + path
    return "/%s/%s%s" % (urllib.parse.quote(str(device)), partition,
                         urllib.parse.quote(path, safe="/"))


class NodeResponse:
    """A node's answer read off the connection: status, headers, then the body as framed.

    The status line can be read on its own first (:meth:`read_status`), which
    is how a ``100 Continue`` is told from an early final answer.
    """

    def __init__(self, sock: Any, method: str, limits: HeadLimits = NODE_RESPONSE_LIMITS):
        self.rfile = sock.makefile("rb")
        self.method = method
        self.limits = limits
        self.status = 0
        self.reason = ""
        self.headers: list[tuple[str, str]] = []
        self._status_read = False
        self._remaining: Optional[int] = None
        self._decoder: Optional[ChunkedDecoder] = None
        self._done = False

    def read_status(self) -> int:
        """Read the status line (once); returns the status code."""
        if not self._status_read:
            line = self.rfile.readline(self.limits.max_line + 1)
            if not line:
                raise BackendError("connection closed before a status line")
            try:
                match = _STATUS_LINE.match(strip_line_end(line))
            except HttpParseError:
                match = None
            if match is None:
                raise BackendError("bad status line %r" % line[:80])
            self.status = int(match.group(1))
            self.reason = bytes_to_wsgi(match.group(2) or b"")
            self._status_read = True
        return self.status

    def skip_interim(self) -> None:
        """Drop a 1xx answer's header section so the next status line can be read."""
        self._read_fields()
        self._status_read = False

    def _read_fields(self) -> list[tuple[str, str]]:
        try:
            return read_field_lines(self.rfile.readline, self.limits)
        except HttpParseError as err:
            raise BackendError("bad response headers: %s" % err.reason) from None

    def begin(self) -> None:
        """Read the final status and headers, and learn how the body is framed."""
        while self.read_status() < 200:
            self.skip_interim()
        self.headers = self._read_fields()
        if self.method == "HEAD" or self.status in (204, 304):
            self._done = True
            return
        coding = first_value(self.headers, "transfer-encoding")
        length = first_value(self.headers, "content-length")
        try:
            if coding is not None:
                if coding.strip().lower() != "chunked":
                    raise BackendError("unsupported Transfer-Encoding %r" % coding)
                self._decoder = ChunkedDecoder(self.rfile)
            elif length is not None:
                self._remaining = parse_content_length(length.strip())
        except HttpParseError as err:
            raise BackendError("bad response framing: %s" % err.reason) from None

    def getheaders(self) -> list[tuple[str, str]]:
        return list(self.headers)

    def getheader(self, name: str, default: Optional[str] = None) -> Optional[str]:
        value = first_value(self.headers, name.lower())
        return default if value is None else value

    def read(self, amt: Optional[int] = None) -> bytes:
        """Up to ``amt`` body bytes (all of it when None); b"" once the body ended."""
        if self._done:
            return b""
        try:
            if self._decoder is not None:
                data = self._decoder.read(amt)
                self._done = self._decoder.done
            elif self._remaining is not None:
                want = self._remaining if amt is None else min(amt, self._remaining)
                data = self.rfile.read(want)
                if len(data) < want and (amt is None or not data):
                    raise BackendError("body ended %d bytes early" % (self._remaining - len(data)))
                self._remaining -= len(data)
                self._done = self._remaining == 0
            else:
                # Neither length nor chunking: the body runs to the connection's end.
                data = self.rfile.read() if amt is None else self.rfile.read1(amt)
                self._done = not data or amt is None
        except HttpParseError as err:
            raise BackendError("bad response body: %s" % err.reason) from None
        return data

    def close(self) -> None:
        self._done = True
        self.rfile.close()


class BackendConnection:
    """One request to a node, sent piece by piece, on a pooled or new connection."""

    def __init__(self, ip: str, port: int, conn_timeout: float = DEFAULT_CONN_TIMEOUT,
                 response_timeout: float = DEFAULT_RESPONSE_TIMEOUT,
                 pool: Optional[IdleConnections] = None):
        self.host = ip
        self.port = int(port)
        self.conn_timeout = conn_timeout
        self.response_timeout = response_timeout
        self.chunked = False
        self.final_response: Optional[NodeResponse] = None
        self._response: Optional[NodeResponse] = None
        self._continued = False
        self._pool = IDLE_CONNECTIONS if pool is None else pool
        self._head = b""
        self._replay_body = b""
        self._body_left: Optional[int] = 0     # None: chunked, not yet finished
        self._body_started = False
        self._unpooled_sock: Any = None
        self.sock = self._pool.take((ip, self.port))
        self.reused = self.sock is not None
        if self.sock is None:
            self.sock = self._connect()
        else:
            self.sock.settimeout(response_timeout)

    def _connect(self) -> Any:
        try:
            family = std_socket.AF_INET6 if ":" in self.host else std_socket.AF_INET
            sock = green_socket.socket(family, std_socket.SOCK_STREAM)
            sock.settimeout(self.conn_timeout)
            sock.connect((self.host, self.port))
            sock.setsockopt(std_socket.IPPROTO_TCP, std_socket.TCP_NODELAY, 1)
            sock.settimeout(self.response_timeout)
        except (OSError, std_socket.timeout) as err:
            raise BackendError("connect to %s:%s failed: %s" % (
                self.host, self.port, err)) from None
        return sock

    def putrequest(self, method: str, url_path: str, headers: Optional[Mapping[str, Any]] = None,
                   query_string: str = "", chunked: bool = False,
                   body: Optional[bytes] = None) -> None:
        """Send the request line and headers (``url_path`` already quoted).

        ``body``, a fixed-length body held in memory, goes in the same write
        as the headers: one segment on the wire instead of two, and it is
        kept so that a request which met a stale pooled connection can go
        again whole.
        """
        target = url_path + ("?" + query_string if query_string else "")
        lines = ["%s %s HTTP/1.1" % (method, target), "Host: %s:%s" % (self.host, self.port)]
        have = set()
        body_length = 0
        for key, value in (headers or {}).items():
            if value is None:
                continue
            text = str(value)
            if "\r" in text or "\n" in text or "\r" in key or "\n" in key:
                raise ValueError("header %r holds a line break" % key)
            lines.append("%s: %s" % (key, text))
            lowered = key.lower()
            have.add(lowered)
            if lowered == "content-length":
                try:
                    body_length = int(text)
                except ValueError:
                    body_length = -1       # never reusable: framing unknown
        if RESERVED_IN_QUOTED_PATH in url_path and ALLOW_RESERVED_HEADER.lower() not in have:
            # the sender already passed the proxy's reserved-name gate (or is a
            # storage node updating another): say so, or the node refuses the NUL
            lines.append("%s: true" % ALLOW_RESERVED_HEADER)
        if TRANS_ID_HEADER.lower() not in have and get_trans_id() != "-":
            lines.append("%s: %s" % (TRANS_ID_HEADER, get_trans_id()))
        if chunked:
            lines.append("Transfer-Encoding: chunked")
        self.chunked = chunked
        self.method = method
        self._body_left = None if chunked else body_length
        # Header values are WSGI strings: each character stands for one byte.
        self._head = wsgi_to_bytes("\r\n".join(lines) + "\r\n\r\n")
        payload = self._head
        if body:
            if chunked:
                raise ValueError("a body held in memory is sent with its Content-Length")
            self._replay_body = body
            self._body_left = body_length - len(body)
            payload += body
        try:
            self._sendall(payload)
        except BackendError:
            if not self.reused:
                raise
            self._resend_head_on_new_connection()
            return
        self._response = NodeResponse(self.sock, method)

    def _sendall(self, data: bytes, flags: int = 0) -> None:
        try:
            self.sock.sendall(data, flags)
        except (OSError, std_socket.timeout) as err:
            raise BackendError("send to %s:%s failed: %s" % (self.host, self.port, err)) from None

    def _may_retry(self, err: BaseException) -> bool:
        """A reused connection the node had closed, found before any body byte
        was sent or any answer byte read: the request can go again on a new one."""
        if not self.reused or self._body_started:
            return False
        if isinstance(err, std_socket.timeout):
            return False
        if isinstance(err, BackendError) and "before a status line" in str(err):
            return True
        return getattr(err, "errno", None) in (errno.ECONNRESET, errno.EPIPE)

    def _resend_head_on_new_connection(self) -> None:
        _close_quietly(self.sock)
        self.reused = False
        self.sock = self._connect()
        self._sendall(self._head + self._replay_body)
        self._response = NodeResponse(self.sock, self.method)

    def expect_continue(self) -> int:
        """Wait for ``100 Continue`` (returns 100) or an early final status (returns it)."""
        assert self._response is not None, "putrequest first"
        try:
            try:
                status = self._response.read_status()
            except (OSError, std_socket.timeout) as err:
                if not self._may_retry(err):
                    raise
                self._resend_head_on_new_connection()
                status = self._response.read_status()
            if status == 100:
                self._response.skip_interim()
                self._continued = True
        except (OSError, std_socket.timeout) as err:
            raise BackendError("no answer from %s:%s: %s" % (self.host, self.port, err)) from None
        self.reused = False        # the node answered: this connection is live
        return status

    def send(self, data: bytes) -> None:
        """Send body bytes (framed as a chunk when the request is chunked).

        A chunk's framing goes in a small write of its own (the previous
        chunk's closing CRLF and this one's size line, flagged MSG_MORE so
        the kernel joins it to the data): copying each chunk into a framed
        buffer cost as much CPU per byte as a CRC32.
        """
        if not data:
            return
        if self.chunked:
            closing = b"\r\n" if self._body_started else b""
            self._body_started = True
            self._sendall(b"%s%x\r\n" % (closing, len(data)), _MSG_MORE)
            self._sendall(data)
        else:
            self._body_started = True
            self._sendall(data)
            if self._body_left is not None:
                self._body_left -= len(data)

    def finish(self, trailer: Optional[Mapping[str, str]] = None) -> None:
        """End a chunked body, with ``trailer`` fields (no-op for a fixed-length body)."""
        if self.chunked:
            closing = b"\r\n" if self._body_started else b""
            lines = []
            for name, value in (trailer or {}).items():
                if any(c in name + value for c in "\r\n"):
                    raise ValueError("trailer field %r holds a line break" % name)
                lines.append("%s: %s\r\n" % (name, value))
            self._sendall(closing + b"0\r\n" + wsgi_to_bytes("".join(lines)) + b"\r\n")
            self._body_left = 0

    def getresponse(self) -> NodeResponse:
        assert self._response is not None, "putrequest first"
        if self.final_response is None:
            try:
                try:
                    self._response.begin()
                except (OSError, std_socket.timeout) as err:
                    if not self._may_retry(err) or self._body_left != 0:
                        raise
                    self._resend_head_on_new_connection()
                    self._response.begin()
            except (OSError, std_socket.timeout) as err:
                raise BackendError("bad answer from %s:%s: %s" % (
                    self.host, self.port, err)) from None
            self.final_response = self._response
        return self.final_response

    def _reusable(self) -> bool:
        """Both directions ended exactly on a message boundary, and the node
        did not ask to close."""
        resp = self.final_response
        if resp is None or self._body_left != 0:
            return False
        if not resp._done and resp._remaining != 0:
            return False
        if resp._remaining is None and resp._decoder is None and resp.method != "HEAD" \
                and resp.status not in (204, 304):
            return False                   # body delimited by the close itself
        connection = (resp.getheader("connection") or "").lower()
        return "close" not in connection

    def close(self) -> None:
        """Give the connection back for reuse when it is clean, else close it."""
        sock, self.sock = self.sock, None
        if sock is None:
            return
        if self._reusable():
            self._pool.give((self.host, self.port), sock)
        else:
            _close_quietly(sock)
            # The answer's reader may still hold it open: abort() can still end it.
            self._unpooled_sock = sock

    def abort(self) -> None:
        """End the connection now, mid-request: the node sees it end and drops the request.

        ``close`` alone leaves the descriptor open while the answer's reader
        still refers to the socket, so a node would wait out its client
        timeout holding what it reserved for the body.
        """
        sock = self.sock or self._unpooled_sock
        self.sock = self._unpooled_sock = None
        if sock is None:
            return
        try:
            sock.shutdown(std_socket.SHUT_RDWR)
        except OSError:
            pass
        if self._response is not None:
            self._response.close()
        _close_quietly(sock)    # never back to the pool: the request was cut short


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


def response_headers(resp: NodeResponse) -> ResponseHeaders:
    """Headers of a raw response as a case-insensitive multi-dict."""
    return ResponseHeaders(list(resp.getheaders()))


def backend_request(ip: str, port: int, device: str, partition: int | str | None, method: str,
                    path: str, headers: Optional[Mapping[str, Any]] = None,
                    body: bytes | Iterable[bytes] = b"", query_string: str = "",
                    conn_timeout: float = DEFAULT_CONN_TIMEOUT,
                    response_timeout: float = DEFAULT_RESPONSE_TIMEOUT) -> BackendResponse:
    """Send one request to a node and read the whole response."""
    send_headers = dict(headers or {})
    body_bytes = body if isinstance(body, bytes) else b"".join(body)
    if body_bytes or method in ("PUT", "POST"):
        send_headers.setdefault("Content-Length", str(len(body_bytes)))
    conn = BackendConnection(ip, port, conn_timeout, response_timeout)
    try:
        conn.putrequest(method, quote_backend_path(device, partition, path),
                        send_headers, query_string, body=body_bytes)
        resp = conn.getresponse()
        try:
            data = resp.read()
        except (OSError, std_socket.timeout) as err:
            raise BackendError("reading from %s:%s failed: %s" % (ip, port, err)) from None
        return BackendResponse(resp.status, resp.reason, response_headers(resp), data)
    finally:
        conn.close()


def node_request(node: Mapping[str, Any], partition: int | str | None, method: str, path: str,
                 headers: Optional[Mapping[str, Any]] = None, query_string: str = "", *,
                 body: bytes = b"", conn_timeout: float = DEFAULT_CONN_TIMEOUT,
                 response_timeout: float = DEFAULT_RESPONSE_TIMEOUT,
                 logger: Any = None, who: str = "") -> Optional[BackendResponse]:
    """:func:`backend_request` to a ring device; None (logged) when it cannot be reached.

    Daemons count an unreachable replica as one failed answer among several,
    so the failure is a value here, not an exception.
    """
    try:
        return backend_request(node["ip"], int(node["port"]), node["device"], partition,
                               method, path, headers=headers, body=body,
                               query_string=query_string, conn_timeout=conn_timeout,
                               response_timeout=response_timeout)
    except (BackendError, OSError) as err:
        if logger is not None:
            logger.warning("%s: %s %s to %s:%s/%s failed: %s", who, method, path,
                           node["ip"], node["port"], node["device"], err)
        return None


def update_shares(writers: Sequence[Mapping[str, Any]],
                  targets: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """Which of ``targets`` each of ``writers`` must tell of its write, every target once.

    A write to several replicas asks each node to update some replicas of
    the database above it (``X-Container`` for an object, ``X-Account`` for
    a container).  A writer first takes a target in its own place (the same
    region, zone and IP: on one host, that is a loopback request); the other
    targets fill the remaining writers in ring order, and any left over go
    round the writers again.  Pairing by place also means a node tells the
    same replica of a container about all its writes there, so an object
    server's updates for one container gather into one batch; pairing by
    ring position would spread them over every replica.
    """
    if not writers:
        return []
    shares: list[list[Mapping[str, Any]]] = [[] for _ in writers]
    unpaired = list(targets)
    for share, writer in zip(shares, writers):
        place = _place(writer)
        for target in unpaired:
            if _place(target) == place:
                share.append(target)
                unpaired.remove(target)
                break
    empty = [share for share in shares if not share]
    for share, target in zip(empty, unpaired):
        share.append(target)
    for j, target in enumerate(unpaired[len(empty):]):
        shares[j % len(shares)].append(target)
    return shares


def _place(node: Mapping[str, Any]) -> tuple:
    return (node.get("region"), node.get("zone"), node.get("ip"))


def share_headers(prefix: str, share: Sequence[Mapping[str, Any]],
                  partition: int | str) -> dict[str, str]:
    """``<prefix>-Host/-Device/-Partition`` naming the targets in ``share``; empty for none."""
    if not share:
        return {}
    return {prefix + "-Host": ",".join("%s:%s" % (t["ip"], t["port"]) for t in share),
            prefix + "-Device": ",".join(t["device"] for t in share),
            prefix + "-Partition": str(partition)}
