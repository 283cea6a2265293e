"""The benchmark's HTTP side: Swift v1 auth and a cheap keep-alive client.

Raw ``http.client`` on purpose: on a 2-core machine the client shares the
CPU with the servers under test, so it must cost as little as possible per
request: no swiftclient layers, no body checksums, one connection per
client thread kept alive across requests.
"""

from __future__ import annotations

import http.client
import socket
from dataclasses import dataclass
from typing import Iterator, Optional
from urllib.parse import urlsplit

MIB = 1024 * 1024
REQUEST_TIMEOUT = 60.0


@dataclass
class Session:
    """Where requests go and the token they carry."""
    host: str
    port: int
    base_path: str  # quoted storage path, e.g. /v1/AUTH_test
    token: str


def authenticate(auth_url: str, user: str, key: str) -> Session:
    """Swift v1 auth: GET the auth URL with X-Auth-User/X-Auth-Key."""
    parts = urlsplit(auth_url)
    if parts.scheme != "http":
        raise SystemExit("only http:// endpoints are supported")
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80,
                                      timeout=REQUEST_TIMEOUT)
    try:
        conn.request("GET", parts.path or "/auth/v1.0",
                     headers={"X-Auth-User": user, "X-Auth-Key": key})
        resp = conn.getresponse()
        resp.read()
    except (OSError, http.client.HTTPException) as exc:
        raise SystemExit(f"cannot reach {auth_url}: {exc}") from None
    finally:
        conn.close()
    if resp.status // 100 != 2:
        raise SystemExit(f"auth at {auth_url} failed: {resp.status}")
    storage = urlsplit(resp.getheader("X-Storage-Url"))
    return Session(storage.hostname, storage.port or 80, storage.path,
                   resp.getheader("X-Auth-Token"))


class Client:
    """One keep-alive connection that reconnects after any failure."""

    def __init__(self, session: Session, timeout: float = REQUEST_TIMEOUT):
        self.session = session
        self.timeout = timeout
        self.conn: Optional[http.client.HTTPConnection] = None

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(
                self.session.host, self.session.port, timeout=self.timeout)
            self.conn.connect()
            self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method: str, path: str, body: bytes = b"") -> tuple:
        """Send one request, read the whole answer; return (status, length)."""
        status, data = self.request_body(method, path, body)
        return status, len(data)

    def request_body(self, method: str, path: str,
                     body: bytes = b"") -> tuple:
        """Send one request; return (status, response body bytes)."""
        headers = {"X-Auth-Token": self.session.token}
        if method == "PUT":
            headers["Content-Type"] = "application/octet-stream"
        try:
            conn = self._connection()
            conn.request(method, self.session.base_path + path, body=body,
                         headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            if resp.will_close:
                self.close()
            return resp.status, data
        except (OSError, http.client.HTTPException):
            self.close()
            raise

    def put_stream(self, path: str, size: int, chunks: Iterator) -> int:
        """PUT `size` bytes taken from `chunks`, with a Content-Length."""
        try:
            conn = self._connection()
            conn.putrequest("PUT", self.session.base_path + path)
            conn.putheader("X-Auth-Token", self.session.token)
            conn.putheader("Content-Length", str(size))
            conn.putheader("Content-Type", "application/octet-stream")
            conn.endheaders()
            for chunk in chunks:
                conn.send(chunk)
            resp = conn.getresponse()
            resp.read()
            if resp.will_close:
                self.close()
            return resp.status
        except (OSError, http.client.HTTPException):
            self.close()
            raise

    def get_stream(self, path: str) -> tuple:
        """GET and discard the body in 1 MiB reads; return (status, bytes)."""
        try:
            conn = self._connection()
            conn.request("GET", self.session.base_path + path,
                         headers={"X-Auth-Token": self.session.token})
            resp = conn.getresponse()
            received = 0
            buf = bytearray(MIB)
            while True:
                n = resp.readinto(buf)
                if not n:
                    break
                received += n
            if resp.will_close:
                self.close()
            return resp.status, received
        except (OSError, http.client.HTTPException):
            self.close()
            raise
