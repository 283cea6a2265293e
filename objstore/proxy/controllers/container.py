"""Container requests: create, metadata, delete and listings."""
from __future__ import annotations

from typing import Optional

from webob import Request, Response

from objstore.common.constraints import MetadataError, check_metadata
from objstore.common.storage_policy import POLICY_DEFAULT_HEADER, POLICY_INDEX_HEADER
from objstore.common.timestamp import Timestamp
from objstore.common.reserved_names import ALLOW_RESERVED_HEADER, allows_reserved
from objstore.proxy import info_cache
from objstore.proxy.controllers.account import (autocreate_account, check_listing_limit,
                                                strip_owner_only_headers)
from objstore.proxy.controllers.base import Controller, delay_denial
from objstore.proxy.responses import (client_visible_headers, plain_response,
                                      with_removals_applied)

OWNER_ONLY_CONTAINER_HEADERS = ("x-container-read", "x-container-write",
                                "x-container-sync-key", "x-container-sync-to",
                                "x-remove-container-read", "x-remove-container-write",
                                "x-container-meta-temp-url-key",
                                "x-container-meta-temp-url-key-2")
# Path segments that URL normalisation removes or rewrites ("/v1/a/../o").
UNADDRESSABLE_NAMES = (".", "..")
# Container headers a client may set (besides metadata) that the nodes store.
# X-Versions-Location / X-History-Location are not among them: the
# versioned_writes filter turns them into sysmeta, and without it they must
# not be stored (a client would believe versioning is on).
CONTAINER_SETTABLE = ("x-container-read", "x-container-write", "x-container-sync-key",
                      "x-container-sync-to")
# ``X-Remove-<setting>`` clears the setting, as ``X-Remove-Container-Meta-*`` does.
REMOVABLE_HEADERS = tuple("x-remove-" + name[len("x-"):] for name in CONTAINER_SETTABLE)


