"""Account quotas: a ceiling, set by the reseller, on what one account stores.

- ``X-Account-Quota-Bytes``: the most bytes the account may hold;
- ``X-Account-Quota-Count``: the most objects;
- ``X-Account-Meta-Quota-Bytes``: the older spelling of the bytes quota,
  still accepted.

Only a reseller admin (``reseller_request`` in the environ, which the auth
middleware sets) may set or remove them (``X-Remove-Account-Quota-Bytes``);
anyone else who tries gets 403, and a value that is not a whole number 400.
They are kept as account system metadata, so the account's own users can
see them (HEAD shows ``X-Account-Quota-Bytes``) but not change them.

An object PUT, or a copy, that would take the account past a quota gets
413; the reseller's own uploads are never limited.  The account's totals
come from the container updaters, so they trail recent uploads by a pass,
and the cached account info by up to ``recheck_account_existence``.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

from webob import Request, Response

from objstore.common.capabilities import register_capability
from objstore.middleware.quota import quota_value, refuse_upload, upload_size
from objstore.middleware.request_path import api_target
from objstore.proxy import info_cache
from objstore.proxy.responses import plain_response

QUOTA_KINDS = ("Quota-Bytes", "Quota-Count")
LEGACY_BYTES_HEADERS = (("X-Account-Meta-Quota-Bytes", "X-Account-Quota-Bytes"),
                        ("X-Remove-Account-Meta-Quota-Bytes", "X-Remove-Account-Quota-Bytes"))


class QuotaHeaderError(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def translate_quota_headers(req: Request) -> None:
    """Move a reseller's quota headers to system metadata; refuse anyone else's.

    Raises QuotaHeaderError (403 for a non-reseller, 400 for a bad number).
    """
    for legacy, current in LEGACY_BYTES_HEADERS:
        if req.headers.get(legacy) is not None and not req.headers.get(current):
            req.headers[current] = req.headers[legacy]
    requested: dict[str, str] = {}
    for kind in QUOTA_KINDS:
        value = req.headers.get("X-Account-%s" % kind)
        if req.headers.get("X-Remove-Account-%s" % kind):
            value = ""  # removal wins over a value sent alongside
        if value is not None:
            requested[kind] = value.strip()
    if not requested:
        return
    if req.environ.get("reseller_request") is not True:
        raise QuotaHeaderError(403, "Only a reseller admin may set account quotas")
    for kind, value in requested.items():
        if value and not value.isdigit():
            raise QuotaHeaderError(400, "Invalid %s: %r is not a whole number"
                                   % (kind.lower().replace("-", " "), value))
        req.headers["X-Account-Sysmeta-%s" % kind] = value
        req.headers.pop("X-Account-%s" % kind, None)
        req.headers.pop("X-Remove-Account-%s" % kind, None)


class AccountQuotas:
    """WSGI filter; see the module docstring."""

    def __init__(self, app: Callable):
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        target = api_target(environ)
        if target is None:
            return self.app(environ, start_response)
        account, container, obj = target
        req = Request(environ)
        if container is None:
            return self.account_request(req)(environ, start_response)
        if obj is not None and req.method == "PUT" and \
                environ.get("reseller_request") is not True:
            refused = self.check_upload(req, account, container)
            if refused is not None:
                return refused(environ, start_response)
        return self.app(environ, start_response)

    def account_request(self, req: Request) -> Response:
        if req.method in ("PUT", "POST"):
            try:
                translate_quota_headers(req)
            except QuotaHeaderError as err:
                return plain_response(err.status, err.reason)
        resp = req.get_response(self.app)
        for kind in QUOTA_KINDS:
            value = resp.headers.get("X-Account-Sysmeta-%s" % kind)
            if value:
                resp.headers["X-Account-%s" % kind] = value
        return resp

    def check_upload(self, req: Request, account: str, container: str) -> Optional[Response]:
        info = info_cache.get_account_info(req.environ, self.app, account)
        if not 200 <= info.get("status", 0) < 300:
            return None
        sysmeta, meta = info.get("sysmeta") or {}, info.get("meta") or {}
        max_bytes = quota_value(sysmeta, "quota-bytes")
        if max_bytes is None:
            max_bytes = quota_value(meta, "quota-bytes")
        over = max_bytes is not None and info.get("bytes", 0) + upload_size(req) > max_bytes
        max_count = quota_value(sysmeta, "quota-count")
        if max_count is not None and info.get("total_object_count", 0) + 1 > max_count:
            over = True
        if not over:
            return None
        container_info = info_cache.get_container_info(req.environ, self.app, account,
                                                       container)
        return refuse_upload(req, container_info.get("write_acl"))


def filter_factory(global_conf: dict, **local_conf: Any) -> Callable[[Callable], AccountQuotas]:
    register_capability("account_quotas")
    return AccountQuotas
