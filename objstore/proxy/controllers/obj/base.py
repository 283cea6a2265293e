"""What every object controller strategy shares: checks, headers, POST and DELETE.

A strategy (one per storage policy type) adds how an object's body is
stored and read back: :mod:`.replicated` keeps whole copies; an
erasure-coded strategy will keep fragments.  The proxy builds the strategy
the container's policy names (:mod:`.router`), so every handler here already
knows its policy and that policy's ring.
"""
from __future__ import annotations

import abc
import mimetypes
import time
from typing import Optional

from webob import Request, Response

from objstore.common.constraints import MetadataError, check_metadata
from objstore.common.config import TRUE_VALUES
from objstore.common.expiring_queue import EXPIRING_ACCOUNT, OPEN_EXPIRED_HEADER, queue_container
from objstore.common.storage_policy import StoragePolicy
from objstore.common.timestamp import Timestamp
from objstore.proxy.controllers.base import Controller, ProxyContext, delay_denial
from objstore.proxy.responses import forwardable_request_headers, plain_response

# Client headers the proxy consumes itself instead of forwarding; the
# X-Delete-At-* targets are the proxy's to name, never the client's.
CONSUMED_HEADERS = ("x-delete-after", "x-detect-content-type", "x-copy-from-account",
                    "x-open-expired",
                    "x-fresh-metadata", "destination", "destination-account", "x-newest",
                    "x-delete-at-container", "x-delete-at-host", "x-delete-at-device",
                    "x-delete-at-partition")


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


class BaseObjectController(Controller, abc.ABC):
    server_type = "Object"

    def __init__(self, ctx: ProxyContext, account: str, container: str, obj: str,
                 policy: StoragePolicy):
        super().__init__(ctx, account, container, obj)
        self.policy = policy
        self.ring = ctx.object_ring_for(policy.index)

    @property
    def path(self) -> str:
        return "/%s/%s/%s" % (self.account, self.container, self.obj)

    @property
    def partition(self) -> int:
        return self.ring.get_nodes(self.account, self.container, self.obj)[0]

    def _primaries(self) -> list[dict]:
        return self.ring.get_part_nodes(self.partition)

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

    def _write_headers(self, req: Request, timestamp: Timestamp,
                       with_container: bool = True) -> list[dict]:
        """One header set per primary node, each naming its container replicas to update."""
        forwarded = {k: v for k, v in forwardable_request_headers(req.headers).items()
                     if k.lower() not in CONSUMED_HEADERS}
        headers_list = []
        for _ in range(self.ring.replica_count):
            headers = dict(forwarded)
            headers.update(self.base_headers(timestamp, self.policy.index))
            headers_list.append(headers)
        if with_container:
            c_part, c_nodes = self.ctx.container_ring.get_nodes(self.account, self.container)
            self.add_update_targets(headers_list, self._primaries(), c_nodes, c_part,
                                    "X-Container")
        return headers_list

    def _add_delete_at(self, headers_list: list[dict], delete_at: Optional[str]) -> None:
        """Store ``delete_at`` and name the queue container replicas to record it in.

        The object servers write the expiring-objects row the same way they
        update the object's own container, so the expirer finds the object
        without scanning disks.
        """
        if not delete_at:
            return
        bucket = queue_container(int(delete_at), self.conf.expiring_objects_container_divisor)
        q_part, q_nodes = self.ctx.container_ring.get_nodes(EXPIRING_ACCOUNT, bucket)
        for headers in headers_list:
            headers["X-Delete-At"] = delete_at
            headers["X-Delete-At-Container"] = bucket
        self.add_update_targets(headers_list, self._primaries(), q_nodes, q_part, "X-Delete-At")

    def open_expired_headers(self, req: Request) -> dict[str, str]:
        """The backend header that lets the nodes serve an expired, not yet removed object.

        Sent only when this proxy allows it (``allow_open_expired``) and the
        client asked with ``X-Open-Expired: true``; otherwise the client's
        header is ignored and an expired object stays 404.
        """
        asked = req.headers.get("X-Open-Expired", "").strip().lower() in TRUE_VALUES
        return {OPEN_EXPIRED_HEADER: "true"} if asked and self.conf.allow_open_expired else {}

    # -- GET / HEAD ------------------------------------------------------------
    @delay_denial
    def GETorHEAD(self, req: Request) -> Response:
        error, _info = self._container_check(req, "read_acl")
        if error is not None:
            return error
        return self.read_object(req)

    GET = HEAD = GETorHEAD

    @abc.abstractmethod
    def read_object(self, req: Request) -> Response:
        """The object (GET) or its headers (HEAD), as this policy stores it."""

    # -- PUT ---------------------------------------------------------------------
    def _check_put(self, req: Request) -> tuple[Optional[Response], Optional[int]]:
        """Validate an upload; returns (error, content length or None for chunked)."""
        limits = self.cluster.constraints
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
            check_metadata(req.headers, "object", self.cluster.constraints)
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
        error, _info = self._container_check(req, "write_acl")
        if error is not None:
            return error
        error, length = self._check_put(req)
        if error is not None:
            return error
        if_none_match = req.headers.get("If-None-Match")
        if if_none_match is not None and "*" not in (
                tag.strip() for tag in if_none_match.split(",")):
            # Only "fail if it exists" is implemented; an ETag list would need
            # the old object's ETag on every node, so refuse it plainly.
            return plain_response(400, "If-None-Match only supports *")
        delete_at, reason = delete_at_header(req)
        if reason:
            return plain_response(400, reason)
        self._set_content_type(req)
        timestamp = Timestamp.now()
        headers_list = self._write_headers(req, timestamp)
        self._add_delete_at(headers_list, delete_at)
        for headers in headers_list:
            if length is not None:
                headers["Content-Length"] = str(length)
        return self.store_object(req, headers_list, length, timestamp)

    @abc.abstractmethod
    def store_object(self, req: Request, headers_list: list[dict], length: Optional[int],
                     timestamp: Timestamp) -> Response:
        """Stream the client's body to the nodes as this policy stores it.

        ``headers_list`` holds one checked header set per primary node;
        ``length`` is None for a chunked upload.
        """

    # -- POST / DELETE -----------------------------------------------------------
    @delay_denial
    def POST(self, req: Request) -> Response:
        error, _info = self._container_check(req, "write_acl")
        if error is not None:
            return error
        try:
            check_metadata(req.headers, "object", self.cluster.constraints)
        except MetadataError as err:
            return plain_response(400, str(err))
        delete_at, reason = delete_at_header(req)
        if reason:
            return plain_response(400, reason)
        headers_list = self._write_headers(req, Timestamp.now())
        self._add_delete_at(headers_list, delete_at)
        for headers in headers_list:
            headers.update(self.open_expired_headers(req))
        answers, replicas = self.make_requests(self.ring, self.partition, "POST", self.path,
                                               headers_list)
        return self.best_response(req, answers, replicas, "object " + self.path)

    @delay_denial
    def DELETE(self, req: Request) -> Response:
        error, _info = self._container_check(req, "write_acl")
        if error is not None:
            return error
        headers_list = self._write_headers(req, Timestamp.now())
        answers, replicas = self.make_requests(self.ring, self.partition, "DELETE", self.path,
                                               headers_list)
        return self.best_response(req, answers, replicas, "object " + self.path)
