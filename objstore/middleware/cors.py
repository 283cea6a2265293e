"""CORS: lets a web page on another origin call the Swift API from a browser.

A browser sends a *preflight* (``OPTIONS`` with ``Origin`` and
``Access-Control-Request-Method``) before any request a page could not
make with a plain form, then the *actual* request with ``Origin``.  What a
container allows lives in its metadata, and covers the container and every
object in it:

- ``X-Container-Meta-Access-Control-Allow-Origin``: origins, space separated
  (``*`` for any);
- ``X-Container-Meta-Access-Control-Max-Age``: seconds a browser may reuse
  a preflight answer;
- ``X-Container-Meta-Access-Control-Expose-Headers``: response headers the
  page may read, beyond the ones always exposed.

The operator adds origins for every container with ``cors_allow_origin``
and headers with ``cors_expose_headers``.  Accounts have no CORS metadata,
so only ``cors_allow_origin`` opens them.  ``strict_cors_mode`` (on by
default) keeps actual requests from origins nobody allowed free of CORS
headers, so the browser hides the answer from the page; off, every origin
gets them (the pre-2014 Swift behaviour some deployments still rely on).

Preflights carry no credentials, so this filter answers them itself, after
asking the auth middleware (tempauth lets ``OPTIONS`` through).  It sits
right after auth, where OpenStack Swift's proxy app would act: the
container's metadata is one cached HEAD away, and the answers of the
filters below (a copy, a large object assembled from segments, a quota's
413) reach the page with their CORS headers.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterable, Mapping, Optional

from webob import Request, Response

from objstore.common.cluster_config import ClusterConfig
from objstore.common.config import ConfigSection
from objstore.common.pipeline import typed_factory
from objstore.middleware.request_path import api_target
from objstore.proxy import info_cache

# Response headers a page may always read: the CORS "simple response
# headers" plus the ones every Swift client looks at.
ALWAYS_EXPOSED = ("cache-control", "content-language", "content-type", "expires",
                  "last-modified", "pragma", "etag", "x-timestamp", "x-trans-id",
                  "x-openstack-request-id")
EXPOSED_META_PREFIXES = ("x-container-meta-", "x-object-meta-")
CONTAINER_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT")
ACCOUNT_METHODS = ("GET", "HEAD", "OPTIONS", "POST")


@dataclasses.dataclass
class CorsConfig(ConfigSection):
    # Origins allowed on every container (and on accounts), besides each
    # container's own list.  Comma separated.
    cors_allow_origin: list = dataclasses.field(default_factory=list)
    # Only allowed origins get CORS headers on actual requests.
    strict_cors_mode: bool = True
    # Headers exposed on every actual request, besides the defaults.
    cors_expose_headers: list = dataclasses.field(default_factory=list)

    def validate(self) -> None:
        self.cors_allow_origin = [origin.strip() for origin in self.cors_allow_origin
                                  if origin.strip()]
        self.cors_expose_headers = [name.strip().lower() for name in self.cors_expose_headers
                                    if name.strip()]


@dataclasses.dataclass
class CorsRules:
    """What one resource allows: its container's CORS metadata (empty for accounts)."""
    allow_origin: str = ""
    expose_headers: str = ""
    max_age: Optional[str] = None

    @classmethod
    def from_container_info(cls, info: dict) -> "CorsRules":
        cors = info.get("cors") or {}
        return cls(allow_origin=cors.get("allow_origin") or "",
                   expose_headers=cors.get("expose_headers") or "",
                   max_age=cors.get("max_age"))

    @property
    def any_origin(self) -> bool:
        """The container itself says ``*``: answers name ``*``, not the caller."""
        return self.allow_origin.strip() == "*"


def _add_vary(headers: Any, name: str) -> None:
    headers["Vary"] = "%s, %s" % (headers["Vary"], name) if headers.get("Vary") else name


def _header_list(value: Optional[str]) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


