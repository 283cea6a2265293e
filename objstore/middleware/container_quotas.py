"""Container quotas: a ceiling on the bytes and objects one container holds.

Whoever may set the container's metadata sets the quotas:

- ``X-Container-Meta-Quota-Bytes``: the most bytes the container may hold;
- ``X-Container-Meta-Quota-Count``: the most objects.

An object PUT (and so a copy, which arrives here as a PUT of the source's
length) that would take the container past either is refused with 413.
Every object counts as its listing says: a segment counts where it is
uploaded, a DLO manifest is one empty object, and an SLO manifest PUT
counts the bytes of its JSON (its listing row then carries the whole large
object's size, which later uploads see).  The check reads the cached
container totals, so uploads racing each other, or made within the cache's
lifetime, can overshoot; a chunked upload (no Content-Length) counts as 0.

A quota that is not a whole number is refused with 400 when it is set.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterable, Mapping

from webob import Request

from objstore.common.cluster_config import ClusterConfig
from objstore.common.config import ConfigSection
from objstore.common.pipeline import typed_factory
from objstore.middleware.quota import quota_value, refuse_upload, upload_size
from objstore.middleware.request_path import api_target
from objstore.proxy import info_cache
from objstore.proxy.responses import plain_response

QUOTA_HEADERS = (("X-Container-Meta-Quota-Bytes", "Invalid bytes quota."),
                 ("X-Container-Meta-Quota-Count", "Invalid count quota."))


@dataclasses.dataclass(frozen=True)
class ContainerQuotasConfig(ConfigSection):
    """No options: the quotas are container metadata.  A stray option is refused."""


class ContainerQuotas:
    """WSGI filter; see the module docstring."""

    def __init__(self, app: Callable, cluster: ClusterConfig):
        self.app = app
        self.api_versions = cluster.constraints.valid_api_versions

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        target = api_target(environ, self.api_versions)
        if target is None or target[1] is None:
            return self.app(environ, start_response)
        account, container, obj = target
        method = environ.get("REQUEST_METHOD")
        req = Request(environ)
        if obj is None and method in ("PUT", "POST"):
            for header, reason in QUOTA_HEADERS:
                value = req.headers.get(header)
                if value and not value.isdigit():
                    return plain_response(400, reason)(environ, start_response)
        elif obj is not None and method == "PUT":
            info = info_cache.get_container_info(environ, self.app, account, container)
            if 200 <= info.get("status", 0) < 300 and self.over_quota(req, info):
                return refuse_upload(req, info.get("write_acl"))(environ, start_response)
        return self.app(environ, start_response)

    @staticmethod
    def over_quota(req: Request, info: dict) -> bool:
        meta = info.get("meta") or {}
        max_bytes = quota_value(meta, "quota-bytes")
        if max_bytes is not None and info.get("bytes", 0) + upload_size(req) > max_bytes:
            return True
        max_count = quota_value(meta, "quota-count")
        return max_count is not None and info.get("object_count", 0) + 1 > max_count


@typed_factory(ContainerQuotasConfig)
def filter_factory(cluster: ClusterConfig, conf: ContainerQuotasConfig,
                   raw: Mapping[str, Any]) -> Callable[[Callable], ContainerQuotas]:
    cluster.capabilities.register("container_quotas")

    def make_filter(app: Callable) -> ContainerQuotas:
        return ContainerQuotas(app, cluster)
    return make_filter