class ContainerController(Controller):
    server_type = "Container"

    @property
    def path(self) -> str:
        return "/%s/%s" % (self.account, self.container)

    # -- reads -----------------------------------------------------------------
    @delay_denial
    def GETorHEAD(self, req: Request) -> Response:
        if req.method == "GET":
            error = check_listing_limit(req, self.cluster.constraints.container_listing_limit)
            if error is not None:
                return error
        ring = self.ctx.container_ring
        part = ring.get_nodes(self.account, self.container)[0]
        headers = self.base_headers()
        if req.headers.get("Accept"):
            headers["Accept"] = req.headers["Accept"]
        if allows_reserved(req.headers):
            headers[ALLOW_RESERVED_HEADER] = "true"
        found, statuses = self.read_first(req, ring, part, self.path, headers,
                                          req.query_string)
        status = found.status if found is not None else (404 if 404 in statuses else 503)
        info = info_cache.container_info_from_headers(
            status, found.headers if found is not None else {})
        info_cache.store(req.environ, self.account, self.container, info)
        denied = self.authorize(req, info.get("read_acl"))
        if denied is not None:
            return denied
        if found is None:
            reason = "Not Found" if status == 404 else "Service Unavailable"
            return plain_response(status, reason, request_method=req.method)
        resp = Response(status=found.status)
        resp.headers.clear()
        for key, value in client_visible_headers(found.headers.items()):
            resp.headers[key] = value
        policy = self.cluster.policies.get_by_index(found.headers.get(POLICY_INDEX_HEADER))
        if policy is not None and 200 <= found.status < 300:
            resp.headers["X-Storage-Policy"] = policy.name
        if not req.environ.get("swift_owner"):
            for name in OWNER_ONLY_CONTAINER_HEADERS:
                resp.headers.pop(name, None)
        if req.method == "HEAD":
            length = found.headers.get("Content-Length")
            resp.body = b""
            if length is not None:
                resp.headers["Content-Length"] = length
        else:
            resp.body = found.body
        return resp

    GET = HEAD = GETorHEAD

    # -- writes ----------------------------------------------------------------
    def _clean_request(self, req: Request) -> Optional[Response]:
        strip_owner_only_headers(req, OWNER_ONLY_CONTAINER_HEADERS)
        clean_acl = req.environ.get("swift.clean_acl")
        for header in ("X-Container-Read", "X-Container-Write"):
            if clean_acl is not None and header in req.headers:
                try:
                    req.headers[header] = clean_acl(header, req.headers[header])
                except ValueError as err:
                    return plain_response(400, "Invalid %s: %s" % (header, err))
        try:
            check_metadata(req.headers, "container", self.cluster.constraints)
        except MetadataError as err:
            return plain_response(400, str(err))
        return None

    def _account_missing(self, req: Request) -> Optional[Response]:
        """None when the account exists (auto-creating it if allowed), else 404/503."""
        info = self.account_info(req)
        status = info.get("status", 0)
        if 200 <= status < 300:
            return None
        if status == 404:
            if self.conf.account_autocreate and autocreate_account(self, req, self.account):
                return None
            return plain_response(404, "Not Found (account %s)" % self.account)
        return plain_response(503, "Service Unavailable (account servers)")

    def _headers_list(self, req: Request, timestamp: Timestamp,
                      extra: Optional[dict] = None, with_account: bool = True) -> list[dict]:
        ring = self.ctx.container_ring
        part, nodes = ring.get_nodes(self.account, self.container)
        sent = {k: v for k, v in with_removals_applied(req.headers, "container",
                                                       REMOVABLE_HEADERS).items()
                if k.lower().startswith(("x-container-meta-", "x-container-sysmeta-"))
                or k.lower() in CONTAINER_SETTABLE}
        headers_list = []
        for _ in nodes:
            headers = self.base_headers(timestamp)
            headers.update(sent)
            headers.update(extra or {})
            headers_list.append(headers)
        if with_account:
            a_part, a_nodes = self.ctx.account_ring.get_nodes(self.account)
            self.add_update_targets(headers_list, nodes, a_nodes, a_part, "X-Account")
        return headers_list

    def _send(self, req: Request, method: str, headers_list: list[dict]) -> Response:
        ring = self.ctx.container_ring
        part = ring.get_nodes(self.account, self.container)[0]
        answers, replicas = self.make_requests(ring, part, method, self.path, headers_list)
        info_cache.invalidate(req.environ, self.account, self.container)
        info_cache.invalidate(req.environ, self.account)
        resp = self.best_response(req, answers, replicas, "container " + self.path)
        if resp.status_int == 409 and method == "DELETE":
            return plain_response(409, "There was a conflict when trying to complete your "
                                  "request (is the container empty?)")
        return resp

    def PUT(self, req: Request) -> Response:
        if self.container in UNADDRESSABLE_NAMES or not self.container.strip():
            return plain_response(400, "Container name %r is not allowed: clients and proxies "
                                  "that normalise paths cannot address it" % self.container)
        name_bytes = len(self.container.encode("utf-8"))
        limit = self.cluster.constraints.max_container_name_length
        if name_bytes > limit:
            return plain_response(400, "Container name length of %d longer than %d"
                                  % (name_bytes, limit))
        error = self._clean_request(req)
        if error is not None:
            return error
        extra = {}
        # An empty X-Storage-Policy asks for the default, like no header at all.
        policy_name = req.headers.get("X-Storage-Policy", "").strip()
        if policy_name:
            policy = self.cluster.policies.get_by_name(policy_name)
            if policy is None:
                return plain_response(400, "Invalid X-Storage-Policy %r" % policy_name)
            if policy.deprecated:
                return plain_response(400, "Storage Policy %r is deprecated" % policy.name)
            extra[POLICY_INDEX_HEADER] = str(policy.index)
        else:
            extra[POLICY_DEFAULT_HEADER] = str(self.cluster.policies.default.index)
        missing = self._account_missing(req)
        if missing is not None:
            return missing
        max_containers = self.conf.max_containers_per_account
        if max_containers > 0 and not req.environ.get("reseller_request"):
            count = self.account_info(req).get("container_count", 0)
            if count >= max_containers and not self._exists(req):
                return plain_response(403, "Reached container limit of %d" % max_containers)
        return self._send(req, "PUT", self._headers_list(req, Timestamp.now(), extra))

    def _exists(self, req: Request) -> bool:
        return 200 <= self.container_info(req).get("status", 0) < 300

    def POST(self, req: Request) -> Response:
        error = self._clean_request(req)
        if error is not None:
            return error
        # A policy named on POST changes nothing (a container keeps the policy
        # it was created in) and is not an error: clients resend it harmlessly.
        missing = self._account_missing(req)
        if missing is not None:
            return missing
        return self._send(req, "POST", self._headers_list(req, Timestamp.now(),
                                                         with_account=False))

    def DELETE(self, req: Request) -> Response:
        return self._send(req, "DELETE", self._headers_list(req, Timestamp.now()))
