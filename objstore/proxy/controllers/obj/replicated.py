"""Replicated objects: every primary node keeps the whole object.

A PUT streams the body to all primaries at once and succeeds when a quorum
(majority) stored it with the same ETag; a GET takes the first copy a node
holds (the newest among all replicas with ``X-Newest: true``) and, if its
node fails mid-body, resumes from another replica (:mod:`.replicated_read`).
"""
from __future__ import annotations

from typing import Iterator, Optional

from webob import Request, Response

from objstore.common import body_checksums
from objstore.common.concurrency import Timeout
from objstore.common.config import TRUE_VALUES
from objstore.common.http_wire import HttpParseError
from objstore.common.timestamp import Timestamp
from objstore.proxy.controllers.obj.base import (CONSUMED_HEADERS, BaseObjectController,
                                                 ClientBodyError)
from objstore.proxy.controllers.obj.putter import (Putter, connect_putters, finish_putters,
                                                   put_whole_bodies)
from objstore.proxy.controllers.obj.replicated_read import (ResumingBody, find_first,
                                                            find_newest, resume_candidates)
from objstore.proxy.controllers.obj.source import SourceOpener
from objstore.proxy.responses import (best_status, client_visible_headers,
                                      forwardable_request_headers, plain_response)


class ReplicatedObjectController(BaseObjectController):
    """The strategy for ``policy_type = replication``."""

    # -- GET / HEAD ------------------------------------------------------------
    def read_object(self, req: Request) -> Response:
        """A copy (the newest with X-Newest), streamed with mid-body failover."""
        ring, part = self.ring, self.partition
        headers = {k: v for k, v in forwardable_request_headers(req.headers).items()
                   if k.lower() not in CONSUMED_HEADERS}
        headers.update(self.base_headers(policy_index=self.policy.index))
        headers.update(self.open_expired_headers(req))
        opener = SourceOpener(self.ctx.health, part, self.path, req.method,
                              self.conf.conn_timeout, self.conf.node_timeout)
        nodes = self.node_iter(ring, part, shuffle=True)
        if req.headers.get("X-Newest", "").strip().lower() in TRUE_VALUES:
            chosen, sources = find_newest(opener, nodes, ring.replica_count, headers,
                                          req.query_string, self.conf.conn_timeout)
        else:
            chosen, sources = find_first(opener, nodes, headers, req.query_string,
                                         self.conf.conn_timeout)
        if chosen is None or chosen.is_tombstone:
            if chosen is not None or any(s.status == 404 for s in sources):
                return plain_response(404, "Not Found", request_method=req.method)
            return plain_response(503, "Service Unavailable", request_method=req.method)
        headerlist = []
        for key, value in client_visible_headers(chosen.header_items):
            if key.lower() == "etag":
                value = value.strip('"')
            headerlist.append((key, value))
        if "accept-ranges" not in chosen.headers:
            headerlist.append(("Accept-Ranges", "bytes"))
        if req.method == "HEAD" or chosen.status not in (200, 206):
            body = b""
            if req.method != "HEAD":
                try:
                    with Timeout(self.conf.node_timeout):
                        body = chosen.resp.read()
                except (OSError, Timeout):
                    body = b""
                headerlist = [(k, v) for k, v in headerlist if k.lower() != "content-length"]
                if chosen.status != 304:
                    headerlist.append(("Content-Length", str(len(body))))
            chosen.close()
            return Response(status=chosen.status, headerlist=headerlist, app_iter=[body])
        body_iter = ResumingBody(chosen, opener, resume_candidates(chosen, sources, nodes),
                                 headers, self.conf.object_chunk_size,
                                 self.conf.recoverable_node_timeout,
                                 self.ctx.health.error_occurred)
        return Response(status=chosen.status, headerlist=headerlist, app_iter=body_iter)

    # -- PUT ---------------------------------------------------------------------
    def store_object(self, req: Request, headers_list: list[dict], length: Optional[int],
                     timestamp: Timestamp) -> Response:
        """The whole body to every primary (handoffs replace failed ones); a quorum wins."""
        ring, part = self.ring, self.partition
        if length is not None and length <= self.conf.whole_body_put_max:
            return self._store_whole_body(req, headers_list, length, timestamp)
        # The nodes get a chunked body ending in its checksums (see
        # objstore.common.body_checksums): one MD5 here instead of one per node.
        for headers in headers_list:
            headers.pop("Content-Length", None)
            headers[body_checksums.CHECKS_HEADER] = body_checksums.CHECKS_IN_TRAILER
            if length is not None:
                headers[body_checksums.LENGTH_HEADER] = str(length)
        putters = connect_putters(
            self.node_iter(ring, part), part, self.path, headers_list, chunked=True,
            expect=True, health=self.ctx.health,
            conn_timeout=self.conf.conn_timeout, node_timeout=self.conf.node_timeout,
            queue_depth=self.conf.put_queue_depth)
        quorum = self.quorum(ring)
        live = [p for p in putters if p.live]
        if len(live) < quorum:
            return self._early_answer(req, putters, ring.replica_count)
        for putter in live:
            putter.start()
        try:
            checksums = self._stream_body(req, live, length, quorum)
        except ClientBodyError as err:
            for putter in putters:
                putter.close()
            self.logger.warning("PUT %s aborted: %s", self.path, err.reason)
            return plain_response(err.status, err.reason)
        finish_putters(live, self.logger, checksums.trailer())
        for putter in putters:
            putter.close()
        return self._put_response(req, putters, ring.replica_count, timestamp)

    def _store_whole_body(self, req: Request, headers_list: list[dict], length: int,
                          timestamp: Timestamp) -> Response:
        """A small body: read it all, then each node gets the request in one write."""
        try:
            body = b"".join(self._client_chunks(req, length))
        except ClientBodyError as err:
            self.logger.warning("PUT %s aborted: %s", self.path, err.reason)
            return plain_response(err.status, err.reason)
        putters = put_whole_bodies(
            self.node_iter(self.ring, self.partition), self.partition, self.path, headers_list,
            body, health=self.ctx.health, conn_timeout=self.conf.conn_timeout,
            node_timeout=self.conf.node_timeout)
        for putter in putters:
            putter.close()
        return self._put_response(req, putters, self.ring.replica_count, timestamp)

    def _early_answer(self, req: Request, putters: list[Putter], replicas: int) -> Response:
        statuses = [p.final_status for p in putters if p.final_status is not None]
        for putter in putters:
            putter.close()
        status = best_status(statuses, replicas)
        if status is None or status < 300:
            self.logger.error("PUT %s: not enough nodes ready (%d of %d)", self.path,
                              len([p for p in putters if p.live]), replicas)
            return plain_response(503, "Service Unavailable")
        return plain_response(status, "Precondition Failed" if status == 412 else
                              "Refused by the object servers (%d)" % status)

    def _stream_body(self, req: Request, live: list[Putter], length: Optional[int],
                     quorum: int) -> body_checksums.BodyChecksums:
        """Pass the client's body to every live node; returns its checksums.

        The nodes compare the CRC32 with what they received and the MD5 with
        the client's ETag, and the response still requires their answers
        to agree.
        """
        checksums = body_checksums.BodyChecksums()
        for chunk in self._client_chunks(req, length):
            checksums.update(chunk)
            for putter in live:
                if putter.live:
                    putter.send_chunk(chunk)
            if sum(1 for p in live if p.live) < quorum:
                raise ClientBodyError(503, "Service Unavailable (lost the quorum of nodes)")
        return checksums

    def _client_chunks(self, req: Request, length: Optional[int]) -> Iterator[bytes]:
        """The client's body in chunks; ClientBodyError when it stalls, ends
        short of ``length``, breaks its framing or outgrows max_file_size."""
        reader = req.environ["wsgi.input"]
        size = 0
        max_size = self.cluster.constraints.max_file_size
        chunk_size = self.conf.client_chunk_size
        while length is None or size < length:
            want = chunk_size if length is None else min(chunk_size, length - size)
            try:
                with Timeout(self.conf.client_timeout):
                    chunk = reader.read(want)
            except Timeout:
                raise ClientBodyError(408, "Request Timeout (client sent no data for %ss)"
                                      % self.conf.client_timeout) from None
            except HttpParseError as err:
                raise ClientBodyError(err.status, err.reason) from None
            except (OSError, ValueError) as err:
                raise ClientBodyError(499, "Client Disconnect (%s)" % err) from None
            if not chunk:
                if length is not None:
                    raise ClientBodyError(499, "Client Disconnect (body ended after %d of "
                                          "%d bytes)" % (size, length))
                break
            size += len(chunk)
            if size > max_size:
                raise ClientBodyError(413, "Your request is too large (max_file_size %d)"
                                      % max_size)
            yield chunk

    def _put_response(self, req: Request, putters: list[Putter], replicas: int,
                      timestamp: Timestamp) -> Response:
        statuses = [p.final_status for p in putters if p.final_status is not None]
        status = best_status(statuses, replicas)
        if status is None:
            self.logger.error("PUT %s: no quorum among %s", self.path, statuses)
            return plain_response(503, "Service Unavailable")
        if status == 422:
            return plain_response(422, "Unprocessable Entity (ETag does not match the body)")
        if not 200 <= status < 300:
            chosen = next(p for p in putters if p.final_status == status)
            return plain_response(status, chosen.final_body.decode("utf-8", "replace")
                                  or str(status))
        node_etags = {p.final_headers.get("Etag", p.final_headers.get("ETag", "")).strip('"')
                      for p in putters if p.final_status == status}
        node_etags.discard("")
        if len(node_etags) != 1:
            self.logger.error("PUT %s: object servers returned etags %s", self.path,
                              sorted(node_etags))
            return plain_response(503, "Service Unavailable (mismatched etags)")
        resp = plain_response(status, "", {"Etag": node_etags.pop(),
                                           "Last-Modified": timestamp.http_date})
        resp.content_length = 0
        return resp
