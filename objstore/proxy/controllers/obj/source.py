"""One node's answer to an object GET or HEAD, opened and not yet read.

Every object controller strategy reads from nodes this way (a replica's
body, later an erasure-coded fragment's); what to do with several answers is
the strategy's business.
"""
from __future__ import annotations

from typing import Mapping, Optional

from objstore.common.backend_client import (BackendConnection, BackendError, NodeResponse,
                                            quote_backend_path)
from objstore.common.concurrency import Timeout
from objstore.common.timestamp import InvalidTimestamp, Timestamp
from objstore.proxy.node_health import NodeHealth


class Source:
    """An open answer from one node (headers read, body not yet)."""

    def __init__(self, node: dict, conn: BackendConnection, resp: NodeResponse,
                 method: str = "GET"):
        self.node = node
        self.method = method
        self.conn = conn
        self.resp = resp
        self.status = resp.status
        self.headers = {k.lower(): v for k, v in resp.getheaders()}
        self.header_items = resp.getheaders()
        self.body = b""              # filled for answers read whole (errors, HEAD)

    def _stamp(self, *names: str) -> Timestamp:
        raw = next((self.headers[n] for n in names if self.headers.get(n)), None)
        try:
            return Timestamp(raw) if raw else Timestamp(0)
        except InvalidTimestamp:
            return Timestamp(0)

    @property
    def timestamp(self) -> Timestamp:
        """When the object (or the tombstone) was last written, metadata included."""
        return self._stamp("x-backend-timestamp", "x-timestamp")

    @property
    def data_timestamp(self) -> Timestamp:
        """When the body was written (a POST changes ``timestamp``, not this)."""
        return self._stamp("x-backend-data-timestamp", "x-backend-timestamp", "x-timestamp")

    @property
    def freshness(self) -> tuple:
        """Ordering key: newest body first, then newest metadata."""
        return (self.data_timestamp, self.timestamp)

    @property
    def is_tombstone(self) -> bool:
        return self.status == 404 and bool(self.headers.get("x-backend-timestamp"))

    @property
    def is_answer(self) -> bool:
        """A definite answer about the object (not 'I do not have it', not an error)."""
        return self.status < 500 and self.status != 404

    def close(self) -> None:
        self.conn.close()


class SourceOpener:
    """Opens GET/HEAD requests to nodes, counting failures against node health."""

    def __init__(self, health: NodeHealth, part: int, path: str, method: str,
                 conn_timeout: float, node_timeout: float):
        self.health = health
        self.part = part
        self.path = path
        self.method = method
        self.conn_timeout = conn_timeout
        self.node_timeout = node_timeout

    def open(self, node: dict, headers: Mapping[str, str], query_string: str = "",
             method: Optional[str] = None) -> Optional[Source]:
        method = method or self.method
        try:
            with Timeout(self.conn_timeout + self.node_timeout + 1):
                conn = BackendConnection(node["ip"], node["port"], self.conn_timeout,
                                         self.node_timeout)
                try:
                    conn.putrequest(method,
                                    quote_backend_path(node["device"], self.part, self.path),
                                    headers, query_string)
                    resp = conn.getresponse()
                except BaseException:
                    conn.close()
                    raise
        except (BackendError, Timeout) as err:
            self.health.error_occurred(node, "%s %s: %s" % (method, self.path,
                                                            err or "timeout"))
            return None
        source = Source(node, conn, resp, method)
        if source.status == 507:
            self.health.limit_now(node, "insufficient storage (507)")
        elif source.status >= 500:
            self.health.error_occurred(node, "%s %s answered %d" % (
                method, self.path, source.status))
        if source.status >= 500 or method == "HEAD" or not source.is_answer:
            _drain(source)
        return source


def _drain(source: Source) -> None:
    """Read a small body (error text) and close, so nothing is left half-read."""
    try:
        with Timeout(2):
            source.body = source.resp.read(65536)
    except (OSError, Timeout):
        source.body = b""
    source.close()
