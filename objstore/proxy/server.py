"""The proxy application: turns Swift v1 API requests into backend requests.

It parses ``/v1/<account>[/<container>[/<object>]]``, picks a controller and
its verb-named handler, runs the auth hook (Swift's ``swift.authorize``
contract), and stamps every answer with the transaction id.  Controllers get
a :class:`ProxyContext`: rings, node health, config and a logger.
"""
from __future__ import annotations

import json
import os
from typing import Any, Callable, Iterable, Optional

from webob import Request, Response

from objstore.common.cluster_config import ClusterConfig
from objstore.common.http_text import wsgi_is_utf8, wsgi_to_str
from objstore.common.logs import get_logger, new_trans_id, set_trans_id
from objstore.common.path_hash import PathHasher
from objstore.common.pipeline import typed_factory
from objstore.common.reserved_names import allows_reserved
from objstore.proxy import info_cache
from objstore.proxy.controllers.account import AccountController
from objstore.proxy.controllers.base import Controller, ProxyContext
from objstore.proxy.controllers.container import ContainerController
from objstore.proxy.controllers.obj import BaseObjectController, ObjectControllerRouter
from objstore.proxy.controllers.obj.router import UnknownPolicy
from objstore.proxy.node_health import NodeHealth
from objstore.proxy.responses import plain_response
from objstore.proxy.settings import ProxyConfig
from objstore.ring.protocol import RingReader

VERSION = "0.1.0"
HANDLED_VERBS = ("GET", "HEAD", "PUT", "POST", "DELETE")


def _load_ring(swift_dir: str, name: str, hasher: PathHasher) -> RingReader:
    from objstore.ring.ring import load_ring  # the ring lands beside the proxy
    return load_ring(swift_dir, name, hasher)


