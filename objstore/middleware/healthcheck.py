"""``/healthcheck``: lets a load balancer ask "is this proxy able to serve?".

It answers before auth and logging so a balancer polling every second costs
nothing.  An operator takes a proxy out of rotation without stopping it by
creating the ``disable_path`` file (say, before maintenance): the check then
answers ``503 DISABLED BY FILE`` while real requests keep being served.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Any, Callable, Iterable, Mapping

from objstore.common.cluster_config import ClusterConfig
from objstore.common.config import ConfigSection
from objstore.common.pipeline import typed_factory

HEALTHCHECK_PATH = "/healthcheck"


@dataclasses.dataclass
class HealthcheckConfig(ConfigSection):
    disable_path: str = ""


class Healthcheck:
    """WSGI filter answering ``/healthcheck`` itself and passing everything else on."""

    def __init__(self, app: Callable, conf: HealthcheckConfig | Mapping[str, Any] | None = None):
        self.app = app
        self.settings = HealthcheckConfig.of(conf)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != HEALTHCHECK_PATH:
            return self.app(environ, start_response)
        if self.settings.disable_path and os.path.exists(self.settings.disable_path):
            status, body = "503 DISABLED BY FILE", b"DISABLED BY FILE"
        else:
            status, body = "200 OK", b"OK"
        start_response(status, [("Content-Type", "text/plain"),
                                ("Content-Length", str(len(body)))])
        if environ.get("REQUEST_METHOD") == "HEAD":
            return [b""]
        return [body]


@typed_factory(HealthcheckConfig)
def filter_factory(cluster: ClusterConfig, conf: HealthcheckConfig,
                   raw: Mapping[str, Any]) -> Callable[[Callable], Healthcheck]:
    def healthcheck_filter(app: Callable) -> Healthcheck:
        return Healthcheck(app, conf)
    return healthcheck_filter
