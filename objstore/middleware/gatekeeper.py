"""The border between clients and the cluster's private headers.

System metadata (``X-<type>-Sysmeta-*``) is how middleware keeps state a user
must neither set nor see: account ACLs, versioning targets, large-object
markers.  ``X-Backend-*`` headers steer storage nodes.  A client that could
send either could grant itself access or confuse a node, so this filter sits
near the front of the pipeline (right after catch_errors) and removes them
from every request coming in and every response going out.  Middleware
behind it still sees and sets them freely, because its sub-requests never
pass back through here.

The ``swift_bytes`` parameter of ``Content-Type`` is private in the same
way: SLO appends it to a manifest's stored type so listings report the large
object's size; from a client it would make listings report any size it likes.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Any, Callable, Iterable, Mapping

from objstore.common.cluster_config import ClusterConfig
from objstore.common.config import ConfigSection
from objstore.common.listing_format import strip_swift_bytes
from objstore.common.pipeline import typed_factory


# Header names as the WSGI environ spells them (HTTP_X_..._SYSMETA_...).
_REQUEST_PRIVATE = re.compile(
    r"^HTTP_X_((ACCOUNT|CONTAINER|OBJECT)_SYSMETA_|OBJECT_TRANSIENT_SYSMETA_|BACKEND_)")
_RESPONSE_PRIVATE = re.compile(
    r"^x-((account|container|object)-sysmeta-|object-transient-sysmeta-|backend-)", re.I)


def strip_private_request_headers(environ: dict) -> list[str]:
    """Drop private headers from a client request's environ; returns what went."""
    removed = [key for key in environ if _REQUEST_PRIVATE.match(key)]
    for key in removed:
        del environ[key]
    for key in ("CONTENT_TYPE", "HTTP_CONTENT_TYPE"):
        if key in environ:
            environ[key] = strip_swift_bytes(environ[key])
    return removed


def is_private_response_header(name: str) -> bool:
    return bool(_RESPONSE_PRIVATE.match(name))


@dataclasses.dataclass(frozen=True)
class GatekeeperConfig(ConfigSection):
    """No options yet: the section exists so a stray option is refused."""


class GatekeeperMiddleware:
    def __init__(self, app: Callable):
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        strip_private_request_headers(environ)

        def guarded_start(status: str, headers: list, exc_info: Any = None) -> Callable:
            public = [(k, v) for k, v in headers if not is_private_response_header(k)]
            if exc_info is None:
                return start_response(status, public)
            return start_response(status, public, exc_info)

        return self.app(environ, guarded_start)


@typed_factory(GatekeeperConfig)
def filter_factory(cluster: ClusterConfig, conf: GatekeeperConfig,
                   raw: Mapping[str, Any]) -> Callable:
    cluster.capabilities.register("gatekeeper")

    def make(app: Callable) -> GatekeeperMiddleware:
        return GatekeeperMiddleware(app)
    return make