class ProxyApp:
    """The WSGI app at the end of the proxy pipeline."""

    def __init__(self, cluster: ClusterConfig, conf: ProxyConfig, *,
                 account_ring: Optional[RingReader] = None,
                 container_ring: Optional[RingReader] = None,
                 object_rings: Optional[dict[int, RingReader]] = None,
                 logger: Any = None):
        self.cluster = cluster
        self.conf = conf
        self.logger = logger or get_logger(conf.log_name)
        self.object_controllers = ObjectControllerRouter(cluster.policies)
        hasher = cluster.hasher
        self.account_ring = account_ring or _load_ring(conf.swift_dir, "account", hasher)
        self.container_ring = container_ring or _load_ring(conf.swift_dir, "container", hasher)
        self._object_rings: dict[int, RingReader] = dict(object_rings or {})
        for policy in cluster.policies:
            # a missing ring should stop the proxy at start-up, not fail requests later
            self.object_ring(policy.index)
        self.health = NodeHealth(conf.error_suppression_interval,
                                 conf.error_suppression_limit, self.logger)
        self.info_cache = info_cache.InfoCache(conf.recheck_container_existence,
                                               conf.recheck_account_existence)
        # the filters above see the cache from the pipeline's entrance
        self.environ_defaults = {info_cache.PROXY_CACHE_KEY: self.info_cache}
        self.ctx = ProxyContext(conf=conf, cluster=cluster, account_ring=self.account_ring,
                                container_ring=self.container_ring,
                                object_ring_for=self.object_ring, health=self.health,
                                logger=self.logger, wsgi_app=self)
        # Only what this proxy does: CORS settings appear when the cors
        # middleware is installed and registers them.
        cluster.capabilities.register(
            "swift", version=VERSION, allow_account_management=conf.allow_account_management,
            account_autocreate=conf.account_autocreate,
            allow_open_expired=conf.allow_open_expired,
            policies=cluster.policies.info(), **cluster.constraints.as_info())

    def object_ring(self, policy_index: int) -> RingReader:
        ring = self._object_rings.get(policy_index)
        if ring is None:
            policy = self.cluster.policies.get_by_index(policy_index)
            name = policy.ring_name if policy is not None else "object"
            ring = self._object_rings[policy_index] = _load_ring(
                self.conf.swift_dir, name, self.cluster.hasher)
        return ring

    # -- WSGI ----------------------------------------------------------------------
    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        trans_id = environ.get("swift.trans_id")
        if not trans_id:
            trans_id = new_trans_id(environ.get("HTTP_X_TRANS_ID_EXTRA", ""))
            environ["swift.trans_id"] = trans_id
        set_trans_id(trans_id)
        environ[info_cache.PROXY_CACHE_KEY] = self.info_cache
        if info_cache.answer_from_cache(environ):
            # an info sub-request whose answer the cache already gave the caller
            return Response(status=204)(environ, start_response)
        if not environ.get("swift.source"):
            for key in [k for k in environ if k.startswith("HTTP_X_BACKEND_")]:
                del environ[key]
        req = Request(environ)
        try:
            resp = self.handle_request(req)
        except Exception:  # noqa: BLE001 - a client never sees a traceback
            self.logger.exception("ERROR unhandled exception in %s %s", req.method,
                                  environ.get("PATH_INFO"))
            resp = plain_response(500, "Internal Server Error", request_method=req.method)
        resp.headers["X-Trans-Id"] = trans_id
        resp.headers["X-Openstack-Request-Id"] = trans_id
        return resp(environ, start_response)

    def handle_request(self, req: Request) -> Response:
        raw_path = req.environ.get("PATH_INFO", "")
        if not wsgi_is_utf8(raw_path, allow_nul=allows_reserved(req.headers)):
            return plain_response(400, "Invalid UTF8 or contains NULL",
                                  request_method=req.method)
        path = wsgi_to_str(raw_path)
        if path.rstrip("/") == "/info":
            return self.info(req)
        root, *segments = path.split("/", 4)
        if root or not all(segments[:-1]):
            # an empty segment in the middle (``/v1//c/o``) names nothing
            return plain_response(404, "Not Found", request_method=req.method)
        version, account, container, obj = (segments + [""] * 4)[:4]
        if not account:
            # ``/v1``, ``/info asdf``, ``/anything``: no resource is named at all.
            return plain_response(412, "Bad URL", request_method=req.method)
        if version not in self.cluster.constraints.valid_api_versions:
            return plain_response(400, "Invalid API version %r" % version,
                                  request_method=req.method)
        controller_class: type[Controller] = (
            BaseObjectController if obj else ContainerController if container
            else AccountController)
        if req.method not in HANDLED_VERBS or not hasattr(controller_class, req.method):
            return plain_response(405, "Method Not Allowed",
                                  {"Allow": ", ".join(HANDLED_VERBS)},
                                  request_method=req.method)
        controller: Controller
        if obj:
            info = info_cache.get_container_info(req.environ, self, account, container)
            try:
                controller = self.object_controllers.controller(self.ctx, account, container,
                                                                obj, info)
            except UnknownPolicy as err:
                self.logger.error("container /%s/%s has unknown storage policy index %s",
                                  account, container, err)
                return plain_response(503, "Service Unavailable (unknown storage policy)",
                                      request_method=req.method)
        elif container:
            controller = ContainerController(self.ctx, account, container)
        else:
            controller = AccountController(self.ctx, account)
        handler = getattr(controller, req.method)
        authorize = req.environ.get("swift.authorize")
        denied = self._authorize(req, handler)
        if denied is not None:
            return denied
        try:
            return handler(req)
        finally:
            # The environ is the caller's: a middleware that goes on to make
            # sub-requests from it (DLO segments, copy sources) must still have
            # them checked, e.g. against a container-scoped temp URL.
            if authorize is not None:
                req.environ["swift.authorize"] = authorize

    @staticmethod
    def _authorize(req: Request, handler: Callable) -> Optional[Response]:
        """Ask once; a handler that knows the ACL later asks again (delay_denial)."""
        authorize = req.environ.get("swift.authorize")
        if authorize is None:
            return None
        req.acl = None
        denied = authorize(req)
        if not denied:
            # Allowed outright: the handler's later checks are skipped for this request only.
            del req.environ["swift.authorize"]
            return None
        if getattr(handler, "delay_denial", False):
            return None
        return denied

    def info(self, req: Request) -> Response:
        if req.method not in ("GET", "HEAD"):
            return plain_response(405, "Method Not Allowed", {"Allow": "GET, HEAD"},
                                  request_method=req.method)
        body = json.dumps(self.cluster.capabilities.as_info(), sort_keys=True).encode("utf-8")
        resp = Response(status=200, content_type="application/json", charset=None)
        resp.body = body
        return resp


@typed_factory(ProxyConfig)
def app_factory(cluster: ClusterConfig, conf: ProxyConfig, raw: dict) -> ProxyApp:
    """Pipeline entry point (``use = egg:objstore#proxy``)."""
    logger = get_logger(conf.log_name, raw)
    if not os.path.isdir(conf.swift_dir):
        logger.warning("swift_dir %s does not exist", conf.swift_dir)
    return ProxyApp(cluster, conf, logger=logger)
