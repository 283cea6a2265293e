"""Streaming an object body to several nodes at once, with bounded memory.

Each :class:`Putter` owns one ``BackendConnection`` and one green thread that
sends queued chunks.  The queue is short (``put_queue_depth`` chunks), so a
slow node slows the upload instead of letting the proxy buffer it; a node
that fails is dropped (its queue keeps draining into nowhere so the reader
never blocks on it) and the upload carries on while a quorum is still live.

A small body the proxy already holds whole goes another way
(:func:`put_whole_bodies`): headers and body in one write, no
``Expect: 100-continue`` round trip and no sender thread.  Most of a small
PUT's cost is per message, not per byte, and with the body in hand a node
that refuses or fails can simply be replaced by a handoff.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Iterator, Mapping, Optional

from objstore.common.backend_client import BackendConnection, BackendError, quote_backend_path
from objstore.common.concurrency import Event, GreenPile, Queue, Timeout, kill, spawn
from objstore.proxy.node_health import NodeHealth, node_label


class Putter:
    """One node's share of a PUT: connect, stream chunks, collect the answer."""

    def __init__(self, node: dict, conn: BackendConnection, health: NodeHealth,
                 node_timeout: float, queue_depth: int):
        self.node = node
        self.conn = conn
        self.health = health
        self.node_timeout = node_timeout
        self.failed = False
        self.final_status: Optional[int] = None     # set when the node answered early
        self.final_headers: Mapping[str, str] = {}
        self.final_body = b""
        self._queue_depth = queue_depth
        self._queue: Any = None        # made by start(): a whole-body putter never streams
        self._done: Any = None
        self._sender: Any = None
        self._trailer: Optional[Mapping[str, str]] = None   # ends a chunked body

    # -- connecting --------------------------------------------------------------
    @classmethod
    def connect(cls, node: dict, part: int, path: str, headers: Mapping[str, str], *,
                chunked: bool, expect: bool, health: NodeHealth, conn_timeout: float,
                node_timeout: float, queue_depth: int) -> Optional["Putter"]:
        """Open the request; None when the node cannot take it (error counted)."""
        send_headers = dict(headers)
        if expect:
            send_headers["Expect"] = "100-continue"
        try:
            with Timeout(conn_timeout + node_timeout + 1):
                conn = BackendConnection(node["ip"], node["port"], conn_timeout, node_timeout)
                conn.putrequest("PUT", quote_backend_path(node["device"], part, path),
                                send_headers, chunked=chunked)
                status = conn.expect_continue() if expect else 100
        except (BackendError, Timeout, ValueError) as err:
            health.error_occurred(node, "PUT %s: connect: %s" % (path, err or "timeout"))
            return None
        putter = cls(node, conn, health, node_timeout, queue_depth)
        if status == 100:
            return putter
        # An early final answer: read it so the caller can weigh it.
        return putter._weighed_answer()

    @classmethod
    def put_whole(cls, node: dict, part: int, path: str, headers: Mapping[str, str],
                  body: bytes, *, health: NodeHealth, conn_timeout: float,
                  node_timeout: float) -> Optional["Putter"]:
        """Send the whole request at once and read the answer; None when the
        node could not take it (error counted), so a handoff can."""
        try:
            with Timeout(conn_timeout + node_timeout + 1):
                conn = BackendConnection(node["ip"], node["port"], conn_timeout, node_timeout)
                conn.putrequest("PUT", quote_backend_path(node["device"], part, path),
                                headers, body=body)
        except (BackendError, Timeout, ValueError) as err:
            health.error_occurred(node, "PUT %s: send: %s" % (path, err or "timeout"))
            return None
        return cls(node, conn, health, node_timeout, 1)._weighed_answer()

    def _weighed_answer(self) -> Optional["Putter"]:
        """Read the node's answer: self when it counts, None when another
        node should be asked instead (507: out of space; 5xx or nothing, which
        ``collect_response`` has counted against the node)."""
        self.collect_response()
        if self.final_status == 507:
            self.health.limit_now(self.node, "insufficient storage (507)")
        elif self.final_status is not None and self.final_status < 500:
            return self
        self.close()
        return None

    @property
    def live(self) -> bool:
        return not self.failed and self.final_status is None

    # -- streaming ---------------------------------------------------------------
    def start(self) -> None:
        self._queue = Queue(self._queue_depth)
        self._done = Event()
        self._sender = spawn(self._send_loop)

    def _send_loop(self) -> None:
        try:
            while True:
                chunk = self._queue.get()
                if chunk is None:
                    break
                if self.failed:
                    continue
                try:
                    with Timeout(self.node_timeout):
                        self.conn.send(chunk)
                except (BackendError, Timeout) as err:
                    self.fail("send: %s" % (err or "timeout"))
            if not self.failed:
                try:
                    with Timeout(self.node_timeout):
                        self.conn.finish(self._trailer)
                except (BackendError, Timeout) as err:
                    self.fail("finish: %s" % (err or "timeout"))
        finally:
            self._done.send(True)

    def fail(self, why: str) -> None:
        if not self.failed:
            self.failed = True
            self.health.error_occurred(self.node, "PUT body %s" % why)

    def send_chunk(self, chunk: bytes) -> None:
        """Queue a chunk (waits while this node's queue is full)."""
        self._queue.put(chunk)

    def end_body(self, trailer: Optional[Mapping[str, str]] = None) -> None:
        """No more chunks; a chunked body ends with ``trailer``'s fields."""
        self._trailer = trailer
        self._queue.put(None)

    def wait_sent(self) -> None:
        if self._sender is not None:
            self._done.wait()

    def collect_response(self) -> None:
        """Read the node's final answer into ``final_status`` (None on failure)."""
        try:
            with Timeout(self.node_timeout):
                resp = self.conn.getresponse()
                body = resp.read()
        except (BackendError, Timeout, OSError) as err:
            self.fail("response: %s" % (err or "timeout"))
            return
        self.final_status = resp.status
        self.final_headers = {k: v for k, v in resp.getheaders()}
        self.final_body = body
        if resp.status >= 500 and resp.status != 507:
            self.health.error_occurred(self.node, "PUT answered %d" % resp.status)

    def close(self) -> None:
        """Drop the connection; an upload the node has not answered is aborted.

        Aborting ends the connection at once, so the node discards the
        partial body and frees the space it reserved for it now, not after
        its own client timeout.
        """
        if self._sender is not None and not self._done.ready():
            self.failed = True
            kill(self._sender)
        if self.final_status is None:
            self.conn.abort()
        else:
            self.conn.close()

    def __repr__(self) -> str:
        return "<Putter %s>" % node_label(self.node)


