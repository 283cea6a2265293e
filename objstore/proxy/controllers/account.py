"""Account requests: listings, metadata, and (when the operator allows) create/delete."""
from __future__ import annotations

from typing import Optional

from webob import Request, Response

from objstore.common.constraints import MetadataError, check_metadata
from objstore.common.listing_format import (choose_media_type, content_type_header,
                                            listing_is_empty_plain, render_listing)
from objstore.common.timestamp import Timestamp
from objstore.common.reserved_names import ALLOW_RESERVED_HEADER, allows_reserved
from objstore.proxy import info_cache
from objstore.proxy.controllers.base import Controller
from objstore.proxy.responses import (client_visible_headers, plain_response,
                                      with_removals_applied)

ACCOUNT_ACL_SYSMETA = "X-Account-Sysmeta-Core-Access-Control"
OWNER_ONLY_ACCOUNT_HEADERS = ("x-account-meta-temp-url-key", "x-account-meta-temp-url-key-2",
                              "x-account-access-control")


def check_listing_limit(req: Request, maximum: int) -> Optional[Response]:
    """412 for a ``limit`` above the cluster maximum.

    A ``limit`` that is not all digits (``-1``, ``abc``) is ignored, as Swift
    ignores it: the listing server then uses its default.
    """
    raw = req.GET.get("limit", "")
    if raw.isascii() and raw.isdigit() and int(raw) > maximum:
        return plain_response(412, "Maximum limit is %d" % maximum, request_method=req.method)
    return None


def strip_owner_only_headers(req: Request, names: tuple, prefixes: tuple = ()) -> None:
    """Only the account owner may set ACLs and keys; others' attempts are dropped.

    (Sysmeta is left alone: middlewares set it on users' behalf; keeping
    clients from sending it is the outermost middleware's job, as in Swift.)
    """
    if req.environ.get("swift_owner"):
        return
    for key in list(req.headers.keys()):
        lower = key.lower()
        if lower in names or any(lower.startswith(p) for p in prefixes):
            del req.headers[key]


def autocreate_account(ctrl: Controller, req: Request, account: str) -> bool:
    """PUT the account on its nodes (fresh timestamp); True when a quorum has it."""
    ring = ctrl.ctx.account_ring
    part, nodes = ring.get_nodes(account)
    headers = [ctrl.base_headers(Timestamp.now()) for _ in nodes]
    answers, replicas = ctrl.make_requests(ring, part, "PUT", "/%s" % account, headers)
    info_cache.invalidate(req.environ, account)
    ok = sum(1 for a in answers if 200 <= a.status < 300)
    if ok >= ctrl.quorum(ring):
        ctrl.logger.info("auto-created account %s", account)
        return True
    ctrl.logger.error("could not auto-create account %s: %s", account,
                      [a.status for a in answers])
    return False