class Cors:
    """WSGI filter; see the module docstring."""

    def __init__(self, app: Callable, settings: CorsConfig, cluster: ClusterConfig):
        self.app = app
        self.settings = settings
        self.cluster = cluster

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        target = api_target(environ, self.cluster.constraints.valid_api_versions)
        if target is None:
            return self.app(environ, start_response)
        req = Request(environ)
        if req.method == "OPTIONS":
            return self.options(req, *target)(environ, start_response)
        origin = req.headers.get("Origin")
        if not origin:
            # not from a browser page (sub-requests carry no Origin either)
            return self.app(environ, start_response)
        account, container, _obj = target
        rules = self._rules(req, account, container)
        resp = req.get_response(self.app)
        self.decorate(resp, origin, rules, account_level=container is None)
        return resp(environ, start_response)

    def _rules(self, req: Request, account: str, container: Optional[str]) -> CorsRules:
        if container is None:
            return CorsRules()
        info = info_cache.get_container_info(req.environ, self.app, account, container)
        return CorsRules.from_container_info(info)

    def origin_allowed(self, origin: str, rules: CorsRules) -> bool:
        allowed = set(rules.allow_origin.split()) | set(self.settings.cors_allow_origin)
        return origin in allowed or "*" in allowed

    # -- preflight ---------------------------------------------------------------
    def options(self, req: Request, account: str, container: Optional[str],
                obj: Optional[str]) -> Response:
        """The preflight answer: 200 with what is allowed, or 401."""
        authorize = req.environ.get("swift.authorize")
        if authorize is not None and not req.environ.get("swift.authorize_override"):
            denied = authorize(req)
            if denied is not None:
                return denied
        methods = self.allowed_methods(container, obj)
        resp = Response(status=200, headerlist=[("Content-Length", "0")])
        resp.headers["Allow"] = ", ".join(methods)
        origin = req.headers.get("Origin")
        if not origin:
            return resp
        rules = self._rules(req, account, container)
        if not self.origin_allowed(origin, rules) or \
                req.headers.get("Access-Control-Request-Method") not in methods:
            resp.status = 401
            return resp
        if rules.any_origin:
            resp.headers["Access-Control-Allow-Origin"] = "*"
        else:
            resp.headers["Access-Control-Allow-Origin"] = origin
            _add_vary(resp.headers, "Origin")
        if rules.max_age is not None:
            resp.headers["Access-Control-Max-Age"] = rules.max_age
        resp.headers["Access-Control-Allow-Methods"] = ", ".join(methods)
        # Any header may be sent: answer with exactly the ones asked for.
        requested = _header_list(req.headers.get("Access-Control-Request-Headers"))
        if requested:
            resp.headers["Access-Control-Allow-Headers"] = ", ".join(
                dict.fromkeys(name.lower() for name in requested))
            _add_vary(resp.headers, "Access-Control-Request-Headers")
        return resp

    def allowed_methods(self, container: Optional[str], obj: Optional[str]) -> tuple[str, ...]:
        """The verbs this cluster serves on the resource, as /info describes the pipeline."""
        installed = self.cluster.capabilities.as_info(only=["swift", "copy"])
        if obj is not None:
            # COPY exists only when the copy filter is installed
            return CONTAINER_METHODS + (("COPY",) if "copy" in installed else ())
        if container is not None:
            return CONTAINER_METHODS
        # Account PUT/DELETE exist only when the operator allows account management.
        if installed.get("swift", {}).get("allow_account_management"):
            return CONTAINER_METHODS
        return ACCOUNT_METHODS

    # -- actual requests ---------------------------------------------------------
    def decorate(self, resp: Response, origin: str, rules: CorsRules,
                 account_level: bool = False) -> None:
        """Add what lets the browser hand ``resp`` to the page (when the origin may have it)."""
        allowed = self.origin_allowed(origin, rules)
        if not allowed and (self.settings.strict_cors_mode or account_level):
            return
        if "Access-Control-Expose-Headers" not in resp.headers:
            exposed = set(ALWAYS_EXPOSED)
            exposed.update(self.settings.cors_expose_headers)
            exposed.update(name.lower() for name in resp.headers
                           if name.lower().startswith(EXPOSED_META_PREFIXES))
            exposed.update(name.lower() for name in rules.expose_headers.split())
            resp.headers["Access-Control-Expose-Headers"] = ", ".join(sorted(exposed))
        if "Access-Control-Allow-Origin" not in resp.headers:
            if rules.any_origin:
                resp.headers["Access-Control-Allow-Origin"] = "*"
            else:
                resp.headers["Access-Control-Allow-Origin"] = origin
                _add_vary(resp.headers, "Origin")


@typed_factory(CorsConfig)
def filter_factory(cluster: ClusterConfig, settings: CorsConfig,
                   raw: Mapping[str, Any]) -> Callable[[Callable], Cors]:
    cluster.capabilities.register("swift", strict_cors_mode=settings.strict_cors_mode)

    def cors_filter(app: Callable) -> Cors:
        return Cors(app, settings, cluster)
    return cors_filter
