"""Account quotas: a ceiling, set by the reseller, on what one account stores.

- ``X-Account-Quota-Bytes``: the most bytes the account may hold;
- ``X-Account-Quota-Count``: the most objects;
- ``X-Account-Meta-Quota-Bytes``: the older spelling of the bytes quota,
  still accepted;
- ``X-Account-Quota-Bytes-Policy-<policy name>`` and
  ``X-Account-Quota-Count-Policy-<policy name>``: the same, counting only
  what the account stores in containers of that storage policy.

Only a reseller admin (``reseller_request`` in the environ, which the auth
middleware sets) may set or remove them (``X-Remove-Account-Quota-Bytes`` and so on);
anyone else who tries gets 403, and a value that is not a whole number 400.
They are kept as account system metadata, so the account's own users can
see them (HEAD shows ``X-Account-Quota-Bytes``) but not change them.

An object PUT, or a copy, that would take the account past a quota gets
413; the reseller's own uploads are never limited.  The account's totals
come from the container updaters, so they trail recent uploads by a pass,
and the cached account info by up to ``recheck_account_existence``.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterable, Mapping, Optional

from webob import Request, Response

from objstore.common.cluster_config import ClusterConfig
from objstore.common.config import ConfigSection
from objstore.common.pipeline import typed_factory
from objstore.common.storage_policy import PolicyCollection
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


def quota_names(policies: PolicyCollection) -> list[tuple[str, str]]:
    """(client header tail, sysmeta tail) of every quota: overall, then per policy.

    Per-policy quotas are named by the policy's name and kept by its index,
    so renaming a policy keeps its quotas.
    """
    names = [(kind, kind) for kind in QUOTA_KINDS]
    for policy in policies:
        names.extend(("%s-Policy-%s" % (kind, policy.name), "%s-Policy-%d" % (kind, policy.index))
                     for kind in QUOTA_KINDS)
    return names


def translate_quota_headers(req: Request, policies: PolicyCollection) -> None:
    """Move a reseller's quota headers to system metadata; refuse anyone else's.

    Raises QuotaHeaderError (403 for a non-reseller, 400 for a bad number).
    """
    for legacy, current in LEGACY_BYTES_HEADERS:
        if req.headers.get(legacy) is not None and not req.headers.get(current):
            req.headers[current] = req.headers[legacy]
    requested: dict[str, str] = {}
    for tail, stored in quota_names(policies):
        value = req.headers.pop("X-Account-%s" % tail, None)
        if req.headers.pop("X-Remove-Account-%s" % tail, None):
            value = ""  # removal wins over a value sent alongside
        if value is not None:
            requested[stored] = value.strip()
    if not requested:
        return
    if req.environ.get("reseller_request") is not True:
        raise QuotaHeaderError(403, "Only a reseller admin may set account quotas")
    for stored, value in requested.items():
        if value and not value.isdigit():
            raise QuotaHeaderError(400, "Invalid account quota: %r is not a whole number"
                                   % value)
        req.headers["X-Account-Sysmeta-%s" % stored] = value


@dataclasses.dataclass(frozen=True)
class AccountQuotasConfig(ConfigSection):
    """No options: the quotas are account metadata.  A stray option is refused."""


class AccountQuotas:
    """WSGI filter; see the module docstring."""

    def __init__(self, app: Callable, cluster: ClusterConfig):
        self.app = app
        self.cluster = cluster

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        target = api_target(environ, self.cluster.constraints.valid_api_versions)
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
                translate_quota_headers(req, self.cluster.policies)
            except QuotaHeaderError as err:
                return plain_response(err.status, err.reason)
        resp = req.get_response(self.app)
        for tail, stored in quota_names(self.cluster.policies):
            value = resp.headers.get("X-Account-Sysmeta-%s" % stored)
            if value:
                resp.headers["X-Account-%s" % tail] = value
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
        container_info = info_cache.get_container_info(req.environ, self.app, account,
                                                       container)
        if not over and 200 <= container_info.get("status", 0) < 300:
            over = self.over_policy_quota(req, info, container_info.get("storage_policy"))
        if not over:
            return None
        return refuse_upload(req, container_info.get("write_acl"))

    def over_policy_quota(self, req: Request, info: dict, policy_index: Optional[str]) -> bool:
        """Whether the upload takes the container's policy past the account's quota for it."""
        policy = self.cluster.policies.get_by_index(policy_index)
        if policy is None:
            return False
        sysmeta = info.get("sysmeta") or {}
        used = (info.get("storage_policies") or {}).get(policy.name.lower(), {})
        max_bytes = quota_value(sysmeta, "quota-bytes-policy-%d" % policy.index)
        if max_bytes is not None and used.get("bytes", 0) + upload_size(req) > max_bytes:
            return True
        max_count = quota_value(sysmeta, "quota-count-policy-%d" % policy.index)
        return max_count is not None and used.get("object_count", 0) + 1 > max_count


@typed_factory(AccountQuotasConfig)
def filter_factory(cluster: ClusterConfig, conf: AccountQuotasConfig,
                   raw: Mapping[str, Any]) -> Callable[[Callable], AccountQuotas]:
    cluster.capabilities.register("account_quotas")

    def make_filter(app: Callable) -> AccountQuotas:
        return AccountQuotas(app, cluster)
    return make_filter
