"""What every controller shares: talking to a set of nodes and agreeing on an answer.

Controllers get a :class:`ProxyContext` (rings, node health, config, logger,
and the proxy's WSGI entry for info sub-requests), never the app itself.
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Callable, Iterator, Mapping, Optional

from webob import Request, Response

from objstore.common.backend_client import (BackendError, BackendResponse, backend_request,
                                            share_headers, update_shares)
from objstore.common.cluster_config import ClusterConfig
from objstore.common.concurrency import GreenPile, Timeout
from objstore.common.logs import TRANS_ID_HEADER, get_trans_id
from objstore.common.storage_policy import POLICY_INDEX_HEADER
from objstore.common.timestamp import Timestamp
from objstore.proxy import info_cache
from objstore.proxy.node_health import NodeHealth
from objstore.proxy.node_iter import NodeIter
from objstore.proxy.responses import (ANSWER_CONTENT_TYPE, best_status,
                                      client_visible_headers, plain_response, quorum_size)
from objstore.proxy.settings import ProxyConfig
from objstore.ring.protocol import RingReader


@dataclasses.dataclass
class ProxyContext:
    """The few things a controller needs from the proxy."""
    conf: ProxyConfig
    cluster: ClusterConfig        # constraints, policies
    account_ring: RingReader
    container_ring: RingReader
    object_ring_for: Callable[[int], RingReader]
    health: NodeHealth
    logger: logging.Logger
    wsgi_app: Callable            # the proxy's own WSGI entry, for info sub-requests


def delay_denial(handler: Callable) -> Callable:
    """Mark a handler that calls ``authorize`` itself once it knows the ACL (Swift's rule)."""
    handler.delay_denial = True  # type: ignore[attr-defined]
    return handler


class Controller:
    server_type = "Base"

    def __init__(self, ctx: ProxyContext, account: str, container: Optional[str] = None,
                 obj: Optional[str] = None):
        self.ctx = ctx
        self.conf = ctx.conf
        self.cluster = ctx.cluster
        self.logger = ctx.logger
        self.account = account
        self.container = container
        self.obj = obj

    # -- authorization --------------------------------------------------------
    def authorize(self, req: Request, acl: Optional[str] = None) -> Optional[Response]:
        """Ask the auth middleware (if any) again, now that ``req.acl`` is known."""
        authorize = req.environ.get("swift.authorize")
        if authorize is None:
            return None
        req.acl = acl
        return authorize(req)

    # -- info ------------------------------------------------------------------
    def account_info(self, req: Request) -> dict:
        return info_cache.get_account_info(req.environ, self.ctx.wsgi_app, self.account)

    def container_info(self, req: Request) -> dict:
        assert self.container is not None
        return info_cache.get_container_info(req.environ, self.ctx.wsgi_app, self.account,
                                             self.container)

    # -- headers -----------------------------------------------------------------
    def base_headers(self, timestamp: Optional[Timestamp] = None,
                     policy_index: Optional[int | str] = None) -> dict[str, str]:
        # No "Connection: close": the backend client keeps connections alive
        # and pools them; asking the node to close made every request pay a
        # connect, an accept and a new server green thread.
        headers = {TRANS_ID_HEADER: get_trans_id()}
        if timestamp is not None:
            headers["X-Timestamp"] = timestamp.internal
        if policy_index is not None:
            headers[POLICY_INDEX_HEADER] = str(policy_index)
        return headers

    @staticmethod
    def add_update_targets(headers_list: list[dict], writers: list[dict], nodes: list[dict],
                           part: int, prefix: str) -> None:
        """Give each writer's header set its share of the update ``nodes``.

        ``headers_list[i]`` goes to the node standing in for ``writers[i]``
        (the primaries of the write); every update node is named once.
        """
        for headers, share in zip(headers_list, update_shares(writers, nodes)):
            headers.update(share_headers(prefix, share, part))

    # -- node iteration ----------------------------------------------------------
    def node_iter(self, ring: RingReader, part: int, shuffle: bool = False,
                  primaries: Optional[list] = None) -> NodeIter:
        count = self.conf.node_count(ring.replica_count)
        return NodeIter(ring, part, self.ctx.health, count, primaries=primaries,
                        shuffle=shuffle and self.conf.sorting_method == "shuffle")

    def request_node(self, node: dict, part: int, method: str, path: str,
                     headers: Mapping[str, str], query_string: str = "",
                     body: bytes = b"") -> Optional[BackendResponse]:
        """One request to one node; None (and a counted error) when the node failed."""
        try:
            with Timeout(self.conf.conn_timeout + self.conf.node_timeout + 1):
                resp = backend_request(node["ip"], node["port"], node["device"], part, method,
                                       path, headers=headers, body=body,
                                       query_string=query_string,
                                       conn_timeout=self.conf.conn_timeout,
                                       response_timeout=self.conf.node_timeout)
        except (BackendError, Timeout) as err:
            self.ctx.health.error_occurred(node, "%s %s: %s" % (method, path, err or "timeout"))
            return None
        if resp.status == 507:
            self.ctx.health.limit_now(node, "insufficient storage (507)")
        elif resp.status >= 500:
            self.ctx.health.error_occurred(node, "%s %s answered %d" % (method, path,
                                                                      resp.status))
        return resp

    def _write_to_one(self, nodes: Iterator[dict], part: int, method: str, path: str,
                      headers: Mapping[str, str], query_string: str,
                      body: bytes) -> Optional[BackendResponse]:
        """Keep taking nodes from the shared iterator until one gives a real answer."""
        for node in nodes:
            resp = self.request_node(node, part, method, path, headers, query_string, body)
            if resp is None or resp.status >= 500:
                continue
            return resp
        return None

    def make_requests(self, ring: RingReader, part: int, method: str, path: str,
                      headers_list: list[dict], query_string: str = "",
                      body: bytes = b"") -> tuple[list[BackendResponse], int]:
        """Send one write per header set in parallel; failed primaries use handoffs.

        Returns the answers that came back and the replica count they are
        judged against.
        """
        nodes = self.node_iter(ring, part)
        pile = GreenPile(len(headers_list))
        for headers in headers_list:
            pile.spawn(self._write_to_one, nodes, part, method, path, headers,
                       query_string, body)
        answers = [resp for resp in pile if resp is not None]
        return answers, len(headers_list)

    def best_response(self, req: Request, answers: list[BackendResponse], replicas: int,
                      what: str, headers_from: Optional[Callable] = None) -> Response:
        """The answer a quorum of nodes agrees on, with the headers of one of them."""
        status = best_status([a.status for a in answers], replicas)
        if status is None:
            self.logger.error("%s %s: no quorum among %s", req.method, what,
                              [a.status for a in answers] or "no answers")
            return plain_response(503, "Service Unavailable", request_method=req.method)
        chosen = next(a for a in answers if a.status == status)
        resp = Response(status=status)
        resp.headers.clear()
        for key, value in client_visible_headers(chosen.headers.items()):
            if key.lower() != "content-length":
                resp.headers[key] = value
        if headers_from is not None:
            headers_from(resp, chosen)
        if status in (204, 304) or req.method == "HEAD":
            resp.body = b""
            resp.headers.pop("Content-Type", None)
            if status in (204, 304):
                resp.headers.pop("Content-Length", None)
        else:
            resp.body = chosen.body
        if req.method == "DELETE":
            # Swift's DELETE answers, 204 included, name this type.
            resp.headers["Content-Type"] = ANSWER_CONTENT_TYPE
        return resp

    def read_first(self, req: Request, ring: RingReader, part: int, path: str,
                   headers: Mapping[str, str], query_string: str = "",
                   not_found: Optional[list[BackendResponse]] = None
                   ) -> tuple[Optional[BackendResponse], list[int]]:
        """GET/HEAD nodes one at a time; the first success wins (containers, accounts).

        The 404 answers are appended to ``not_found`` when given: their headers
        may say why (an account marked deleted).
        """
        statuses: list[int] = []
        for node in self.node_iter(ring, part, shuffle=True):
            resp = self.request_node(node, part, req.method, path, headers, query_string)
            if resp is None:
                statuses.append(503)
                continue
            statuses.append(resp.status)
            if 200 <= resp.status < 300:
                return resp, statuses
            if resp.status < 500 and resp.status != 404:
                return resp, statuses
            if resp.status == 404 and not_found is not None:
                not_found.append(resp)
        return None, statuses

    def quorum(self, ring: RingReader) -> int:
        return quorum_size(ring.replica_count)