class AccountController(Controller):
    server_type = "Account"

    def _name_error(self, req: Request) -> Optional[Response]:
        limit = self.cluster.constraints.max_account_name_length
        if len(self.account.encode("utf-8")) > limit:
            return plain_response(400, "Account name length of %d longer than %d" % (
                len(self.account.encode("utf-8")), limit), request_method=req.method)
        return None

    def GETorHEAD(self, req: Request) -> Response:
        error = self._name_error(req)
        if error is None and req.method == "GET":
            error = check_listing_limit(req, self.cluster.constraints.account_listing_limit)
        if error is not None:
            return error
        ring = self.ctx.account_ring
        part = ring.get_nodes(self.account)[0]
        headers = self.base_headers()
        if req.headers.get("Accept"):
            headers["Accept"] = req.headers["Accept"]
        if allows_reserved(req.headers):
            headers[ALLOW_RESERVED_HEADER] = "true"
        not_found: list = []
        found, statuses = self.read_first(req, ring, part, "/%s" % self.account, headers,
                                          req.query_string, not_found)
        if found is not None:
            info_cache.store(req.environ, self.account, None,
                             info_cache.account_info_from_headers(found.status, found.headers))
            return self._passthrough(req, found)
        if 404 in statuses:
            info_cache.store(req.environ, self.account, None,
                             info_cache.account_info_from_headers(404, {}))
            if any(resp.headers.get("X-Account-Status", "").lower() == "deleted"
                   for resp in not_found):
                # deleted by a reseller admin, the reaper at work: never shown
                # as the empty account autocreate would pretend
                return plain_response(410, "Gone", {"X-Account-Status": "Deleted"},
                                      request_method=req.method)
            if self.conf.account_autocreate:
                return self._empty_account(req)
            return plain_response(404, "Not Found", request_method=req.method)
        return plain_response(503, "Service Unavailable", request_method=req.method)

    GET = HEAD = GETorHEAD

    def _passthrough(self, req: Request, found) -> Response:
        resp = Response(status=found.status)
        resp.headers.clear()
        for key, value in client_visible_headers(found.headers.items()):
            resp.headers[key] = value
        if req.environ.get("swift_owner"):
            stored_acl = found.headers.get(ACCOUNT_ACL_SYSMETA)
            if stored_acl:
                resp.headers["X-Account-Access-Control"] = stored_acl
        else:
            for name in OWNER_ONLY_ACCOUNT_HEADERS:
                resp.headers.pop(name, None)
        if req.method == "HEAD":
            resp.headers.pop("Content-Length", None)
            resp.body = b""
            if "content-length" in found.headers:
                resp.headers["Content-Length"] = found.headers["content-length"]
            return resp
        resp.body = found.body
        return resp

    def _empty_account(self, req: Request) -> Response:
        """Swift answers a never-written account as if it existed, empty."""
        now = Timestamp.now()
        headers = {"X-Account-Container-Count": "0", "X-Account-Object-Count": "0",
                   "X-Account-Bytes-Used": "0", "X-Timestamp": now.normal,
                   "X-Put-Timestamp": now.normal}
        media_type = choose_media_type(req.GET.get("format"), req.headers.get("Accept"))
        if media_type is None:
            return plain_response(406, "Not Acceptable", request_method=req.method)
        if req.method == "HEAD" or listing_is_empty_plain([], media_type):
            resp = Response(status=204)
            resp.headers.clear()
            resp.headers.update(headers)
            resp.headers["Content-Type"] = content_type_header(media_type)
            resp.headers["Content-Length"] = "0"
            return resp
        resp = Response(status=200)
        resp.headers.update(headers)
        resp.body = render_listing([], media_type, "account", self.account)
        resp.headers["Content-Type"] = content_type_header(media_type)
        return resp

    def _write(self, req: Request, method: str) -> list:
        ring = self.ctx.account_ring
        part, nodes = ring.get_nodes(self.account)
        timestamp = Timestamp.now()
        sent = {k: v for k, v in with_removals_applied(req.headers, "account").items()
                if k.lower().startswith(("x-account-meta-", "x-account-sysmeta-",
                                         "x-account-access-control"))}
        headers_list = []
        for _ in nodes:
            headers = self.base_headers(timestamp)
            headers.update(sent)
            headers_list.append(headers)
        answers, _ = self.make_requests(ring, part, method, "/%s" % self.account, headers_list)
        info_cache.invalidate(req.environ, self.account)
        return answers

    def _check_meta(self, req: Request) -> Optional[Response]:
        error = self._name_error(req)
        if error is not None:
            return error
        strip_owner_only_headers(req, OWNER_ONLY_ACCOUNT_HEADERS)
        try:
            check_metadata(req.headers, "account", self.cluster.constraints)
        except MetadataError as err:
            return plain_response(400, str(err))
        return None

    def PUT(self, req: Request) -> Response:
        if not self.conf.allow_account_management:
            return plain_response(405, "Method Not Allowed", {"Allow": self.allowed()})
        error = self._check_meta(req)
        if error is not None:
            return error
        answers = self._write(req, "PUT")
        return self.best_response(req, answers, self.ctx.account_ring.replica_count, "account")

    def POST(self, req: Request) -> Response:
        error = self._check_meta(req)
        if error is not None:
            return error
        answers = self._write(req, "POST")
        replicas = self.ctx.account_ring.replica_count
        if (self.conf.account_autocreate
                and sum(1 for a in answers if a.status == 404) >= self.quorum(
                    self.ctx.account_ring)):
            if autocreate_account(self, req, self.account):
                answers = self._write(req, "POST")
        return self.best_response(req, answers, replicas, "account")

    def DELETE(self, req: Request) -> Response:
        if not self.conf.allow_account_management:
            return plain_response(405, "Method Not Allowed", {"Allow": self.allowed()})
        if req.query_string:
            return plain_response(400, "Bad Request (query string on account DELETE)")
        answers = self._write(req, "DELETE")
        return self.best_response(req, answers, self.ctx.account_ring.replica_count, "account")

    def allowed(self) -> str:
        verbs = ["GET", "HEAD", "POST"]
        if self.conf.allow_account_management:
            verbs += ["PUT", "DELETE"]
        return ", ".join(sorted(verbs))