def connect_putters(nodes: Iterator[dict], part: int, path: str, headers_list: list[dict], *,
                    chunked: bool, expect: bool, health: NodeHealth, conn_timeout: float,
                    node_timeout: float, queue_depth: int) -> list[Putter]:
    """One putter per header set, in parallel; a failed node is replaced from ``nodes``."""
    return _one_per_header_set(nodes, headers_list, lambda node, headers: Putter.connect(
        node, part, path, headers, chunked=chunked, expect=expect, health=health,
        conn_timeout=conn_timeout, node_timeout=node_timeout, queue_depth=queue_depth))


def put_whole_bodies(nodes: Iterator[dict], part: int, path: str, headers_list: list[dict],
                     body: bytes, *, health: NodeHealth, conn_timeout: float,
                     node_timeout: float) -> list[Putter]:
    """One answered putter per header set, in parallel; a node that failed or
    refused for lack of space is replaced from ``nodes``."""
    return _one_per_header_set(nodes, headers_list, lambda node, headers: Putter.put_whole(
        node, part, path, headers, body, health=health, conn_timeout=conn_timeout,
        node_timeout=node_timeout))


def _one_per_header_set(nodes: Iterator[dict], headers_list: list[dict],
                        attempt: Callable[[dict, dict], Optional[Putter]]) -> list[Putter]:
    """``attempt`` each header set on the next node of ``nodes`` until one
    takes it, all sets in parallel (they share ``nodes``, so a handoff goes
    to whichever set needs it first)."""

    def place(headers: dict) -> Optional[Putter]:
        for node in nodes:
            putter = attempt(node, headers)
            if putter is not None:
                return putter
        return None

    pile = GreenPile(len(headers_list))
    for headers in headers_list:
        pile.spawn(place, headers)
    return [p for p in pile if p is not None]


def finish_putters(putters: list[Putter], logger: logging.Logger,
                   trailer: Optional[Mapping[str, str]] = None) -> None:
    """End every live body (with ``trailer``), then read all answers in parallel."""
    for putter in putters:
        if putter._sender is not None:
            putter.end_body(trailer)
    pile = GreenPile(max(len(putters), 1))
    for putter in putters:
        if putter._sender is not None:
            pile.spawn(_finish_one, putter)
    list(pile)


def _finish_one(putter: Putter) -> None:
    putter.wait_sent()
    if putter.live:
        putter.collect_response()
