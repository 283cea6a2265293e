"""Object requests: streaming quorum PUT, newest-copy GET/HEAD, POST and DELETE."""
from __future__ import annotations

import http.client
import mimetypes
import time
from typing import Any, Optional

from webob import Request, Response

from objstore.common.concurrency import Timeout
from objstore.common.constraints import MetadataError, check_metadata, constraints
from objstore.common.storage_policy import policies
from objstore.common.timestamp import Timestamp
from objstore.proxy.controllers.base import Controller, delay_denial
from objstore.proxy.object_get import (ResumingBody, SourceOpener, find_newest,
                                       resume_candidates)
from objstore.proxy.putter import Putter, connect_putters, finish_putters
from objstore.proxy.responses import (best_status, client_visible_headers,
                                      forwardable_request_headers, plain_response)

# Client headers the proxy consumes itself instead of forwarding.
CONSUMED_HEADERS = ("x-delete-after", "x-detect-content-type", "x-copy-from-account",
                    "x-fresh-metadata", "destination", "destination-account", "x-newest")


class ClientBodyError(Exception):
    """The client's body could not be read; ``status`` says why (408, 499, 413)."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


# The latest expiry a timestamp of ten digits can hold (year 2286); later
# requests are clamped to it, as Swift does, instead of growing without bound.
MAX_DELETE_AT = 9999999999


def delete_at_header(req: Request) -> tuple[Optional[str], Optional[str]]:
    """(``X-Delete-At`` value to store, or an error reason)."""
    after = req.headers.get("X-Delete-After")
    at = req.headers.get("X-Delete-At")
    now = time.time()
    if after is not None:
        try:
            seconds = int(after)
        except ValueError:
            return None, "Non-integer X-Delete-After"
        if seconds < 0:
            return None, "X-Delete-After in past"
        return str(min(int(now) + min(seconds, MAX_DELETE_AT), MAX_DELETE_AT)), None
    if at is not None:
        try:
            when = int(at)
        except ValueError:
            return None, "Non-integer X-Delete-At"
        if when <= now:
            return None, "X-Delete-At in past"
        return str(min(when, MAX_DELETE_AT)), None
    return None, None


class ObjectController(Controller):
    server_type = "Object"

    @property
    def path(self) -> str:
        return "/%s/%s/%s" % (self.account, self.container, self.obj)

    def _ring_for(self, info: dict) -> tuple[int, Any]:
        index = policies().get_by_index(info.get("storage_policy"))
        policy_index = index.index if index is not None else 0
        return policy_index, self.ctx.object_ring_for(policy_index)

    def _container_check(self, req: Request, acl_key: str) -> tuple[Optional[Response], dict]:
        """Authorize against the container's ACL; 404 when the container is missing.

        A read goes ahead when the container servers cannot be reached (the
        objects may still be there, as in Swift); a write does not.
        """
        info = self.container_info(req)
        denied = self.authorize(req, info.get(acl_key))
        if denied is not None:
            return denied, info
        status = info.get("status", 0)
        if status == 404:
            return plain_response(404, "Not Found (container)", request_method=req.method), info
        if not 200 <= status < 300 and req.method not in ("GET", "HEAD"):
            return plain_response(503, "Service Unavailable (container info)",
                                  request_method=req.method), info
        return None, info

    def _write_headers(self, req: Request, timestamp: Timestamp, policy_index: int,
                       replicas: int, with_container: bool = True) -> list[dict]:
        forwarded = {k: v for k, v in forwardable_request_headers(req.headers).items()
                     if k.lower() not in CONSUMED_HEADERS}
        headers_list = []
        for _ in range(replicas):
            headers = dict(forwarded)
            headers.update(self.base_headers(timestamp, policy_index))
            headers_list.append(headers)
        if with_container:
            c_part, c_nodes = self.ctx.container_ring.get_nodes(self.account, self.container)
            self.add_update_targets(headers_list, c_nodes, c_part, "X-Container")
        return headers_list

    # -- GET / HEAD ------------------------------------------------------------
    @delay_denial
    def GETorHEAD(self, req: Request) -> Response:
        error, info = self._container_check(req, "read_acl")
        if error is not None:
            return error
        policy_index, ring = self._ring_for(info)
        part = ring.get_nodes(self.account, self.container, self.obj)[0]
        headers = {k: v for k, v in forwardable_request_headers(req.headers).items()
                   if k.lower() not in CONSUMED_HEADERS}
        headers.update(self.base_headers(policy_index=policy_index))
        opener = SourceOpener(self.ctx.health, part, self.path, req.method,
                              self.conf.conn_timeout, self.conf.node_timeout)
        nodes = self.node_iter(ring, part, shuffle=True)
        chosen, sources = find_newest(opener, nodes, ring.replica_count, headers,
                                      req.query_string, self.conf.conn_timeout)
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
                except (OSError, http.client.HTTPException, Timeout):
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

    GET = HEAD = GETorHEAD

    # -- PUT ---------------------------------------------------------------------
    def _check_put(self, req: Request) -> tuple[Optional[Response], Optional[int]]:
        """Validate an upload; returns (error, content length or None for chunked)."""
        limits = constraints()
        name_len = len(self.obj.encode("utf-8"))
        if name_len > limits.max_object_name_length:
            return plain_response(400, "Object name length of %d longer than %d" % (
                name_len, limits.max_object_name_length)), None
        te = req.headers.get("Transfer-Encoding", "").lower().strip()
        raw_length = req.headers.get("Content-Length")
        length: Optional[int] = None
        if te:
            if te != "chunked":
                return plain_response(501, "Transfer-Encoding %s not supported" % te), None
        elif raw_length is None:
            return plain_response(411, "Missing Content-Length or Transfer-Encoding "
                                  "chunked"), None
        if raw_length is not None and not te:
            if not raw_length.strip().isdigit():
                return plain_response(400, "Invalid Content-Length"), None
            length = int(raw_length)
            if length > limits.max_file_size:
                return plain_response(413, "Your request is too large (max_file_size %d)"
                                      % limits.max_file_size), None
        try:
            check_metadata(req.headers, "object")
        except MetadataError as err:
            return plain_response(400, str(err)), None
        return None, length

    def _set_content_type(self, req: Request) -> None:
        detect = req.headers.get("X-Detect-Content-Type", "").lower() in ("true", "1", "yes")
        if detect or not req.headers.get("Content-Type"):
            guessed = mimetypes.guess_type(self.obj)[0]
            req.headers["Content-Type"] = guessed or "application/octet-stream"

    @delay_denial
    def PUT(self, req: Request) -> Response:
        if "X-Copy-From" in req.headers:
            # Without the copy middleware the body would silently become empty.
            return plain_response(400, "X-Copy-From needs the copy middleware in the "
                                  "proxy pipeline")
        error, info = self._container_check(req, "write_acl")
        if error is not None:
            return error
        error, length = self._check_put(req)
        if error is not None:
            return error
        delete_at, reason = delete_at_header(req)
        if reason:
            return plain_response(400, reason)
        self._set_content_type(req)
        policy_index, ring = self._ring_for(info)
        part = ring.get_nodes(self.account, self.container, self.obj)[0]
        timestamp = Timestamp.now()
        headers_list = self._write_headers(req, timestamp, policy_index, ring.replica_count)
        for headers in headers_list:
            if delete_at:
                headers["X-Delete-At"] = delete_at
            if length is not None:
                headers["Content-Length"] = str(length)
        chunked = length is None
        putters = connect_putters(
            self.node_iter(ring, part), part, self.path, headers_list, chunked=chunked,
            expect=chunked or bool(length), health=self.ctx.health,
            conn_timeout=self.conf.conn_timeout, node_timeout=self.conf.node_timeout,
            queue_depth=self.conf.put_queue_depth)
        quorum = self.quorum(ring)
        live = [p for p in putters if p.live]
        if len(live) < quorum:
            return self._early_answer(req, putters, ring.replica_count)
        for putter in live:
            putter.start()
        try:
            self._stream_body(req, live, length, quorum)
        except ClientBodyError as err:
            for putter in putters:
                putter.close()
            self.logger.warning("PUT %s aborted: %s", self.path, err.reason)
            return plain_response(err.status, err.reason)
        finish_putters(live, self.logger)
        for putter in putters:
            putter.close()
        return self._put_response(req, putters, ring.replica_count, timestamp)

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
                     quorum: int) -> tuple[str, int]:
        """Pass the client's body to every live node; returns the byte count.

        No checksum here: each object server hashes what it stores (and checks
        the client's ETag), and the response requires their hashes to agree,
        which catches a corrupt copy without a fourth MD5 pass in the proxy.
        """
        reader = req.environ["wsgi.input"]
        size = 0
        max_size = constraints().max_file_size
        chunk_size = self.conf.client_chunk_size
        while length is None or size < length:
            want = chunk_size if length is None else min(chunk_size, length - size)
            try:
                with Timeout(self.conf.client_timeout):
                    chunk = reader.read(want)
            except Timeout:
                raise ClientBodyError(408, "Request Timeout (client sent no data for %ss)"
                                      % self.conf.client_timeout) from None
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
            for putter in live:
                if putter.live:
                    putter.send_chunk(chunk)
            if sum(1 for p in live if p.live) < quorum:
                raise ClientBodyError(503, "Service Unavailable (lost the quorum of nodes)")
        return size

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

    # -- POST / DELETE -----------------------------------------------------------
    @delay_denial
    def POST(self, req: Request) -> Response:
        error, info = self._container_check(req, "write_acl")
        if error is not None:
            return error
        try:
            check_metadata(req.headers, "object")
        except MetadataError as err:
            return plain_response(400, str(err))
        delete_at, reason = delete_at_header(req)
        if reason:
            return plain_response(400, reason)
        policy_index, ring = self._ring_for(info)
        part = ring.get_nodes(self.account, self.container, self.obj)[0]
        headers_list = self._write_headers(req, Timestamp.now(), policy_index,
                                           ring.replica_count)
        for headers in headers_list:
            if delete_at:
                headers["X-Delete-At"] = delete_at
        answers, replicas = self.make_requests(ring, part, "POST", self.path, headers_list)
        return self.best_response(req, answers, replicas, "object " + self.path)

    @delay_denial
    def DELETE(self, req: Request) -> Response:
        error, info = self._container_check(req, "write_acl")
        if error is not None:
            return error
        policy_index, ring = self._ring_for(info)
        part = ring.get_nodes(self.account, self.container, self.obj)[0]
        headers_list = self._write_headers(req, Timestamp.now(), policy_index,
                                           ring.replica_count)
        answers, replicas = self.make_requests(ring, part, "DELETE", self.path, headers_list)
        return self.best_response(req, answers, replicas, "object " + self.path)
